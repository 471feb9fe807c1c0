import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { isSbmpError, SbmpError } from '../../src/core/errors.js';
import type { StoredSnapshot } from '../../src/core/snapshot.js';
import type { BreakerState, GuardedStore } from '../../src/server/guards/store-breaker.js';
import { guardStore, isStoreFailure } from '../../src/server/guards/store-breaker.js';
import { MemoryStore } from '../../src/store/memory.js';
import type {
  CompactOutcome,
  ListOptions,
  ListPage,
  PutOptions,
  PutOutcome,
  RetentionPolicy,
  SnapshotInput,
  Store,
  Watch,
  WatchOptions,
} from '../../src/store/types.js';
import { rejectsCode, within } from '../store/helpers.js';

/**
 * A real MemoryStore behind a switch: while `failing`, every request-shaped call throws an I/O
 * error before reaching the store; `hold` parks calls until released. `calls` counts every call
 * that reached this wrapper, so a test can tell a fast refusal from a store call.
 */
class SwitchableStore implements Store {
  readonly kind = 'switchable';
  readonly inner: MemoryStore;
  failing = false;
  calls = 0;
  #held: Promise<void> | undefined;

  constructor(inner: MemoryStore) {
    this.inner = inner;
  }

  get capabilities() {
    return this.inner.capabilities;
  }

  get epoch() {
    return this.inner.epoch;
  }

  /** Parks calls until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    this.#held = new Promise<void>((resolve) => {
      release = resolve;
    });
    return () => {
      this.#held = undefined;
      release();
    };
  }

  async #enter(): Promise<void> {
    this.calls++;
    if (this.#held !== undefined) await this.#held;
    if (this.failing) throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
  }

  async put(snapshot: SnapshotInput, options?: PutOptions): Promise<PutOutcome> {
    await this.#enter();
    return this.inner.put(snapshot, options);
  }
  async get(key: string): Promise<StoredSnapshot | undefined> {
    await this.#enter();
    return this.inner.get(key);
  }
  async list(prefix: string, options?: ListOptions): Promise<ListPage> {
    await this.#enter();
    return this.inner.list(prefix, options);
  }
  async compact(retention?: RetentionPolicy): Promise<CompactOutcome> {
    await this.#enter();
    return this.inner.compact(retention);
  }
  watch(pattern: string, options?: WatchOptions): Watch {
    return this.inner.watch(pattern, options);
  }
  currentRevision(): number {
    return this.inner.currentRevision();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Asserts a fast refusal: `unavailable`, retryable, with a retry hint and the store's failure as cause. */
async function refusedFast(promise: Promise<unknown>, breaker: BreakerState): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isSbmpError(err, 'unavailable'), String(err));
    assert.equal(err.retryable, true);
    assert.equal(err.status, 503);
    assert.equal(err.details?.breaker, breaker);
    assert.ok((err.details?.retryAfterMs as number) > 0);
    assert.match(String((err.cause as Error | undefined)?.message), /EIO/);
    return true;
  });
}

async function rejectsEio(promise: Promise<unknown>): Promise<void> {
  await assert.rejects(promise, /EIO/);
}

const HALF_OPEN_AFTER_MS = 1000;

