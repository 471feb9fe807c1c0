// A store's epoch names its history: clients resume by revision only within one epoch.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { open } from 'lmdb';
import { openLmdbStore } from '../../src/store/lmdb.js';
import { MemoryStore } from '../../src/store/memory.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sbmp-epoch-'));
  dirs.push(dir);
  return dir;
}
after(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('Store epoch', () => {
  it('differs between memory stores', async () => {
    const a = new MemoryStore();
    const b = new MemoryStore();
    try {
      assert.match(a.epoch, UUID);
      assert.match(b.epoch, UUID);
      assert.notEqual(a.epoch, b.epoch);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('is kept by an LMDB store across close and reopen, and is new for a new data file', async () => {
    const path = join(await tempDir(), 'store');
    const first = await openLmdbStore({ path });
    const epoch = first.epoch;
    assert.match(epoch, UUID);
    await first.put({ key: 'k/1', state: 1 });
    await first.close();
    const reopened = await openLmdbStore({ path });
    try {
      assert.equal(reopened.epoch, epoch);
      assert.equal(reopened.currentRevision(), 1);
    } finally {
      await reopened.close();
    }
    const other = await openLmdbStore({ path: join(await tempDir(), 'store') });
    try {
      assert.notEqual(other.epoch, epoch);
    } finally {
      await other.close();
    }
  });

  it('is written at open into a data file that has none, then kept', async () => {
    const path = join(await tempDir(), 'store');
    const first = await openLmdbStore({ path });
    const epoch = first.epoch;
    await first.put({ key: 'k/1', state: 1 });
    await first.close();
    // A data file from before epochs were kept: the same layout without the record.
    const raw = open({ path, maxDbs: 8 });
    const meta = raw.openDB<unknown, string>({ name: 'meta', encoding: 'msgpack' });
    await meta.remove('epoch');
    assert.equal(meta.get('epoch'), undefined);
    await raw.close();
    const upgraded = await openLmdbStore({ path });
    const written = upgraded.epoch;
    try {
      assert.match(written, UUID);
      assert.notEqual(written, epoch);
      assert.deepEqual((await upgraded.get('k/1'))?.state, 1, 'the data is untouched');
    } finally {
      await upgraded.close();
    }
    const again = await openLmdbStore({ path });
    try {
      assert.equal(again.epoch, written);
    } finally {
      await again.close();
    }
  });
});
