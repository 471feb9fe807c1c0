import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { open } from 'lmdb';
import { isSbmpError } from '../../src/index.js';
import { LmdbStore, openLmdbStore } from '../../src/store/lmdb.js';
import { openLmdbEnv } from '../../src/store/lmdb-env.js';
import { DEFAULT_CACHED_HEADS } from '../../src/store/lmdb-heads.js';
import { loadRevisionLog } from '../../src/store/lmdb-revision-index.js';
import { resolveRetention } from '../../src/store/retention.js';
import { runApplyContract, runStoreContract } from './contract.js';
import { assertIncreasingRevisions, collect, rejectsCode, snapshotsOf } from './helpers.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sbmp-lmdb-'));
  dirs.push(dir);
  return dir;
}
after(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

runStoreContract({
  name: 'lmdb',
  create: async (options) => openLmdbStore({ ...options, path: join(await tempDir(), 'store') }),
});

// Every put reads its record (no cached heads), or all but one key do.
for (const cachedHeads of [0, 1]) {
  runApplyContract({
    name: `lmdb, ${cachedHeads} cached heads`,
    create: async (options) =>
      openLmdbStore({ ...options, cachedHeads, path: join(await tempDir(), 'store') }),
  });
}

async function rejectsCorrupt(promise: Promise<unknown>, file: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isSbmpError(err, 'corrupt_store'), String(err));
    assert.ok(err.message.includes(file), `message names the file: ${err.message}`);
    return true;
  });
}

