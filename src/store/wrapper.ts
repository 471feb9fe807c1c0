import type { StoredSnapshot } from '../core/snapshot.js';
import { putByPromise } from './put-via.js';
import type {
  CompactOutcome,
  ListOptions,
  ListPage,
  PutOptions,
  PutOutcome,
  PutReceiver,
  RetentionPolicy,
  SnapshotInput,
  Store,
  StoreCapabilities,
  Watch,
  WatchOptions,
} from './types.js';

/** The request-shaped store calls, the ones a wrapper may time, guard or refuse. */
export type StoreRequest = 'put' | 'get' | 'list' | 'compact';

/**
 * One store call with its arguments passed alongside rather than captured: `put` runs on every
 * publish, and a closure per call per wrapper was a tenth of the server's heap allocation per
 * publish (heap sampling of the 1 -> 1 benchmark).
 */
export type StoreCall<A, B, T> = (store: Store, a: A, b: B) => Promise<T>;

const PUT: StoreCall<SnapshotInput, PutOptions | undefined, PutOutcome> = (store, snapshot, options) =>
  store.put(snapshot, options);
const GET: StoreCall<string, undefined, StoredSnapshot | undefined> = (store, key) => store.get(key);
const LIST: StoreCall<string, ListOptions | undefined, ListPage> = (store, prefix, options) =>
  store.list(prefix, options);
const COMPACT: StoreCall<RetentionPolicy | undefined, undefined, CompactOutcome> = (store, retention) =>
  store.compact(retention);

/**
 * A Store around another one: `put`, `get`, `list` and `compact` go through `around` (and
 * `putTo` through `put`, unless the wrapper overrides it), and the rest (`kind`,
 * `capabilities`, `epoch`, `watch`, `currentRevision`, `close`) passes straight to the inner
 * store: a watch is long-lived, and the others do no I/O worth intercepting.
 */
export abstract class StoreWrapper implements Store {
  protected readonly inner: Store;

  constructor(inner: Store) {
    this.inner = inner;
  }

  /** Runs `call(this.inner, a, b)`, the inner store's `request`, with whatever the wrapper adds. */
  protected abstract around<A, B, T>(request: StoreRequest, call: StoreCall<A, B, T>, a: A, b: B): Promise<T>;

  /** `call` on the inner store, a synchronous throw turned into a rejection, so wrappers see one kind of failure. */
  protected callInner<A, B, T>(call: StoreCall<A, B, T>, a: A, b: B): Promise<T> {
    try {
      return call(this.inner, a, b);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  get kind(): string {
    return this.inner.kind;
  }

  get capabilities(): StoreCapabilities {
    return this.inner.capabilities;
  }

  get epoch(): string {
    return this.inner.epoch;
  }

  put(snapshot: SnapshotInput, options?: PutOptions): Promise<PutOutcome> {
    return this.around('put', PUT, snapshot, options);
  }

  /** `put` with its promise settled into `receiver`; a wrapper on the hot path overrides it without the promise. */
  putTo<C>(
    snapshot: SnapshotInput,
    options: PutOptions | undefined,
    receiver: PutReceiver<C>,
    context: C,
  ): void {
    putByPromise(this, snapshot, options, receiver, context);
  }

  get(key: string): Promise<StoredSnapshot | undefined> {
    return this.around('get', GET, key, undefined);
  }

  list(prefix: string, options?: ListOptions): Promise<ListPage> {
    return this.around('list', LIST, prefix, options);
  }

  compact(retention?: RetentionPolicy): Promise<CompactOutcome> {
    return this.around('compact', COMPACT, retention, undefined);
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
