import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { SbmpError } from '../../src/core/errors.js';
import { compilePattern } from '../../src/core/key.js';
import { Hub } from '../../src/server/fanout/hub.js';
import type { OutboundSnapshot } from '../../src/server/fanout/outbound.js';
import type { Batch, SubscriptionOwner } from '../../src/server/fanout/subscription.js';
import { Subscription } from '../../src/server/fanout/subscription.js';
import { ServerMetrics } from '../../src/server/metrics.js';
import { MemoryStore } from '../../src/store/memory.js';
import { withTimeout } from './helpers.js';

/** An owner that records wakes and lets the test take batches by hand, like a stalled connection. */
class ManualOwner implements SubscriptionOwner {
  woken = 0;
  overflowed = 0;
  failures: SbmpError[] = [];
  #waiters: (() => void)[] = [];
  wake(): void {
    this.woken++;
    for (const w of this.#waiters.splice(0)) w();
  }
  overflow(): void {
    this.overflowed++;
  }
  failed(_s: Subscription, error: SbmpError): void {
    this.failures.push(error);
  }
  /** Resolves at the next wake. */
  nextWake(): Promise<void> {
    return withTimeout(new Promise<void>((resolve) => this.#waiters.push(resolve)), 'wake');
  }
}

const metrics = new ServerMetrics(undefined);
let store: MemoryStore;
let hub: Hub;

before(async () => {
  store = new MemoryStore();
  hub = new Hub(store, undefined);
  await hub.start(5000);
});
after(async () => {
  hub.stop();
  await store.close();
});

function subscribe(pattern: string, owner: SubscriptionOwner, sinceRevision?: number, maxPendingKeys = 1000) {
  return new Subscription({
    id: 1,
    pattern: compilePattern(pattern),
    sinceRevision,
    maxPendingKeys,
    store,
    feed: hub,
    owner,
    metrics,
  });
}

/** Takes every batch available now. */
function drain(subscription: Subscription, budget = Number.POSITIVE_INFINITY): Batch[] {
  const batches: Batch[] = [];
  for (let i = 0; i < 100_000; i++) {
    const batch = subscription.takeBatch(() => 1, budget);
    if (batch === undefined) return batches;
    batches.push(batch);
  }
  throw new Error('takeBatch never ran dry');
}

/** Waits until the subscription's backlog is in and its synced marker taken. */
async function untilSynced(subscription: Subscription, owner: ManualOwner): Promise<Batch[]> {
  const batches: Batch[] = [];
  for (let i = 0; i < 100; i++) {
    batches.push(...drain(subscription));
    if (batches.some((b) => b.synced)) return batches;
    await owner.nextWake();
  }
  throw new Error('never synced');
}

/** Lets the store's watch deliver what was put, then lets the hub dispatch it. */
async function settle(): Promise<void> {
  const target = store.currentRevision();
  for (let i = 0; i < 1000 && hub.revision < target; i++) await new Promise((r) => setImmediate(r));
  assert.equal(hub.revision, target, 'hub caught up');
}

describe('Hub routing', () => {
  test('exact, wildcard and tail patterns each get exactly the matching changes, as one shared object', async () => {
    const owners = {
      exact: new ManualOwner(),
      star: new ManualOwner(),
      tail: new ManualOwner(),
      other: new ManualOwner(),
    };
    const subs = {
      exact: subscribe('route/eu/1', owners.exact),
      star: subscribe('route/*/1', owners.star),
      tail: subscribe('route/>', owners.tail),
      other: subscribe('elsewhere/>', owners.other),
    };
    for (const [name, s] of Object.entries(subs)) await untilSynced(s, owners[name as keyof typeof owners]);
    await store.put({ key: 'route/eu/1', state: 1 });
    await store.put({ key: 'route/us/1', state: 2 });
    await store.put({ key: 'route/eu/2', state: 3 });
    await store.put({ key: 'route', state: 4 });
    await settle();
    const keys = (s: Subscription) =>
      drain(s)
        .flatMap((b) => b.entries)
        .map((e) => e.key);
    const exact = drain(subs.exact).flatMap((b) => b.entries);
    const star = drain(subs.star).flatMap((b) => b.entries);
    assert.deepEqual(
      exact.map((e) => e.key),
      ['route/eu/1'],
    );
    assert.deepEqual(
      star.map((e) => e.key),
      ['route/eu/1', 'route/us/1'],
    );
    assert.deepEqual(keys(subs.tail), ['route/eu/1', 'route/us/1', 'route/eu/2']);
    assert.deepEqual(keys(subs.other), []);
    // Encoded once, shared: the same object and the same bytes reach every subscriber.
    assert.equal(exact[0], star[0]);
    assert.equal(exact[0]!.entry('msgpack'), star[0]!.entry('msgpack'));
    assert.notEqual(exact[0]!.entry('json'), exact[0]!.entry('msgpack'));
    for (const s of Object.values(subs)) s.close();
    assert.equal(hub.subscriptionCount, 0);
    assert.equal(hub.stats().wildcardPatterns, 0);
    assert.equal(hub.stats().exactKeys, 0);
  });

  test('subscriptions that come and go between changes get exactly the changes made while they were in', async () => {
    const keysOf = (s: Subscription) =>
      drain(s)
        .flatMap((b) => b.entries)
        .map((e) => e.key);
    const owners = Array.from({ length: 5 }, () => new ManualOwner());
    // Two of each pattern, and two patterns under the one prefix 'join/'.
    const patterns = ['join/a', 'join/a', 'join/*', 'join/*', 'join/>'];
    const subs = patterns.map((pattern, i) => subscribe(pattern, owners[i]!));
    for (const [i, s] of subs.entries()) await untilSynced(s, owners[i]!);
    await store.put({ key: 'join/a', state: 1 });
    await settle();
    assert.deepEqual(subs.map(keysOf), [['join/a'], ['join/a'], ['join/a'], ['join/a'], ['join/a']]);
    // One of each pair leaves; the only 'join/>' leaves, taking its group with it.
    subs[1]!.close();
    subs[3]!.close();
    subs[4]!.close();
    assert.equal(hub.stats().wildcardPatterns, 1);
    await store.put({ key: 'join/a', state: 2 });
    await settle();
    const late = subscribe('join/*', owners[1]!);
    await untilSynced(late, owners[1]!);
    await store.put({ key: 'join/b', state: 3 });
    await settle();
    assert.deepEqual(
      [subs[0], subs[2], late].map((s) => keysOf(s!)),
      [['join/a'], ['join/a', 'join/b'], ['join/b']],
    );
    for (const s of [subs[0]!, subs[2]!, late]) s.close();
    assert.equal(hub.subscriptionCount, 0);
    assert.equal(hub.stats().wildcardPatterns, 0);
    assert.equal(hub.stats().exactKeys, 0);
  });
});

describe('Subscription seam and resume point', () => {
  test('a stalled subscriber holds one pending snapshot per key, the newest', async () => {
    const owner = new ManualOwner();
    const s = subscribe('stall/>', owner);
    await untilSynced(s, owner);
    for (let round = 1; round <= 20; round++) {
      for (let k = 0; k < 5; k++) await store.put({ key: `stall/k${k}`, state: round });
    }
    await settle();
    assert.equal(s.pendingKeys, 5);
    const entries = drain(s).flatMap((b) => b.entries);
    assert.deepEqual(
      entries.map((e) => e.version),
      [20, 20, 20, 20, 20],
    );
    assert.ok(s.conflated >= 95);
    s.close();
  });

  test('more keys pending than allowed reports overflow to the owner', async () => {
    const owner = new ManualOwner();
    const s = subscribe('overflow/>', owner, undefined, 3);
    await untilSynced(s, owner);
    for (let k = 0; k < 5; k++) await store.put({ key: `overflow/k${k}`, state: k });
    await settle();
    assert.ok(owner.overflowed >= 1);
    s.close();
  });

  test('property: the resume point never passes an undelivered change, and versions never go back', async () => {
    const ops = fc.array(
      fc.record({
        key: fc.integer({ min: 0, max: 5 }),
        takeAfter: fc.boolean(),
        budget: fc.integer({ min: 1, max: 3 }),
      }),
      { minLength: 1, maxLength: 40 },
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(ops, async (steps) => {
        run++;
        const prefix = `prop${run}`;
        const owner = new ManualOwner();
        const s = subscribe(`${prefix}/>`, owner);
        await untilSynced(s, owner);
        const start = store.currentRevision();
        const delivered = new Map<string, number>();
        const deliveredRevisions = new Set<number>();
        const deliveredRevisionOf = new Map<string, number>();
        let lastResume = s.resumePoint ?? 0;
        const check = (batches: Batch[]) => {
          for (const batch of batches) {
            for (const e of batch.entries) {
              const held = delivered.get(e.key) ?? 0;
              assert.ok(e.version > held, `version went back on ${e.key}: ${held} -> ${e.version}`);
              delivered.set(e.key, e.version);
              deliveredRevisions.add(e.revision);
              deliveredRevisionOf.set(e.key, e.revision);
            }
            const resume = batch.revision ?? 0;
            assert.ok(resume >= lastResume, 'resume point went back');
            lastResume = resume;
            // Every change at or below the resume point must be delivered, or superseded by a
            // newer version of its key that was delivered or that a resume from there would get.
            for (let r = start + 1; r <= resume; r++) {
              const key = keyAtRevision.get(r)!;
              const covered = (deliveredRevisionOf.get(key) ?? 0) >= r || latestByKey.get(key)! > resume;
              assert.ok(covered, `revision ${r} (${key}) skipped by resume point ${resume}`);
            }
          }
        };
        const keyAtRevision = new Map<number, string>();
        const latestByKey = new Map<string, number>();
        for (const step of steps) {
          const key = `${prefix}/k${step.key}`;
          const outcome = await store.put({ key, state: step.budget });
          keyAtRevision.set(outcome.revision, key);
          latestByKey.set(key, outcome.revision);
          await settle();
          if (step.takeAfter) {
            const batch = s.takeBatch(() => 1, step.budget);
            if (batch !== undefined) check([batch]);
          }
        }
        check(drain(s));
        assert.equal(s.pendingKeys, 0);
        for (const [key, revision] of latestByKey) {
          assert.equal(delivered.get(key), (await store.get(key))!.version, `${key} converged`);
          assert.ok(deliveredRevisions.has(revision));
        }
        assert.equal(lastResume, store.currentRevision());
        s.close();
      }),
      { numRuns: 40 },
    );
  });

  test('resuming across the seam: backlog and live changes never regress a key', async () => {
    for (let k = 0; k < 50; k++) await store.put({ key: `seam/k${k}`, state: 0 });
    await settle();
    const since = store.currentRevision();
    for (let k = 0; k < 50; k++) await store.put({ key: `seam/k${k}`, state: 1 });
    const owner = new ManualOwner();
    const s = subscribe('seam/>', owner, since);
    // Live writes race the backlog read.
    const writes = (async () => {
      for (let round = 2; round < 6; round++) {
        for (let k = 0; k < 50; k += 7) await store.put({ key: `seam/k${k}`, state: round });
      }
    })();
    const versions = new Map<string, number>();
    let synced = false;
    for (let i = 0; i < 1000 && !synced; i++) {
      for (const batch of drain(s, 3)) {
        for (const e of batch.entries) {
          assert.ok(e.version > (versions.get(e.key) ?? 0), `regression on ${e.key}`);
          versions.set(e.key, e.version);
        }
        if (batch.synced) synced = true;
      }
      if (!synced) await owner.nextWake();
    }
    await writes;
    await settle();
    for (const batch of drain(s)) {
      for (const e of batch.entries) {
        assert.ok(e.version > (versions.get(e.key) ?? 0), `regression on ${e.key}`);
        versions.set(e.key, e.version);
      }
    }
    for (let k = 0; k < 50; k++) {
      assert.equal(versions.get(`seam/k${k}`), (await store.get(`seam/k${k}`))!.version);
    }
    s.close();
  });
});

/** Keeps the OutboundSnapshot import honest for readers: batches hold shared outbound snapshots. */
export type { OutboundSnapshot };