describe('guardStore', () => {
  let backing: SwitchableStore;
  let store: GuardedStore;
  let states: BreakerState[];

  beforeEach(() => {
    // cockatiel times the open period with Date.now(); a mocked clock makes "halfOpenAfter
    // later" exact instead of a sleep.
    mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_000 });
    backing = new SwitchableStore(new MemoryStore({ maxStateBytes: 64 }));
    store = guardStore(backing, { consecutiveFailures: 3, halfOpenAfterMs: HALF_OPEN_AFTER_MS });
    states = [];
    store.onStateChange((state) => states.push(state));
  });

  afterEach(async () => {
    mock.timers.reset();
    await store.close();
  });

  test('validates its options, naming the option', () => {
    const inner = new MemoryStore();
    for (const [options, option] of [
      [{ threshold: 1 }, 'threshold'],
      [{ threshold: 0 }, 'threshold'],
      [{ durationMs: 0 }, 'durationMs'],
      [{ minimumRps: -1 }, 'minimumRps'],
      [{ halfOpenAfterMs: 0 }, 'halfOpenAfterMs'],
      [{ consecutiveFailures: 0 }, 'consecutiveFailures'],
      [{ consecutiveFailures: 3, threshold: 0.5 }, 'threshold'],
    ] as const) {
      assert.throws(
        () => guardStore(inner, options),
        (err: unknown) => isSbmpError(err, 'bad_config') && err.details?.option === option,
        JSON.stringify(options),
      );
    }
    assert.throws(
      () => guardStore({} as Store),
      (err: unknown) => isSbmpError(err, 'bad_config'),
    );
  });

  test('is a full Store: every call reaches the wrapped store with the same results', async () => {
    const asStore: Store = store; // a guarded store is usable wherever a Store is
    assert.equal(asStore.kind, 'switchable');
    assert.equal(store.capabilities, backing.inner.capabilities);
    assert.equal(store.breakerState, 'closed');
    const watch = store.watch('orders/>');
    const put = await store.put({ key: 'orders/1', state: { n: 1 } });
    assert.deepEqual(put, { result: 'applied', version: 1, revision: 1 });
    assert.equal((await store.get('orders/1'))?.version, 1);
    assert.deepEqual(
      (await store.list('orders/')).items.map((s) => s.key),
      ['orders/1'],
    );
    assert.equal(store.currentRevision(), 1);
    assert.equal((await store.compact()).removedTombstones, 0);
    const iterator = watch[Symbol.asyncIterator]();
    const first = await within(iterator.next(), 5000, 'the watch');
    assert.equal(first.done, false);
    watch.stop();
    assert.equal(backing.calls, 4);
  });

  test("the caller's errors pass through and never open the circuit", async () => {
    await store.put({ key: 'a', version: 5, state: 1 });
    for (let i = 0; i < 5; i++) {
      await rejectsCode(store.put({ key: 'bad//key', state: 1 }), 'bad_key');
      await rejectsCode(store.put({ key: 'a', version: -1, state: 1 }), 'bad_version');
      await rejectsCode(store.put({ key: 'a', version: 9, state: 'x'.repeat(100) }), 'too_large');
      await rejectsCode(store.get('bad//key'), 'bad_key');
    }
    const stale = await store.put({ key: 'a', version: 4, state: 1 });
    assert.equal(stale.result, 'stale');
    assert.equal(store.breakerState, 'closed');
    assert.equal(store.breakerFigures().failures, 0);
    assert.deepEqual(states, []);
  });

  test('isStoreFailure: 4xx SbmpErrors and closed are not store failures', () => {
    assert.equal(isStoreFailure(new Error('EIO')), true);
    assert.equal(isStoreFailure(new SbmpError('corrupt_store', 'x')), true);
    assert.equal(isStoreFailure(new SbmpError('timeout', 'x')), true);
    for (const code of [
      'bad_key',
      'bad_version',
      'too_large',
      'bad_state',
      'stale',
      'closed',
      'aborted',
    ] as const) {
      assert.equal(isStoreFailure(new SbmpError(code, 'x')), false, code);
    }
  });

  test('failures open it; open, it fails fast; a successful probe closes it; nothing acknowledged is lost', async () => {
    const acknowledged = new Map<string, number>();
    const publish = async (key: string, version: number) => {
      const outcome = await store.put({ key, version, state: { version } });
      assert.equal(outcome.result, 'applied');
      acknowledged.set(key, version);
    };
    for (let i = 1; i <= 5; i++) await publish(`k/${i}`, i);

    backing.failing = true;
    await rejectsEio(store.put({ key: 'k/1', version: 10, state: {} }));
    await rejectsEio(store.get('k/1'));
    assert.equal(store.breakerState, 'closed');
    await rejectsEio(store.list('k/'));
    assert.equal(store.breakerState, 'open');
    assert.deepEqual(states, ['open']);

    const callsWhenOpened = backing.calls;
    backing.failing = false; // the store has healed, but the breaker does not know yet
    for (let i = 0; i < 20; i++)
      await refusedFast(store.put({ key: 'k/1', version: 20 + i, state: {} }), 'open');
    await refusedFast(store.get('k/1'), 'open');
    await refusedFast(store.list('k/'), 'open');
    await refusedFast(store.compact(), 'open');
    assert.equal(backing.calls, callsWhenOpened, 'an open circuit does not touch the store');

    mock.timers.tick(HALF_OPEN_AFTER_MS - 1);
    await refusedFast(store.get('k/1'), 'open');
    mock.timers.tick(1);
    await publish('k/6', 6); // the probe
    assert.equal(store.breakerState, 'closed');
    assert.deepEqual(states, ['open', 'half-open', 'closed']);
    await publish('k/1', 7);

    for (const [key, version] of acknowledged) {
      assert.equal((await backing.inner.get(key))?.version, version, key);
    }
    assert.equal(backing.inner.currentRevision(), acknowledged.size + 1);
    assert.deepEqual(store.breakerFigures(), { state: 'closed', opens: 1, rejected: 24, failures: 3 });
  });

  test('putTo, the publish path, is guarded as put is: counted, opened, refused fast, closed by a probe', async () => {
    assert.equal(typeof store.putTo, 'function');
    const putTo = (snapshot: SnapshotInput) =>
      new Promise<PutOutcome>((resolve, reject) =>
        store.putTo!(snapshot, undefined, { putDone: resolve, putFailed: reject }, undefined),
      );
    assert.equal((await putTo({ key: 'p/1', version: 1, state: 1 })).result, 'applied');
    await rejectsCode(putTo({ key: 'bad//key', state: 1 }), 'bad_key');
    assert.equal(store.breakerFigures().failures, 0, "the caller's error is not a store failure");
    backing.failing = true;
    for (let i = 0; i < 3; i++) await rejectsEio(putTo({ key: 'p/1', version: 2, state: 2 }));
    assert.equal(store.breakerState, 'open');
    const calls = backing.calls;
    backing.failing = false;
    await refusedFast(putTo({ key: 'p/1', version: 2, state: 2 }), 'open');
    assert.equal(backing.calls, calls, 'an open circuit does not touch the store');
    mock.timers.tick(HALF_OPEN_AFTER_MS);
    assert.equal((await putTo({ key: 'p/1', version: 2, state: 2 })).result, 'applied');
    assert.equal(store.breakerState, 'closed');
    assert.equal((await backing.inner.get('p/1'))?.version, 2);
    assert.deepEqual(store.breakerFigures(), { state: 'closed', opens: 1, rejected: 1, failures: 3 });
  });

  test('while the probe is in flight other calls fail fast instead of queueing', async () => {
    backing.failing = true;
    for (let i = 0; i < 3; i++) await rejectsEio(store.get('k'));
    assert.equal(store.breakerState, 'open');
    backing.failing = false;
    mock.timers.tick(HALF_OPEN_AFTER_MS);

    const release = backing.hold();
    const probe = store.put({ key: 'k', version: 1, state: 1 });
    assert.equal(store.breakerState, 'half-open');
    const callsDuringProbe = backing.calls;
    await refusedFast(store.put({ key: 'k', version: 2, state: 2 }), 'half-open');
    await refusedFast(store.get('k'), 'half-open');
    assert.equal(backing.calls, callsDuringProbe);
    release();
    assert.equal((await within(probe, 5000, 'the probe')).result, 'applied');
    assert.equal(store.breakerState, 'closed');
  });

  test('a failed probe opens it again for another period', async () => {
    backing.failing = true;
    for (let i = 0; i < 3; i++) await rejectsEio(store.get('k'));
    mock.timers.tick(HALF_OPEN_AFTER_MS);
    await rejectsEio(store.get('k')); // the probe reaches the store and fails
    assert.equal(store.breakerState, 'open');
    const calls = backing.calls;
    await refusedFast(store.get('k'), 'open');
    assert.equal(backing.calls, calls);
    assert.deepEqual(states, ['open', 'half-open', 'open']);
    assert.equal(store.breakerFigures().opens, 2);
  });

  test('a closed store is not a failing one', async () => {
    await backing.inner.close();
    for (let i = 0; i < 5; i++) await rejectsCode(store.get('k'), 'closed');
    assert.equal(store.breakerState, 'closed');
  });

  test('listeners can be removed', async () => {
    const heard: BreakerState[] = [];
    const remove = store.onStateChange((state) => heard.push(state));
    remove();
    backing.failing = true;
    for (let i = 0; i < 3; i++) await rejectsEio(store.get('k'));
    assert.equal(store.breakerState, 'open');
    assert.deepEqual(heard, []);
  });
});

