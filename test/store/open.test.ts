import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openLmdbStore } from '../../src/store/lmdb.js';
import { DEFAULT_LMDB_PATH, openStore, parseStoreSpec } from '../../src/store/open.js';
import { rejectsCode, throwsCode } from './helpers.js';

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('store specs', () => {
  it('parses memory, lmdb, lmdb:<path> and nats://host:port', () => {
    assert.deepEqual(parseStoreSpec('memory'), { kind: 'memory' });
    assert.deepEqual(parseStoreSpec('lmdb'), { kind: 'lmdb', path: DEFAULT_LMDB_PATH });
    assert.equal(DEFAULT_LMDB_PATH, './sbmp-data');
    assert.deepEqual(parseStoreSpec('lmdb:./data/x'), { kind: 'lmdb', path: './data/x' });
    assert.deepEqual(parseStoreSpec(' lmdb:/var/sbmp '), { kind: 'lmdb', path: '/var/sbmp' });
    assert.deepEqual(parseStoreSpec('nats://127.0.0.1:4222'), { kind: 'nats', url: 'nats://127.0.0.1:4222' });
  });

  it('refuses anything else with bad_config', () => {
    for (const spec of ['', 'redis://x', 'lmdb:', 'mem', 'nats://', 'nats://a/b', 42 as unknown as string]) {
      throwsCode(() => parseStoreSpec(spec), 'bad_config');
    }
  });

  it('opens a memory and an lmdb store; nats is not available yet', async () => {
    const memory = await openStore('memory');
    assert.equal(memory.kind, 'memory');
    assert.equal((await memory.put({ key: 'a', state: 1 })).result, 'applied');
    await memory.close();
    const dir = await mkdtemp(join(tmpdir(), 'sbmp-open-'));
    dirs.push(dir);
    const lmdb = await openStore(`lmdb:${join(dir, 'store')}`, { sync: true });
    assert.equal(lmdb.kind, 'lmdb');
    assert.equal(lmdb.capabilities.syncedToDisk, true);
    await rejectsCode(openStore(`lmdb:${join(dir, 'store')}`), 'bad_config');
    await lmdb.close();
    const again = await openLmdbStore({ path: join(dir, 'store') });
    await again.close();
    await rejectsCode(openStore('nats://127.0.0.1:4222'), 'bad_config');
    await rejectsCode(openStore('bogus'), 'bad_config');
  });

  it('creates missing parent directories, and refuses a path that cannot be created with bad_config', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sbmp-open-'));
    dirs.push(dir);
    const nested = await openStore(`lmdb:${join(dir, 'a', 'b', 'c')}`);
    assert.equal((await nested.put({ key: 'k', state: 1 })).result, 'applied');
    await nested.close();
    // Under /proc the parent exists but nothing can be created: this must fail, not spin.
    await rejectsCode(openStore('lmdb:/proc/sbmp-cannot-exist'), 'bad_config');
  });
});
