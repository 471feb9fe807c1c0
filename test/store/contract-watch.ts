import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WatchEvent } from '../../src/index.js';
import { LISTEN_SLICE_EVENTS, WATCH_PAGE_ENTRIES } from '../../src/store/watch-hub.js';
import type { StoreFactory } from './helpers.js';
import {
  assertIncreasingRevisions,
  collect,
  listAll,
  rejectsCode,
  seededRandom,
  snapshotsOf,
  throwsCode,
  within,
} from './helpers.js';

const untilSynced = (e: WatchEvent) => e.kind === 'synced';

/** Watches: backlog, resume, live changes, the seam between them, stop and close. */
export function watchContract(factory: StoreFactory, { title = 'watch', listening = false } = {}): void {
  // A backlog that takes several reads: pages of index entries for an iterator, slices of
  // events (one turn each) for a listener.
  const backlogSteps = listening ? LISTEN_SLICE_EVENTS : WATCH_PAGE_ENTRIES;
  describe(title, () => {
    it('without sinceRevision: current state of matching keys (tombstones too), synced, then live', async () => {
      const store = await factory.create();
      await store.put({ key: 'w/a', version: 1, state: 'a1' });
      await store.put({ key: 'w/b', version: 1, state: 'b1' });
      await store.put({ key: 'x/a', version: 1, state: 'other' });
      await store.put({ key: 'w/a', version: 2, state: 'a2' });
      await store.put({ key: 'w/c', version: 4, state: null, deleted: true });
      const watch = store.watch('w/*');
      const backlog = await collect(watch, untilSynced);
      const snaps = snapshotsOf(backlog);
      assert.deepEqual(
        snaps.map((s) => [s.key, s.version, s.revision, s.deleted ?? false]),
        [
          ['w/b', 1, 2, false],
          ['w/a', 2, 4, false],
          ['w/c', 4, 5, true],
        ],
      );
      assert.deepEqual(backlog.at(-1), { kind: 'synced', revision: 5 });
      assert.ok(!backlog.some((e) => e.kind === 'resync'));
      await store.put({ key: 'x/b', state: 'ignored' });
      await store.put({ key: 'w/b', state: 'b2' });
      const live = await collect(watch, (e) => e.kind === 'snapshot');
      assert.deepEqual(
        snapshotsOf(live).map((s) => [s.key, s.version, s.revision]),
        [['w/b', 2, 7]],
      );
      watch.stop();
    });

    it('from revision R: only keys changed after R, at their latest version', async () => {
      const store = await factory.create();
      for (let i = 0; i < 5; i++) await store.put({ key: `r/${i}`, state: i });
      const r = store.currentRevision();
      await store.put({ key: 'r/1', state: 'changed' });
      await store.put({ key: 'r/3', state: 'changed' });
      await store.put({ key: 'r/1', state: 'again' });
      const events = await collect(store.watch('r/>', { sinceRevision: r }), untilSynced);
      assert.deepEqual(
        snapshotsOf(events).map((s) => [s.key, s.version, s.state]),
        [
          ['r/3', 2, 'changed'],
          ['r/1', 3, 'again'],
        ],
      );
      assert.deepEqual(events.at(-1), { kind: 'synced', revision: r + 3 });
      const none = await collect(store.watch('r/>', { sinceRevision: r + 3 }), untilSynced);
      assert.deepEqual(none, [{ kind: 'synced', revision: r + 3 }]);
    });

    it('watches one key by its exact name', async () => {
      const store = await factory.create();
      await store.put({ key: 'one/k', state: 1 });
      await store.put({ key: 'one/kk', state: 1 });
      const from0 = await collect(store.watch('one/k', { sinceRevision: 0 }), untilSynced);
      assert.deepEqual(
        snapshotsOf(from0).map((s) => s.key),
        ['one/k'],
      );
      const later = store.watch('one/k', { sinceRevision: 1 });
      assert.deepEqual(await collect(later, untilSynced), [{ kind: 'synced', revision: 2 }]);
      await store.put({ key: 'one/kk', state: 2 });
      await store.put({ key: 'one/k', state: 2 });
      const live = snapshotsOf(await collect(later, (e) => e.kind === 'snapshot'));
      assert.deepEqual(
        live.map((s) => [s.key, s.version, s.revision]),
        [['one/k', 2, 4]],
      );
      later.stop();
    });

    it('has no gap and no duplicate where the backlog meets live changes', async () => {
      const store = await factory.create();
      const random = seededRandom(99);
      // More keys than one backlog page, so watches page through history while writes commit.
      const keys = Array.from({ length: 2 * WATCH_PAGE_ENTRIES + 40 }, (_, i) => `seam/${i % 7}/${i}`);
      await Promise.all(keys.map((key) => store.put({ key, state: 0 })));
      const END = 'seam/end';
      const readers: { done: Promise<WatchEvent[]>; since: number | undefined }[] = [];
      const startReader = (since: number | undefined) => {
        const watch = store.watch('seam/>', since === undefined ? undefined : { sinceRevision: since });
        let synced = false;
        let ended = false;
        const done = collect(
          watch,
          (e) => {
            if (e.kind === 'synced') synced = true;
            if (e.kind === 'snapshot' && e.snapshot.key === END) ended = true;
            return synced && ended;
          },
          { timeoutMs: 20_000 },
        ).finally(() => watch.stop());
        readers.push({ done, since });
      };
      for (let burst = 0; burst < 24; burst++) {
        // A reader starts (and reads its first backlog page) just before a burst of writes.
        if (burst % 4 === 0) startReader(undefined);
        if (burst % 4 === 2) startReader(Math.max(0, store.currentRevision() - 150));
        const writes = Array.from({ length: 80 }, () => {
          const key = keys[Math.floor(random() * keys.length)]!;
          return store.put({ key, state: { burst }, deleted: random() < 0.1 ? true : undefined });
        });
        await Promise.all(writes);
        // Let readers take a few steps between bursts.
        await new Promise((resolve) => setImmediate(resolve));
      }
      await store.put({ key: END, state: 'end' });
      const latest = new Map((await listAll(store, 'seam/')).map((s) => [s.key, s]));
      for (const { done, since } of readers) {
        const events = await done;
        const snaps = snapshotsOf(events);
        assertIncreasingRevisions(snaps);
        assert.equal(events.filter((e) => e.kind === 'synced').length, 1, 'one synced');
        assert.ok(!events.some((e) => e.kind === 'resync'));
        if (since !== undefined)
          assert.ok(
            snaps.every((s) => s.revision > since),
            'nothing at or before since',
          );
        const seen = new Map(snaps.map((s) => [s.key, s]));
        for (const [key, snapshot] of latest) {
          if (since !== undefined && snapshot.revision <= since) continue;
          assert.equal(seen.get(key)?.version, snapshot.version, `latest version of ${key}`);
          assert.equal(seen.get(key)?.deleted, snapshot.deleted);
        }
      }
      assert.equal(readers.length, 12);
    });

    it('resyncs a resume from before compacted history, with retained tombstones, then goes live', async () => {
      const store = await factory.create();
      for (let i = 1; i <= 5; i++) await store.put({ key: `c/${i}`, version: 1, state: i });
      await store.put({ key: 'c/2', version: 2, state: null, deleted: true });
      await store.put({ key: 'c/3', version: 2, state: null, deleted: true });
      const compacted = await store.compact({ tombstoneMs: 0 });
      assert.equal(compacted.removedTombstones, 2);
      assert.equal(compacted.compactedRevision, 7);
      assert.equal(await store.get('c/2'), undefined);
      await store.put({ key: 'c/4', version: 2, state: null, deleted: true });
      const watch = store.watch('c/>', { sinceRevision: 3 });
      const events = await collect(watch, untilSynced);
      assert.deepEqual(events[0], { kind: 'resync', compactedRevision: 7 });
      assert.deepEqual(
        snapshotsOf(events).map((s) => [s.key, s.deleted ?? false]),
        [
          ['c/1', false],
          ['c/5', false],
          ['c/4', true],
        ],
      );
      assert.deepEqual(events.at(-1), { kind: 'synced', revision: 8 });
      await store.put({ key: 'c/9', state: 9 });
      assert.equal(snapshotsOf(await collect(watch, (e) => e.kind === 'snapshot'))[0]?.key, 'c/9');
      watch.stop();
      const atCompacted = await collect(store.watch('c/>', { sinceRevision: 7 }), untilSynced);
      assert.ok(
        !atCompacted.some((e) => e.kind === 'resync'),
        'resuming at the compacted revision needs no resync',
      );
      const future = await collect(store.watch('c/>', { sinceRevision: 1_000_000 }), untilSynced);
      assert.equal(future[0]?.kind, 'resync', 'a revision this store never reached resyncs');
      // Once its tombstone is gone a key starts afresh: retention bounds how long deletes order writes.
      assert.equal((await store.put({ key: 'c/2', version: 1, state: 'back' })).result, 'applied');
    });

    it('compaction keeps tombstones a watch still catching up has not reached', async () => {
      const store = await factory.create();
      const changed = 3 * backlogSteps;
      const keys = changed + 100;
      await Promise.all(Array.from({ length: keys }, (_, i) => store.put({ key: `bk/${i}`, state: i })));
      const since = store.currentRevision();
      await Promise.all(Array.from({ length: changed }, (_, i) => store.put({ key: `bk/${i}`, state: -i })));
      await store.put({ key: `bk/${keys - 1}`, state: null, deleted: true });
      const watch = store.watch('bk/>', { sinceRevision: since });
      const iterator = watch[Symbol.asyncIterator]();
      const first = await within(iterator.next(), 2000, 'first event');
      assert.equal(first.value?.kind, 'snapshot');
      assert.equal((await store.compact({ tombstoneMs: 0 })).removedTombstones, 0);
      const events = await collect(watch, untilSynced);
      const deletes = snapshotsOf(events).filter((s) => s.deleted);
      assert.deepEqual(
        deletes.map((s) => s.key),
        [`bk/${keys - 1}`],
      );
      assert.equal(
        (await store.compact({ tombstoneMs: 0 })).removedTombstones,
        1,
        'removed once the watch is live',
      );
      watch.stop();
    });

    it('stop() ends iteration, also for a pending next()', async () => {
      const store = await factory.create();
      await store.put({ key: 's/1', state: 1 });
      const watch = store.watch('s/>');
      await collect(watch, untilSynced);
      const iterator = watch[Symbol.asyncIterator]();
      const pending = iterator.next();
      watch.stop();
      watch.stop();
      assert.deepEqual(await within(pending, 1000, 'pending next after stop'), {
        value: undefined,
        done: true,
      });
      await store.put({ key: 's/1', state: 2 });
      assert.equal((await iterator.next()).done, true);
      let count = 0;
      for await (const event of store.watch('s/>')) {
        count++;
        if (event.kind === 'synced') break;
      }
      assert.equal(count, 2, 'breaking out of for-await ends the watch');
    });

    it('refuses bad patterns and sinceRevision', async () => {
      const store = await factory.create();
      throwsCode(() => store.watch('a/>/b'), 'bad_pattern');
      throwsCode(() => store.watch(''), 'bad_pattern');
      throwsCode(() => store.watch('a b'), 'bad_pattern');
      for (const sinceRevision of [-1, 1.5, Number.NaN, '3' as unknown as number]) {
        throwsCode(() => store.watch('a/>', { sinceRevision }), 'bad_request');
      }
    });
  });

  describe('close', () => {
    it('ends watches; later calls fail with closed; closing twice is fine', async () => {
      const store = await factory.create();
      await store.put({ key: 'z/1', state: 1 });
      const watch = store.watch('z/>');
      await collect(watch, untilSynced);
      const pending = watch[Symbol.asyncIterator]().next();
      await store.close();
      assert.equal((await within(pending, 2000, 'watch end on close')).done, true);
      await store.close();
      await rejectsCode(store.put({ key: 'z/1', state: 2 }), 'closed', 'put');
      await rejectsCode(store.get('z/1'), 'closed', 'get');
      await rejectsCode(store.list('z/'), 'closed', 'list');
      await rejectsCode(store.compact(), 'closed', 'compact');
      throwsCode(() => store.watch('z/>'), 'closed');
      throwsCode(() => store.currentRevision(), 'closed');
    });

    it('acknowledges puts in flight before closing', async () => {
      const store = await factory.create();
      const puts = Array.from({ length: 50 }, (_, i) => store.put({ key: `f/${i}`, state: i }));
      const closed = store.close();
      const outcomes = await Promise.all(puts);
      await closed;
      assert.ok(outcomes.every((o) => o.result === 'applied'));
    });
  });

  if (!listening) listenContract(factory);
}

