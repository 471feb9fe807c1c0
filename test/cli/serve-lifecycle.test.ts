// `sbmp serve` through the start-up lifecycle: settings from file, environment and flags checked
// up front, loud start-up failures, and a graceful SIGTERM that leaves the store intact.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveServeSettings } from '../../src/cli/serve-config.js';
import { isSbmpError } from '../../src/core/errors.js';
import { openStore } from '../../src/store/open.js';
import { SbmpProcess, sbmp } from '../fixtures/client-cli.js';
import { FrameClient, rawRequest, withTimeout } from '../server/helpers.js';

describe('sbmp serve lifecycle', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sbmp-serve-lifecycle-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  async function configFile(name: string, body: unknown): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, JSON.stringify(body));
    return path;
  }

  it('merges file < environment < flags', async () => {
    const file = await configFile('layers.json', {
      host: '0.0.0.0',
      port: 8000,
      store: 'memory',
      memoryLimit: '1GiB',
      memoryWatermark: { shedAt: 0.8 },
      compactIntervalMs: 0,
    });
    const env = {
      SBMP_CONFIG: file,
      SBMP_PORT: '8100',
      SBMP_MEMORY_LIMIT: '512MiB',
      SBMP_SERVER_ID: 'env-id',
    };
    const settings = await resolveServeSettings({ port: 8200 }, env);
    assert.equal(settings.host, '0.0.0.0');
    assert.equal(settings.port, 8200);
    assert.equal(settings.memoryLimitBytes, 512 * 1024 ** 2);
    assert.equal(settings.serverId, 'env-id');
    assert.deepEqual(settings.memoryWatermark, { shedAt: 0.8 });
    assert.equal(settings.compactIntervalMs, 0);
    assert.equal((await resolveServeSettings({}, env)).port, 8100);
    assert.equal((await resolveServeSettings({}, { SBMP_CONFIG: file })).port, 8000);
  });

  it('names the bad setting as the user gave it', async () => {
    const contradictory = await configFile('thresholds.json', {
      memoryWatermark: { shedAt: 0.7, recoverBelow: 0.8 },
    });
    const unknownThreshold = await configFile('unknown.json', {
      memoryWatermark: { shedAt: 0.9, sheddAt: 0.9 },
    });
    const cases: [Parameters<typeof resolveServeSettings>, string, RegExp][] = [
      [[{}, { SBMP_PORT: '99999' }], 'port', /SBMP_PORT/],
      [[{}, { SBMP_MEMORY_LIMIT: '16MB' }], 'memoryLimit', /SBMP_MEMORY_LIMIT.*32MiB/],
      [[{ memoryLimit: 'plenty' }, {}], 'memory limit (--memory-limit)', /--memory-limit/],
      [[{ store: 'postgres://db' }, {}], 'store', /--store/],
      [[{}, { SBMP_STORE: 'redis' }], 'store', /SBMP_STORE/],
      [[{ config: contradictory }, {}], 'recoverBelow', /memoryWatermark\.recoverBelow/],
      [[{ config: unknownThreshold }, {}], 'memoryWatermark.sheddAt', /sheddAt/],
    ];
    for (const [args, option, message] of cases) {
      await assert.rejects(
        resolveServeSettings(...args),
        (err: unknown) =>
          isSbmpError(err, 'bad_config') && err.details?.option === option && message.test(err.message),
        `${JSON.stringify(args)} -> ${option}`,
      );
    }
  });

  it('a bad or contradictory setting exits 2 before anything starts, naming it', async () => {
    const contradictory = await configFile('cli-thresholds.json', {
      store: 'memory',
      memoryWatermark: { shedAt: 0.7, recoverBelow: 0.8 },
    });
    const typo = await configFile('cli-typo.json', { store: 'memory', memoryLimt: '1GB' });
    const [thresholds, lowLimit, unknownKey] = await Promise.all([
      sbmp(['serve', '--port', '0', '--config', contradictory]),
      sbmp(['serve', '--port', '0', '--store', 'memory'], { env: { SBMP_MEMORY_LIMIT: '16MB' } }),
      sbmp(['serve', '--port', '0', '--config', typo]),
    ]);
    for (const result of [thresholds, lowLimit, unknownKey]) {
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /pre-init at 'configuration'/);
      assert.doesNotMatch(result.stdout, /sbmp serving/);
    }
    assert.match(thresholds.stderr, /memoryWatermark\.recoverBelow/);
    assert.match(lowLimit.stderr, /SBMP_MEMORY_LIMIT.*32MiB/);
    assert.match(unknownKey.stderr, /memoryLimt/);
  });

  it('a port in use stops start-up with the phase, the step and the cause', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const result = await sbmp(['serve', '--port', String(port), '--store', 'memory']);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /core-init at 'server'/);
      assert.match(result.stderr, new RegExp(`port ${port} is in use`));
      assert.match(result.stderr, /--port/);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it("opens the lmdb store with the config file's storeOptions", async () => {
    const config = join(dir, 'synced.json');
    await writeFile(
      config,
      JSON.stringify({ store: `lmdb:${join(dir, 'synced')}`, storeOptions: { sync: true } }),
    );
    const serve = new SbmpProcess(['serve', '--port', '0', '--config', config], {});
    try {
      const line = await serve.waitForLine((l) => l.startsWith('sbmp serving '), 30_000, 'start-up line');
      assert.match(line, /, store lmdb:\S+synced, synced to disk\)$/);
      const url = /^sbmp serving (http:\/\/\S+)/.exec(line)![1]!;
      const put = await rawRequest(`${url}/sbmp/v3/state/synced/a`, { method: 'PUT', body: '1' });
      assert.equal(put.status, 200, put.body);
      serve.kill('SIGTERM');
      assert.equal((await serve.waitForExit(15_000)).code, 0, serve.stderr);
    } finally {
      serve.kill('SIGKILL');
      await serve.waitForExit(5_000);
    }
  });

  it('SIGTERM drains (GOAWAY), closes the store and exits 0; the data is intact', async () => {
    const path = join(dir, 'data');
    // The environment names the store; the flag's port wins over the environment's.
    const serve = new SbmpProcess(['serve', '--port', '0'], { SBMP_STORE: `lmdb:${path}`, SBMP_PORT: '1' });
    try {
      const line = await serve.waitForLine((l) => l.startsWith('sbmp serving '), 30_000, 'start-up line');
      const url = /^sbmp serving (http:\/\/\S+)/.exec(line)![1]!;
      const versions = new Map<string, number>();
      for (let i = 1; i <= 5; i++) {
        const key = `life/k${i}`;
        const res = await rawRequest(`${url}/sbmp/v3/state/${key}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json', 'sbmp-version': 10 * i },
          body: JSON.stringify({ i }),
        });
        assert.equal(res.status, 200, res.body);
        versions.set(key, 10 * i);
      }
      const client = await FrameClient.connect(`${url.replace(/^http/, 'ws')}/sbmp/v3/ws`);
      const ack = await client.publish('life/ws', { via: 'ws' }, { version: 7 });
      assert.equal(ack.type, 'ack');
      versions.set('life/ws', 7);

      serve.kill('SIGTERM');
      const goaway = await client.next((f) => f.type === 'goaway', 'GOAWAY');
      assert.equal(goaway.type === 'goaway' && goaway.reason, 'shutdown');
      await withTimeout(client.closed, 'close after GOAWAY');
      const exit = await serve.waitForExit(15_000);
      assert.equal(exit.code, 0, serve.stderr);
      assert.match(serve.stderr, /SIGTERM: shutting down/);
      assert.match(serve.stderr, /stopped, store closed/);

      const reopened = await openStore(`lmdb:${path}`);
      try {
        for (const [key, version] of versions) assert.equal((await reopened.get(key))?.version, version, key);
      } finally {
        await reopened.close();
      }
    } finally {
      serve.kill('SIGKILL');
      await serve.waitForExit(5_000);
    }
  });
});