describe('guardStore with a failure-rate breaker', () => {
  afterEach(() => mock.timers.reset());

  function rateGuarded(backing: SwitchableStore): GuardedStore {
    // 1 s window, at least 5 calls/s: at least 5 calls before the rate counts.
    return guardStore(backing, { threshold: 0.5, durationMs: 1000, minimumRps: 5, halfOpenAfterMs: 500 });
  }

  test('does not judge a rate from too few calls', async () => {
    mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_000 });
    const backing = new SwitchableStore(new MemoryStore());
    const store = rateGuarded(backing);
    try {
      backing.failing = true;
      for (let i = 0; i < 4; i++) await rejectsEio(store.get('k'));
      assert.equal(store.breakerState, 'closed', '4 calls are too few to judge');
      await rejectsEio(store.get('k'));
      assert.equal(store.breakerState, 'open', '5 of 5 failed');
    } finally {
      await store.close();
    }
  });

  test('opens only above the threshold', async () => {
    mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_000 });
    const backing = new SwitchableStore(new MemoryStore());
    const store = rateGuarded(backing);
    try {
      for (let i = 0; i < 10; i++) await store.get('k');
      backing.failing = true;
      for (let i = 0; i < 10; i++) await rejectsEio(store.get('k'));
      assert.equal(store.breakerState, 'closed', '10 of 20 failed: not above 50%');
      await rejectsEio(store.get('k'));
      assert.equal(store.breakerState, 'open', '11 of 21 failed');
      await refusedFast(store.get('k'), 'open');
    } finally {
      await store.close();
    }
  });
});
