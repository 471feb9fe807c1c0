import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isSbmpError } from '../../src/core/errors.js';
import type { OfferResult } from '../../src/core/mailbox.js';
import { ConflatingMailbox } from '../../src/core/mailbox.js';
import type { Snapshot } from '../../src/core/snapshot.js';

let offers = 0;
function snap(key: string, version: number): Snapshot<number> {
  // A distinct state per offer, so a test can tell which offer of a version it got back.
  return { key, version, state: offers++, ts: 0, source: 'test' };
}

function takeAll(box: ConflatingMailbox): string[] {
  return box.drain().map((s) => `${s.key}@${s.version}`);
}

describe('ConflatingMailbox', () => {
  it('queues keys in first-arrival order and replaces a pending key in place', () => {
    const box = new ConflatingMailbox();
    assert.equal(box.offer(snap('a', 1)), 'queued');
    assert.equal(box.offer(snap('b', 1)), 'queued');
    assert.equal(box.offer(snap('c', 1)), 'queued');
    assert.equal(box.offer(snap('a', 5)), 'conflated');
    assert.equal(box.offer(snap('b', 3)), 'conflated');
    assert.equal(box.size, 3);
    assert.deepEqual(takeAll(box), ['a@5', 'b@3', 'c@1']);
    assert.equal(box.size, 0);
    assert.equal(box.take(), undefined);
    assert.equal(box.conflated, 2);
  });

  it('drops an older or equal version offered after a newer pending one', () => {
    const box = new ConflatingMailbox();
    const newest = snap('a', 7);
    box.offer(newest);
    assert.equal(box.offer(snap('a', 3)), 'stale');
    assert.equal(box.offer(snap('a', 7)), 'stale');
    assert.equal(box.dropped, 2);
    assert.equal(box.take(), newest, 'the first offer of the newest version is kept');
  });

  it('forgets a key once taken: the next offer queues it at the back', () => {
    const box = new ConflatingMailbox();
    box.offer(snap('a', 1));
    box.offer(snap('b', 1));
    assert.equal(box.take()?.key, 'a');
    assert.equal(box.offer(snap('a', 1)), 'queued', 'ordering against the consumer is the replica’s job');
    assert.deepEqual(takeAll(box), ['b@1', 'a@1']);
  });

  it('drain(max) takes at most max in order', () => {
    const box = new ConflatingMailbox();
    for (const key of ['a', 'b', 'c', 'd']) box.offer(snap(key, 1));
    assert.deepEqual(
      box.drain(3).map((s) => s.key),
      ['a', 'b', 'c'],
    );
    assert.deepEqual(box.drain(0), []);
    assert.deepEqual(
      box.drain(10).map((s) => s.key),
      ['d'],
    );
  });

  it('refuses a new key beyond maxKeys with overflow, and still conflates pending keys', () => {
    const box = new ConflatingMailbox({ maxKeys: 2 });
    assert.equal(box.maxKeys, 2);
    assert.equal(box.offer(snap('a', 1)), 'queued');
    assert.equal(box.offer(snap('b', 1)), 'queued');
    assert.equal(box.offer(snap('c', 1)), 'overflow');
    assert.equal(box.offer(snap('a', 2)), 'conflated');
    assert.equal(box.overflowed, 1);
    assert.equal(box.size, 2);
    assert.equal(box.highWater, 2);
    box.take();
    assert.equal(box.offer(snap('c', 1)), 'queued');
    assert.deepEqual(takeAll(box), ['b@1', 'c@1']);
  });

  it('is unlimited by default and refuses a bad maxKeys with bad_config', () => {
    assert.equal(new ConflatingMailbox().maxKeys, Number.POSITIVE_INFINITY);
    for (const maxKeys of [0, -1, 1.5, Number.NaN]) {
      assert.throws(
        () => new ConflatingMailbox({ maxKeys }),
        (err: unknown) => isSbmpError(err, 'bad_config'),
      );
    }
    const box = new ConflatingMailbox();
    for (let i = 0; i < 5000; i++) assert.equal(box.offer(snap(`k${i}`, 1)), 'queued');
    assert.equal(box.size, 5000);
  });

  it('remove drops a pending key and keeps the order of the rest, through ring compaction', () => {
    const box = new ConflatingMailbox();
    for (let i = 0; i < 100; i++) box.offer(snap(`k${i}`, 1));
    // Move the head and wrap the tail around the end of the ring before compacting.
    assert.equal(box.drain(50).length, 50);
    for (let i = 100; i < 160; i++) box.offer(snap(`k${i}`, 1));
    assert.equal(box.remove('missing'), false);
    for (let i = 50; i < 160; i++) if (i % 10 !== 0) assert.equal(box.remove(`k${i}`), true);
    assert.equal(box.remove('k51'), false, 'already removed');
    assert.equal(box.size, 11);
    assert.equal(box.has('k51'), false);
    assert.equal(box.has('k60'), true);
    box.offer(snap('k51', 2)); // re-offered after removal: a new arrival
    box.offer(snap('k60', 2)); // still pending: keeps its place
    const expected = Array.from({ length: 11 }, (_, i) => `k${50 + i * 10}@${i === 1 ? 2 : 1}`);
    assert.deepEqual(takeAll(box), [...expected, 'k51@2']);
  });

  it('clear drops everything and keeps counters', () => {
    const box = new ConflatingMailbox();
    box.offer(snap('a', 1));
    box.offer(snap('a', 2));
    box.clear();
    assert.equal(box.size, 0);
    assert.equal(box.take(), undefined);
    assert.equal(box.conflated, 1);
    assert.equal(box.highWater, 1);
    assert.equal(box.offer(snap('a', 1)), 'queued');
  });

  it('property: behaves like a reference model, never holds two of a key, always yields the newest', () => {
    const keyArb = fc.integer({ min: 0, max: 40 }).map((n) => `k${n}`);
    const op = fc.oneof(
      {
        weight: 10,
        arbitrary: fc.record({
          kind: fc.constant('offer' as const),
          key: keyArb,
          version: fc.integer({ min: 1, max: 9 }),
        }),
      },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('take' as const) }) },
      {
        weight: 1,
        arbitrary: fc.record({ kind: fc.constant('drain' as const), max: fc.integer({ min: 0, max: 5 }) }),
      },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('remove' as const), key: keyArb }) },
    );
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 300 }),
        fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
        (ops, maxKeys) => {
          const box = new ConflatingMailbox<Snapshot<number>>(maxKeys === undefined ? {} : { maxKeys });
          // Model: pending entries in first-arrival order.
          const pending: Snapshot<number>[] = [];
          // Per key, the newest version offered (and accepted) since that key was last taken.
          const newestSince = new Map<string, number>();
          const counts = { conflated: 0, dropped: 0, overflowed: 0, highWater: 0 };
          const checkTaken = (s: Snapshot<number>, expected: Snapshot<number>) => {
            assert.equal(s, expected);
            assert.equal(s.version, newestSince.get(s.key), 'the taken snapshot is the newest offered');
            newestSince.delete(s.key);
          };
          for (const o of ops) {
            if (o.kind === 'offer') {
              const s = snap(o.key, o.version);
              const at = pending.findIndex((p) => p.key === o.key);
              let expected: OfferResult;
              if (at >= 0) {
                if (o.version > pending[at]!.version) {
                  pending[at] = s;
                  expected = 'conflated';
                  counts.conflated++;
                } else {
                  expected = 'stale';
                  counts.dropped++;
                }
              } else if (maxKeys !== undefined && pending.length >= maxKeys) {
                expected = 'overflow';
                counts.overflowed++;
              } else {
                pending.push(s);
                expected = 'queued';
                counts.highWater = Math.max(counts.highWater, pending.length);
              }
              if (expected === 'queued' || expected === 'conflated') newestSince.set(o.key, o.version);
              assert.equal(box.offer(s), expected);
            } else if (o.kind === 'take') {
              const got = box.take();
              const expected = pending.shift();
              if (expected === undefined) assert.equal(got, undefined);
              else checkTaken(got!, expected);
            } else if (o.kind === 'drain') {
              const got = box.drain(o.max);
              const expected = pending.splice(0, o.max);
              assert.equal(got.length, expected.length);
              for (let i = 0; i < got.length; i++) checkTaken(got[i]!, expected[i]!);
            } else {
              const at = pending.findIndex((p) => p.key === o.key);
              if (at >= 0) {
                pending.splice(at, 1);
                newestSince.delete(o.key);
              }
              assert.equal(box.remove(o.key), at >= 0);
            }
            assert.equal(box.size, pending.length);
          }
          assert.deepEqual(
            {
              conflated: box.conflated,
              dropped: box.dropped,
              overflowed: box.overflowed,
              highWater: box.highWater,
            },
            counts,
          );
          const rest = box.drain();
          assert.equal(
            new Set(rest.map((s) => s.key)).size,
            rest.length,
            'never two pending snapshots of one key',
          );
          assert.deepEqual(rest, pending);
        },
      ),
      { numRuns: 300 },
    );
  });
});