describe('LmdbStore', () => {
  it('keeps snapshots, revisions, tombstones and the compacted revision across reopen', async () => {
    const path = join(await tempDir(), 'store');
    let clock = 1000;
    const store = await openLmdbStore({ path, clock: () => clock });
    assert.deepEqual(store.capabilities, { durable: true, syncedToDisk: false, replicated: false });
    await store.put({ key: 'k/1', version: 3, state: { a: [1, 'x'] } });
    await store.put({
      key: 'k/2',
      version: 1,
      state: new Uint8Array([1, 2]),
      contentType: 'application/x-raw',
    });
    await store.put({ key: 'k/3', version: 4, state: null, deleted: true });
    await store.put({ key: 'k/4', version: 1, state: 1 });
    await store.put({ key: 'k/4', version: 2, state: null, deleted: true });
    clock = 5000;
    assert.equal(
      (await store.compact({ tombstoneMs: 10_000 })).removedTombstones,
      0,
      'young tombstones stay',
    );
    clock = 100_000;
    const compacted = await store.compact({ tombstoneMs: 60_000 });
    assert.deepEqual(compacted, { removedTombstones: 2, removedRevisions: 2, compactedRevision: 5 });
    await store.put({ key: 'k/5', state: 'late' });
    await store.close();

    const reopened = await openLmdbStore({ path });
    assert.equal(reopened.currentRevision(), 6);
    assert.deepEqual((await reopened.get('k/1'))?.state, { a: [1, 'x'] });
    assert.deepEqual((await reopened.get('k/2'))?.state, new Uint8Array([1, 2]));
    assert.equal(await reopened.get('k/3'), undefined);
    assert.equal((await reopened.put({ key: 'k/1', version: 2, state: 'old' })).result, 'stale');
    const resync = await collect(reopened.watch('k/>', { sinceRevision: 2 }), (e) => e.kind === 'synced');
    assert.deepEqual(resync[0], { kind: 'resync', compactedRevision: 5 });
    const resumed = await collect(reopened.watch('k/>', { sinceRevision: 5 }), (e) => e.kind === 'synced');
    assert.deepEqual(
      snapshotsOf(resumed).map((s) => [s.key, s.revision]),
      [['k/5', 6]],
    );
    assert.equal((await reopened.put({ key: 'k/6', state: 1 })).revision, 7, 'revisions continue');
    await reopened.close();
  });

  it('drops tombstones more than maxRevisions behind', async () => {
    const store = await openLmdbStore({ path: join(await tempDir(), 'store') });
    await store.put({ key: 'm/1', version: 1, state: null, deleted: true });
    for (let i = 0; i < 10; i++) await store.put({ key: `m/x${i}`, state: i });
    assert.equal(
      (await store.compact({ tombstoneMs: Number.POSITIVE_INFINITY, maxRevisions: 10 })).removedTombstones,
      0,
    );
    await store.put({ key: 'm/y', state: 1 });
    assert.equal(
      (await store.compact({ tombstoneMs: Number.POSITIVE_INFINITY, maxRevisions: 10 })).removedTombstones,
      1,
    );
    await rejectsCode(store.compact({ maxRevisions: -1 }), 'bad_config');
    await store.close();
  });

  it('with sync: true declares and keeps durability', async () => {
    const path = join(await tempDir(), 'store');
    const store = await openLmdbStore({ path, sync: true });
    assert.equal(store.capabilities.syncedToDisk, true);
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.put({ key: `s/${i}`, state: i })));
    await store.close();
    const reopened = await openLmdbStore({ path });
    assert.equal(reopened.currentRevision(), 20);
    await reopened.close();
  });

  it('refuses an LMDB file of something else, or of a newer format, naming the file', async () => {
    const foreignPath = join(await tempDir(), 'foreign');
    const foreign = open({ path: foreignPath });
    await foreign.openDB({ name: 'users' }).put('u1', { name: 'x' });
    await foreign.close();
    await rejectsCorrupt(openLmdbStore({ path: foreignPath }), join(foreignPath, 'data.mdb'));

    const newerPath = join(await tempDir(), 'newer');
    await (await openLmdbStore({ path: newerPath })).close();
    const raw = open({ path: newerPath });
    await raw.openDB({ name: 'meta' }).put('format', 99);
    await raw.close();
    await rejectsCorrupt(openLmdbStore({ path: newerPath }), join(newerPath, 'data.mdb'));
  });

  it('opens a format 1 file (revision index on disk): drops that index, keeps every record, resumes', async () => {
    const path = join(await tempDir(), 'format1');
    const store = await openLmdbStore({ path });
    for (const key of ['f/a', 'f/b', 'f/c']) await store.put({ key, state: key });
    await store.put({ key: 'f/a', state: 'again' });
    await store.close();
    // Format 1 is format 2 plus a `revisions` database: revision -> key of its latest change.
    const raw = open({ path });
    const revisions = raw.openDB({ name: 'revisions', encoding: 'string' });
    await revisions.put(2, 'f/b');
    await revisions.put(3, 'f/c');
    await revisions.put(4, 'f/a');
    await raw.openDB({ name: 'meta' }).put('format', 1);
    await raw.close();

    const upgraded = await openLmdbStore({ path });
    try {
      assert.equal((await upgraded.get('f/a'))?.state, 'again');
      const events = await collect(upgraded.watch('f/>', { sinceRevision: 2 }), (e) => e.kind === 'synced');
      assert.deepEqual(
        snapshotsOf(events).map((s) => [s.key, s.revision]),
        [
          ['f/c', 3],
          ['f/a', 4],
        ],
      );
      assert.equal((await upgraded.put({ key: 'f/d', state: 1 })).revision, 5);
    } finally {
      await upgraded.close();
    }
    const check = open({ path });
    try {
      assert.equal(check.openDB({ name: 'meta' }).get('format'), 2);
      assert.ok(![...check.getKeys()].map(String).includes('revisions'), 'the on-disk index is gone');
    } finally {
      await check.close();
    }
  });

  it('refuses to open a file whose records disagree with its revision counter, naming the file', async () => {
    const make = async (name: string, damage: (raw: ReturnType<typeof open>) => Promise<void>) => {
      const path = join(await tempDir(), name);
      const store = await openLmdbStore({ path });
      await store.put({ key: 'c/a', state: 1 });
      await store.put({ key: 'c/b', state: 2 });
      await store.close();
      const raw = open({ path });
      await damage(raw);
      await raw.close();
      return path;
    };
    const twoAtOneRevision = await make('twice', async (raw) => {
      const snapshots = raw.openDB({ name: 'snapshots', encoding: 'binary' });
      await snapshots.put('c/copy', snapshots.get('c/a'));
    });
    await assert.rejects(openLmdbStore({ path: twoAtOneRevision }), (err: unknown) => {
      assert.ok(isSbmpError(err, 'corrupt_store'), String(err));
      assert.match(err.message, /two records at revision 1 \('c\/a' and 'c\/copy'\)/);
      return true;
    });
    const counterBehind = await make('behind', async (raw) => {
      await raw.openDB({ name: 'meta' }).put('revision', 1);
    });
    await assert.rejects(openLmdbStore({ path: counterBehind }), (err: unknown) => {
      assert.ok(isSbmpError(err, 'corrupt_store'), String(err));
      assert.match(err.message, /'c\/b' at revision 2, outside 1\.\.1/);
      assert.ok(err.message.includes(join(counterBehind, 'data.mdb')), err.message);
      return true;
    });
    // Refused opens leave the directory free: the healthy store opens there once repaired.
    const raw = open({ path: counterBehind });
    await raw.openDB({ name: 'meta' }).put('revision', 2);
    await raw.close();
    await (await openLmdbStore({ path: counterBehind })).close();
  });

  it('reports a damaged record as corrupt_store naming the file', async () => {
    const path = join(await tempDir(), 'store');
    const store = await openLmdbStore({ path });
    await store.put({ key: 'r/1', state: { fine: true } });
    await store.close();
    const raw = open({ path });
    const snapshots = raw.openDB({ name: 'snapshots', encoding: 'binary' });
    const bytes = Buffer.from(snapshots.get('r/1') as Buffer);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    await snapshots.put('r/1', bytes);
    await raw.close();
    const reopened = await openLmdbStore({ path });
    await rejectsCorrupt(reopened.get('r/1'), join(path, 'data.mdb'));
    await rejectsCorrupt(reopened.list('r/'), join(path, 'data.mdb'));
    await rejectsCorrupt(reopened.put({ key: 'r/1', state: 'x' }), join(path, 'data.mdb'));
    assert.equal((await reopened.put({ key: 'r/2', state: 'x' })).result, 'applied', 'other keys still work');
    await reopened.close();
  });

  it('applies more puts issued in one turn than one transaction takes, in call order', async () => {
    const store = await openLmdbStore({ path: join(await tempDir(), 'store') });
    const watch = store.watch('m/>');
    const puts = Array.from({ length: 300 }, (_, i) =>
      store.put({ key: i % 3 === 0 ? 'm/a' : `m/${i}`, state: i }),
    );
    const outcomes = await Promise.all(puts);
    assert.deepEqual(
      outcomes.map((o) => o.revision),
      Array.from({ length: 300 }, (_, i) => i + 1),
    );
    assert.deepEqual(
      outcomes.filter((_, i) => i % 3 === 0).map((o) => o.version),
      Array.from({ length: 100 }, (_, i) => i + 1),
      'next versions of one key follow call order across transactions',
    );
    // A watch may skip superseded versions of a key; what it shows keeps revision order.
    const seen = snapshotsOf(
      await collect(watch, (e) => e.kind === 'snapshot' && e.snapshot.revision === 300),
    );
    assertIncreasingRevisions(seen);
    assert.equal(new Set(seen.map((s) => s.key)).size, 201, 'every key');
    assert.equal(seen.filter((s) => s.key === 'm/a').at(-1)?.version, 100, "m/a's last version");
    assert.equal((await store.get('m/a'))?.state, 297);
    await store.close();
  });

  it('after a batch fails to write, decides the next puts on what is committed', async () => {
    // Put together as openLmdbStore does, keeping the environment to make one write fail.
    const env = openLmdbEnv(join(await tempDir(), 'store'), false);
    const store = new LmdbStore(
      env,
      loadRevisionLog(env, 0),
      false,
      { maxStateBytes: 1024, source: 'test', clock: Date.now },
      resolveRetention(undefined, { tombstoneMs: 1000, maxRevisions: 1000 }),
      DEFAULT_CACHED_HEADS,
    );
    assert.equal((await store.put({ key: 'f/1', version: 1, state: 'a' })).result, 'applied');
    assert.equal((await store.put({ key: 'f/1', version: 1, state: 'a' })).result, 'duplicate');
    // The write of one key fails inside the batch's transaction, so none of the batch commits.
    const { snapshots } = env;
    const write = snapshots.putSync.bind(snapshots) as (...args: unknown[]) => void;
    Object.assign(snapshots, {
      putSync: (key: string, ...rest: unknown[]) => {
        if (key === 'f/boom') throw new Error('injected write failure');
        write(key, ...rest);
      },
    });
    try {
      const written = store.put({ key: 'f/1', version: 2, state: 'b' });
      const failing = store.put({ key: 'f/boom', version: 1, state: 'x' });
      await rejectsCode(written, 'unavailable');
      await rejectsCode(failing, 'unavailable');
    } finally {
      // The method lives on LMDB's prototype; the own property shadowed it.
      Reflect.deleteProperty(snapshots, 'putSync');
    }
    assert.equal((await store.get('f/1'))?.state, 'a');
    assert.deepEqual(await store.put({ key: 'f/1', state: 'c' }, { ifVersion: 1 }), {
      result: 'applied',
      version: 2,
      revision: 2,
    });
    assert.equal((await store.put({ key: 'f/1', version: 2, state: 'b' })).result, 'conflict');
    assert.equal((await store.put({ key: 'f/boom', version: 1, state: 'x' })).result, 'applied');
    await store.close();
  });

  it('refuses a path that is a file, or an empty one, with bad_config', async () => {
    const file = join(await tempDir(), 'plain-file');
    await writeFile(file, 'x');
    await rejectsCode(openLmdbStore({ path: file }), 'bad_config');
    await rejectsCode(openLmdbStore({ path: '' }), 'bad_config');
    await rejectsCode(openLmdbStore({ path: join(await tempDir(), 's'), maxStateBytes: 0 }), 'bad_config');
    for (const cachedHeads of [-1, 1.5, Number.NaN]) {
      await rejectsCode(openLmdbStore({ path: join(await tempDir(), 's'), cachedHeads }), 'bad_config');
    }
  });
});
