// `sbmp serve` settings: defaults < config file < flags, and loud refusals of bad ones.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveServeSettings, SERVE_DEFAULTS } from '../../src/cli/serve-config.js';
import { isSbmpError } from '../../src/core/errors.js';
import { parseByteSize } from '../../src/server/guards/byte-size.js';

describe('serve settings', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sbmp-serve-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  async function config(name: string, body: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, body);
    return path;
  }

  it('uses the defaults, then the file, then the flags', async () => {
    assert.deepEqual(await resolveServeSettings({}), { ...SERVE_DEFAULTS, limits: {} });
    const file = await config(
      'ok.json',
      JSON.stringify({
        host: '0.0.0.0',
        port: 8000,
        store: 'memory',
        memoryLimit: '1GiB',
        serverId: 'n1',
        limits: { maxStateBytes: 1000 },
      }),
    );
    assert.deepEqual(await resolveServeSettings({ config: file, port: 9000 }), {
      host: '0.0.0.0',
      port: 9000,
      store: 'memory',
      memoryLimitBytes: 1024 ** 3,
      serverId: 'n1',
      limits: { maxStateBytes: 1000 },
    });
  });

  it('refuses unknown settings, wrong types, bad JSON and missing files with bad_config', async () => {
    const files = [
      await config('typo.json', '{"prot": 1}'),
      await config('type.json', '{"port": "80"}'),
      await config('range.json', '{"port": 70000}'),
      await config('json.json', '{port: 1}'),
      await config('array.json', '[]'),
      join(dir, 'missing.json'),
    ];
    for (const file of files) {
      await assert.rejects(
        resolveServeSettings({ config: file }),
        (e: unknown) => isSbmpError(e, 'bad_config'),
        file,
      );
    }
  });

  it('reads debug options from the file and refuses bad ones naming the file key', async () => {
    const good = await config('debug.json', JSON.stringify({ debug: { pprof: true, vars: 'any' } }));
    assert.deepEqual((await resolveServeSettings({ config: good }, {})).debug, { pprof: true, vars: 'any' });
    const bad = await config('debug-bad.json', JSON.stringify({ debug: { pprof: 'yes' } }));
    await assert.rejects(resolveServeSettings({ config: bad }, {}), (e: unknown) =>
      isSbmpError(e, 'bad_config'),
    );
  });

  it('reads the embedded store options from the file and refuses bad ones, naming file and key', async () => {
    const good = await config(
      'store-options.json',
      JSON.stringify({ store: 'lmdb:/tmp/x', storeOptions: { sync: true, cachedHeads: 0 } }),
    );
    assert.deepEqual((await resolveServeSettings({ config: good }, {})).storeOptions, {
      sync: true,
      cachedHeads: 0,
    });
    // The default store is lmdb: the options apply to it.
    const onDefault = await config(
      'store-options-default.json',
      JSON.stringify({ storeOptions: { sync: false } }),
    );
    assert.deepEqual((await resolveServeSettings({ config: onDefault }, {})).storeOptions, { sync: false });

    const refusals: [string, object, string, RegExp][] = [
      ['sync-type.json', { storeOptions: { sync: 'yes' } }, 'storeOptions.sync', /must be true or false/],
      [
        'heads-range.json',
        { storeOptions: { cachedHeads: -1 } },
        'storeOptions.cachedHeads',
        /integer from 0/,
      ],
      [
        'unknown.json',
        { storeOptions: { noSync: true } },
        'storeOptions.noSync',
        /is not a setting; known: sync, cachedHeads/,
      ],
      ['not-object.json', { storeOptions: true }, 'storeOptions', /must be a object/],
      [
        'memory.json',
        { store: 'memory', storeOptions: { sync: true } },
        'storeOptions',
        /embedded store only/,
      ],
    ];
    for (const [name, body, option, message] of refusals) {
      const file = await config(name, JSON.stringify(body));
      await assert.rejects(
        resolveServeSettings({ config: file }, {}),
        (e: unknown) =>
          isSbmpError(e, 'bad_config') &&
          e.details?.option === option &&
          message.test(e.message) &&
          e.message.includes(file),
        name,
      );
    }
    // A flag naming a memory store makes the file's options wrong too.
    await assert.rejects(
      resolveServeSettings({ config: good, store: 'memory' }, {}),
      (e: unknown) => isSbmpError(e, 'bad_config') && e.details?.option === 'storeOptions',
    );
  });

  it('parses memory sizes', () => {
    assert.equal(parseByteSize('512MB', 'x'), 512e6);
    assert.equal(parseByteSize('512MiB', 'x'), 512 * 1024 ** 2);
    assert.equal(parseByteSize('1.5gb', 'x'), 1.5e9);
    assert.equal(parseByteSize('4096', 'x'), 4096);
    for (const bad of ['', 'MB', '12XB', '-1MB', '0', '1e3']) {
      assert.throws(
        () => parseByteSize(bad, 'x'),
        (e: unknown) => isSbmpError(e, 'bad_config'),
        bad,
      );
    }
  });
});
