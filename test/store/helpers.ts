import assert from 'node:assert/strict';
import type { Store, StoredSnapshot, Watch, WatchEvent } from '../../src/index.js';
import { isSbmpError } from '../../src/index.js';
import type {
  PutOptions,
  PutOutcome,
  PutReceiver,
  RetentionPolicy,
  SnapshotInput,
  WatchOptions,
} from '../../src/store/types.js';

/** Options every store implementation accepts, so the contract suite can set limits and time. */
export interface ContractStoreOptions {
  readonly clock?: () => number;
  readonly maxStateBytes?: number;
  readonly source?: string;
  readonly retention?: RetentionPolicy;
}

export interface StoreFactory {
  readonly name: string;
  /** A new, empty store. */
  create(options?: ContractStoreOptions): Promise<Store>;
}

/** Asserts that `promise` rejects with an `SbmpError` of `code`. */
export async function rejectsCode(promise: Promise<unknown>, code: string, what = ''): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isSbmpError(err), `${what}: expected SbmpError, got ${String(err)}`);
    assert.equal(err.code, code, `${what}: ${err.message}`);
    return true;
  });
}

/** Asserts that `fn` throws an `SbmpError` of `code` synchronously. */
export function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => isSbmpError(err) && err.code === code);
}

/** Rejects after `ms` unless `promise` settles first, naming what was awaited. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Reads events from `watch` until `done(event)` says stop; bounded in time and count. */
export async function collect(
  watch: Watch,
  done: (event: WatchEvent, events: readonly WatchEvent[]) => boolean,
  { timeoutMs = 5000, maxEvents = 100_000 } = {},
): Promise<WatchEvent[]> {
  const iterator = watch[Symbol.asyncIterator]();
  const events: WatchEvent[] = [];
  const deadline = Date.now() + timeoutMs;
  while (events.length < maxEvents) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    const next = await within(iterator.next(), left, `watch events (have ${events.length})`);
    if (next.done) return events;
    events.push(next.value);
    if (done(next.value, events)) return events;
  }
  throw new Error(`watch did not finish: ${events.length} events, last ${JSON.stringify(events.at(-1))}`);
}

/** The snapshots among `events`. */
export function snapshotsOf(events: readonly WatchEvent[]): StoredSnapshot[] {
  return events.flatMap((e) => (e.kind === 'snapshot' ? [e.snapshot] : []));
}

/** Asserts that snapshot revisions strictly increase (no duplicate, no reordering). */
export function assertIncreasingRevisions(snapshots: readonly StoredSnapshot[]): void {
  for (let i = 1; i < snapshots.length; i++) {
    assert.ok(
      snapshots[i]!.revision > snapshots[i - 1]!.revision,
      `revision ${snapshots[i]!.revision} after ${snapshots[i - 1]!.revision} (event ${i})`,
    );
  }
}

/** Every stored snapshot under `prefix`, tombstones included, following cursors. */
export async function listAll(store: Store, prefix: string): Promise<StoredSnapshot[]> {
  const all: StoredSnapshot[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 10_000; page++) {
    const result = await store.list(prefix, { cursor, limit: 1000, includeDeleted: true });
    all.push(...result.items);
    cursor = result.cursor;
    if (cursor === undefined) return all;
  }
  throw new Error('listing did not end');
}

/** A deterministic pseudo-random generator (mulberry32), so a failure can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `factory`, except that each store's watches are consumed through `Watch.listen`: the watch
 * handed to the test is iterated as usual, fed by a listener, so every watch test also checks
 * that listening delivers exactly what iterating does.
 */
export function listeningFactory(factory: StoreFactory): StoreFactory {
  return {
    name: `${factory.name} (watches listened to)`,
    async create(options?: ContractStoreOptions) {
      const store = await factory.create(options);
      return new Proxy(store, {
        get(target, prop) {
          if (prop === 'watch') {
            return (pattern: string, watchOptions?: WatchOptions) =>
              iterateByListening(target.watch(pattern, watchOptions));
          }
          const value: unknown = Reflect.get(target, prop, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    },
  };
}

/**
 * The stores of `factory` with `put` going through `putTo` (which every built-in store has),
 * so the contract's put tests check the callback path too. The receiver is asserted to be
 * called exactly once.
 */
export function putToFactory(factory: StoreFactory): StoreFactory {
  return {
    name: `${factory.name} (puts through putTo)`,
    async create(options?: ContractStoreOptions) {
      const store = await factory.create(options);
      assert.equal(typeof store.putTo, 'function', `${factory.name} has putTo`);
      return new Proxy(store, {
        get(target, prop) {
          if (prop === 'put') {
            return (snapshot: SnapshotInput, putOptions?: PutOptions) =>
              new Promise<PutOutcome>((resolve, reject) => {
                let calls = 0;
                const once = () => assert.equal(++calls, 1, 'the receiver is called once');
                target.putTo!(snapshot, putOptions, RECEIVER, { resolve, reject, once });
              });
          }
          const value: unknown = Reflect.get(target, prop, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    },
  };
}

interface Settle {
  resolve(outcome: PutOutcome): void;
  reject(err: unknown): void;
  once(): void;
}

const RECEIVER: PutReceiver<Settle> = {
  putDone(outcome, settle) {
    settle.once();
    settle.resolve(outcome);
  },
  putFailed(err, settle) {
    settle.once();
    settle.reject(err);
  },
};

/** A watch whose iterator is fed by `watch.listen`; stopping it (or the store closing) drops what is queued, as iterating does. */
function iterateByListening(watch: Watch): Watch {
  const queued: WatchEvent[] = [];
  const waiting: { resolve: (r: IteratorResult<WatchEvent>) => void; reject: (err: unknown) => void }[] = [];
  let ended = false;
  let failure: unknown;
  const push = (event: WatchEvent) => {
    const waiter = waiting.shift();
    if (waiter !== undefined) waiter.resolve({ value: event, done: false });
    else queued.push(event);
  };
  const end = (err?: unknown) => {
    ended = true;
    queued.length = 0;
    // Like iteration: a failure rejects the calls waiting, or else the next call, once.
    if (err !== undefined && waiting.length === 0) failure = err;
    for (const waiter of waiting.splice(0)) {
      if (err === undefined) waiter.resolve({ value: undefined, done: true });
      else waiter.reject(err);
    }
  };
  watch
    .listen({ onSnapshot: (snapshot) => push({ kind: 'snapshot', snapshot }), onEvent: push })
    .then(() => end(), end);
  const iterator: AsyncIterator<WatchEvent> = {
    next() {
      const event = queued.shift();
      if (event !== undefined) return Promise.resolve({ value: event, done: false });
      if (failure !== undefined) {
        const err = failure;
        failure = undefined;
        return Promise.reject(err);
      }
      if (ended) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    async return() {
      watch.stop();
      return { value: undefined, done: true };
    },
  };
  return {
    stop: () => watch.stop(),
    listen: (listener) => watch.listen(listener),
    [Symbol.asyncIterator]: () => iterator,
  };
}
