import type { StoredSnapshot } from '../core/snapshot.js';
import type {
  CompactOutcome,
  ListOptions,
  ListPage,
  PutOptions,
  PutOutcome,
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
 * A Store around another one: `put`, `get`, `list` and `compact` go through `around`, and the
 * rest (`kind`, `capabilities`, `epoch`, `watch`, `currentRevision`, `close`) passes straight
 * to the inner store: a watch is long-lived, and the others do no I/O worth intercepting.
 */
export abstract class StoreWrapper implements Store {
  protected readonly inner: Store;

  constructor(inner: Store) {
    this.inner = inner;
  }

  /** Runs `call`, the inner store's `request`, with whatever the wrapper adds. */
  protected abstract around<T>(request: StoreRequest, call: () => Promise<T>): Promise<T>;

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
    return this.around('put', () => this.inner.put(snapshot, options));
  }

  get(key: string): Promise<StoredSnapshot | undefined> {
    return this.around('get', () => this.inner.get(key));
  }

  list(prefix: string, options?: ListOptions): Promise<ListPage> {
    return this.around('list', () => this.inner.list(prefix, options));
  }

  compact(retention?: RetentionPolicy): Promise<CompactOutcome> {
    return this.around('compact', () => this.inner.compact(retention));
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
