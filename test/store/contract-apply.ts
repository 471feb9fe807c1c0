import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_VERSION } from '../../src/index.js';
import type { StoreFactory } from './helpers.js';
import { rejectsCode } from './helpers.js';

/** The apply table, `next`, `ifVersion` and tombstones. */
export function applyContract(factory: StoreFactory): void {
  describe('apply rules', () => {
    it('applies, then reports duplicate, conflict and stale with the current version and revision', async () => {
      const store = await factory.create();
      const first = await store.put({ key: 'o/1', version: 5, state: { a: 1, b: [1, 2] } });
      assert.deepEqual(first, { result: 'applied', version: 5, revision: 1 });
      assert.deepEqual(await store.put({ key: 'o/1', version: 5, state: { b: [1, 2], a: 1 } }), {
        result: 'duplicate',
        version: 5,
        revision: 1,
      });
      assert.deepEqual(await store.put({ key: 'o/1', version: 5, state: { a: 2 } }), {
        result: 'conflict',
        version: 5,
        revision: 1,
      });
      assert.deepEqual(await store.put({ key: 'o/1', version: 4, state: { a: 0 } }), {
        result: 'stale',
        version: 5,
        revision: 1,
      });
      assert.deepEqual(await store.put({ key: 'o/1', version: 9, state: { a: 9 } }), {
        result: 'applied',
        version: 9,
        revision: 2,
      });
      const got = await store.get('o/1');
      assert.equal(got?.version, 9);
      assert.equal(got?.revision, 2);
      assert.deepEqual(got?.state, { a: 9 });
      assert.equal(store.currentRevision(), 2);
    });

    it('counts content type and tombstone flag as content', async () => {
      const store = await factory.create();
      await store.put({
        key: 'c',
        version: 1,
        state: new Uint8Array([1, 2]),
        contentType: 'application/x-a',
      });
      const other = await store.put({
        key: 'c',
        version: 1,
        state: new Uint8Array([1, 2]),
        contentType: 'application/x-b',
      });
      assert.equal(other.result, 'conflict');
      const same = await store.put({
        key: 'c',
        version: 1,
        state: new Uint8Array([1, 2]),
        contentType: 'application/x-a',
      });
      assert.equal(same.result, 'duplicate');
      const asTombstone = await store.put({ key: 'c', version: 1, state: null, deleted: true });
      assert.equal(asTombstone.result, 'conflict');
    });

    it('stamps ts and source from the store unless given', async () => {
      const store = await factory.create({ clock: () => 1234, source: 'node-a' });
      await store.put({ key: 'k', state: 1 });
      await store.put({ key: 'j', state: 1, ts: 99, source: 'producer-b' });
      const k = await store.get('k');
      const j = await store.get('j');
      assert.equal(k?.ts, 1234);
      assert.equal(k?.source, 'node-a');
      assert.equal(j?.ts, 99);
      assert.equal(j?.source, 'producer-b');
    });

    it('keeps trace context and byte states, and owns the bytes', async () => {
      const store = await factory.create();
      const bytes = new Uint8Array([7, 8, 9]);
      const trace = { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`, tracestate: 'v=1' };
      await store.put({ key: 'b', state: bytes, contentType: 'application/octet-stream', trace });
      bytes[0] = 0;
      const got = await store.get('b');
      assert.ok(got?.state instanceof Uint8Array);
      assert.deepEqual([...(got.state as Uint8Array)], [7, 8, 9]);
      assert.deepEqual(got.trace, trace);
      assert.equal(got.contentType, 'application/octet-stream');
    });
  });

  describe('next and ifVersion', () => {
    it('assigns current+1 when the version is omitted', async () => {
      const store = await factory.create();
      assert.deepEqual(await store.put({ key: 'n', state: 'a' }), {
        result: 'applied',
        version: 1,
        revision: 1,
      });
      assert.deepEqual(await store.put({ key: 'n', state: 'b' }), {
        result: 'applied',
        version: 2,
        revision: 2,
      });
      await store.put({ key: 'n', version: 40, state: 'c' });
      assert.equal((await store.put({ key: 'n', state: 'd' })).version, 41);
    });

    it('writes ifVersion+1 when only ifVersion is given, and refuses a mismatch as conflict', async () => {
      const store = await factory.create();
      assert.deepEqual(await store.put({ key: 'x', state: 1 }, { ifVersion: 0 }), {
        result: 'applied',
        version: 1,
        revision: 1,
      });
      assert.deepEqual(await store.put({ key: 'x', state: 2 }, { ifVersion: 0 }), {
        result: 'conflict',
        version: 1,
        revision: 1,
      });
      assert.deepEqual(await store.put({ key: 'x', state: 2 }, { ifVersion: 3 }), {
        result: 'conflict',
        version: 1,
        revision: 1,
      });
      assert.deepEqual(await store.put({ key: 'x', state: 2 }, { ifVersion: 1 }), {
        result: 'applied',
        version: 2,
        revision: 2,
      });
      assert.deepEqual(await store.put({ key: 'y', state: 2 }, { ifVersion: 4 }), {
        result: 'conflict',
        version: 0,
        revision: 0,
      });
    });

    it('with both version and ifVersion, both must hold', async () => {
      const store = await factory.create();
      await store.put({ key: 'z', version: 10, state: 1 });
      assert.equal(
        (await store.put({ key: 'z', version: 20, state: 2 }, { ifVersion: 9 })).result,
        'conflict',
      );
      assert.equal(
        (await store.put({ key: 'z', version: 10, state: 2 }, { ifVersion: 10 })).result,
        'conflict',
      );
      assert.equal(
        (await store.put({ key: 'z', version: 10, state: 1 }, { ifVersion: 10 })).result,
        'duplicate',
      );
      assert.equal((await store.put({ key: 'z', version: 5, state: 2 }, { ifVersion: 10 })).result, 'stale');
      assert.deepEqual(await store.put({ key: 'z', version: 20, state: 2 }, { ifVersion: 10 }), {
        result: 'applied',
        version: 20,
        revision: 2,
      });
    });

    it('refuses a next beyond 2^53-1 with bad_version and changes nothing', async () => {
      const store = await factory.create();
      await store.put({ key: 'max', version: MAX_VERSION, state: 'top' });
      await rejectsCode(store.put({ key: 'max', state: 'over' }), 'bad_version', 'next past max');
      await rejectsCode(
        store.put({ key: 'max', state: 'over' }, { ifVersion: MAX_VERSION }),
        'bad_version',
        'ifVersion max',
      );
      const got = await store.get('max');
      assert.equal(got?.version, MAX_VERSION);
      assert.equal(got?.state, 'top');
      assert.equal(store.currentRevision(), 1);
      // The store keeps working after the refusal.
      assert.equal((await store.put({ key: 'other', state: 1 })).revision, 2);
    });
  });

  describe('tombstones', () => {
    it('orders deletes like writes: later lower versions are stale', async () => {
      const store = await factory.create();
      await store.put({ key: 't/1', version: 3, state: { v: 3 } });
      assert.deepEqual(await store.put({ key: 't/1', version: 5, state: null, deleted: true }), {
        result: 'applied',
        version: 5,
        revision: 2,
      });
      const tomb = await store.get('t/1');
      assert.equal(tomb?.deleted, true);
      assert.equal(tomb?.version, 5);
      assert.equal((await store.put({ key: 't/1', version: 4, state: { v: 4 } })).result, 'stale');
      assert.equal((await store.put({ key: 't/1', version: 5, state: { v: 5 } })).result, 'conflict');
      assert.equal(
        (await store.put({ key: 't/1', version: 5, state: undefined, deleted: true })).result,
        'duplicate',
      );
      assert.equal(
        (await store.put({ key: 't/1', state: { v: 6 } })).version,
        6,
        'next continues past a tombstone',
      );
      assert.equal((await store.get('t/1'))?.deleted, undefined);
    });

    it('once its tombstone is compacted away, a key starts over at any version', async () => {
      const store = await factory.create();
      await store.put({ key: 't/2', version: 7, state: { v: 7 } });
      await store.put({ key: 't/2', version: 8, state: null, deleted: true });
      assert.equal((await store.put({ key: 't/2', version: 2, state: { v: 2 } })).result, 'stale');
      assert.equal((await store.compact({ tombstoneMs: 0 })).removedTombstones, 1);
      assert.equal(await store.get('t/2'), undefined);
      assert.deepEqual(await store.put({ key: 't/2', version: 2, state: { v: 2 } }), {
        result: 'applied',
        version: 2,
        revision: 3,
      });
      assert.deepEqual((await store.get('t/2'))?.state, { v: 2 });
    });

    it('compacts only what is still a tombstone, aged from its latest delete', async () => {
      let now = 1000;
      const store = await factory.create({ clock: () => now });
      // Deleted, then written again: live, so never compacted.
      await store.put({ key: 't/live', version: 1, state: null, deleted: true });
      await store.put({ key: 't/live', version: 2, state: { v: 2 } });
      // Deleted twice: its age counts from the second delete.
      await store.put({ key: 't/again', version: 1, state: null, deleted: true });
      now = 5000;
      await store.put({ key: 't/again', version: 2, state: null, deleted: true });
      now = 7000;
      assert.equal((await store.compact({ tombstoneMs: 3000 })).removedTombstones, 0);
      assert.deepEqual((await store.get('t/live'))?.state, { v: 2 });
      now = 9000;
      assert.equal((await store.compact({ tombstoneMs: 3000 })).removedTombstones, 1);
      assert.equal(await store.get('t/again'), undefined);
      assert.deepEqual((await store.get('t/live'))?.state, { v: 2 }, 'a key written after its delete stays');
      assert.equal((await store.compact({ tombstoneMs: 0 })).removedTombstones, 0);
      assert.equal((await store.get('t/live'))?.version, 2);
    });
  });
}