/** What `Watch.listen` adds to iteration: one consumer, slices across turns, listener failures. */
function listenContract(factory: StoreFactory): void {
  describe('watch.listen', () => {
    it('is one way of consuming a watch: listening after iterating, or twice, is bad_request', async () => {
      const store = await factory.create();
      const iterated = store.watch('one/>');
      await collect(iterated, untilSynced);
      await rejectsCode(
        iterated.listen({ onSnapshot() {}, onEvent() {} }),
        'bad_request',
        'listen after next',
      );
      const listened = store.watch('one/>');
      const ended = listened.listen({ onSnapshot() {}, onEvent() {} });
      await rejectsCode(listened.listen({ onSnapshot() {}, onEvent() {} }), 'bad_request', 'second listen');
      await rejectsCode(listened[Symbol.asyncIterator]().next(), 'bad_request', 'next after listen');
      listened.stop();
      await within(ended, 1000, 'listen ends on stop');
      iterated.stop();
    });

    it('delivers a long backlog in slices, letting the event loop run between them, then live changes', async () => {
      const store = await factory.create();
      const keys = 2 * LISTEN_SLICE_EVENTS + 10;
      await Promise.all(Array.from({ length: keys }, (_, i) => store.put({ key: `sl/${i}`, state: i })));
      const watch = store.watch('sl/>', { sinceRevision: 0 });
      const seen: number[] = [];
      let turnsBetween = 0;
      let synced: () => void = () => {};
      const whenSynced = new Promise<void>((resolve) => {
        synced = resolve;
      });
      const ended = watch.listen({
        onSnapshot: (snapshot) => seen.push(snapshot.revision),
        onEvent: (event) => {
          if (event.kind === 'synced') synced();
        },
      });
      // Runs once per turn of the event loop (check phase) until synced.
      let ticking = true;
      const tick = () => {
        if (seen.length > 0 && seen.length < keys) turnsBetween++;
        if (ticking) setImmediate(tick);
      };
      setImmediate(tick);
      await within(whenSynced, 10_000, 'synced');
      ticking = false;
      assert.equal(seen.length, keys);
      assert.ok(turnsBetween >= 1, 'the event loop turned while the backlog was delivered');
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!, `revision order at ${i}`);
      const outcome = await store.put({ key: 'sl/live', state: 'now' });
      assert.equal(
        seen.at(-1),
        outcome.revision,
        'a live change reaches the listener by the time put resolves',
      );
      watch.stop();
      await within(ended, 1000, 'listen ends on stop');
    });

    it('a listener that throws stops its watch and rejects listen; the put that triggered it is unaffected', async () => {
      const store = await factory.create();
      const watch = store.watch('th/>');
      const failure = new Error('listener bug');
      let calls = 0;
      const ended = watch.listen({
        onSnapshot: () => {
          calls++;
          throw failure;
        },
        onEvent: () => {},
      });
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal((await store.put({ key: 'th/1', state: 1 })).result, 'applied');
      await assert.rejects(within(ended, 1000, 'listen rejects'), (err) => err === failure);
      assert.equal((await store.put({ key: 'th/1', state: 2 })).result, 'applied');
      assert.equal(calls, 1, 'the stopped watch hears nothing more');
    });
  });
}
