import type { ApplyResult } from '../core/apply.js';
import type { StoredSnapshot, TraceContext } from '../core/snapshot.js';

/** What a producer hands to `Store.put`. Without `version` the store assigns current+1 atomically. */
export interface SnapshotInput<T = unknown> {
  readonly key: string;
  /** 1..2^53-1; omitted = `next` (or `ifVersion + 1` when `ifVersion` is given). */
  readonly version?: number;
  readonly state: T;
  /** Defaults to the store's clock. */
  readonly ts?: number;
  /** Defaults to the store's source id. */
  readonly source?: string;
  readonly deleted?: boolean;
  readonly contentType?: string;
  readonly trace?: TraceContext;
}

export interface PutOptions {
  /** Compare-and-set: apply only if the current version is exactly this (`0`: key never written). */
  readonly ifVersion?: number;
}

export interface PutOutcome {
  readonly result: ApplyResult;
  /** The applied version, or for `stale`/`conflict` the version currently held (0 when none). */
  readonly version: number;
  /** The revision of the applied change, or of the current snapshot when not applied (0 when none). */
  readonly revision: number;
}

/**
 * Receives the result of `Store.putTo`: exactly one of the two calls, once. `context` is what
 * the caller passed to `putTo`, so one receiver serves every put without a closure per put.
 */
export interface PutReceiver<C> {
  putDone(outcome: PutOutcome, context: C): void;
  /** Everything `put` would reject with: bad input, a closed store, a failed write. */
  putFailed(err: unknown, context: C): void;
}

export interface ListOptions {
  /** Opaque; from the previous page's `cursor`. */
  readonly cursor?: string;
  /** Page size, default 100, at most 1000. */
  readonly limit?: number;
  /** Include tombstones still retained; default false. */
  readonly includeDeleted?: boolean;
}

export interface ListPage {
  readonly items: readonly StoredSnapshot[];
  /** Present when there are more items. */
  readonly cursor?: string;
}

export interface WatchOptions {
  /**
   * Deliver every matching key changed after this revision, then live changes.
   * Omitted: the current state of every matching key (retained tombstones included), then live
   * changes. A revision below the compacted one, or above the store's newest, gets a `resync`.
   */
  readonly sinceRevision?: number;
}

/**
 * Events of a watch, in order:
 * - `resync` first, when `sinceRevision` is older than the retained history: what follows
 *   up to `synced` is the current state of every matching key (retained tombstones included),
 *   and a consumer should drop any key it holds that is not among them.
 * - `snapshot` for each change, in strictly increasing revision order, no gaps or duplicates
 *   at the seam between backlog and live changes (per key only the latest version is needed).
 * - `synced` once the backlog is delivered; everything after it is live.
 */
export type WatchEvent =
  | { readonly kind: 'resync'; readonly compactedRevision: number }
  | { readonly kind: 'snapshot'; readonly snapshot: StoredSnapshot }
  | { readonly kind: 'synced'; readonly revision: number };

export interface Watch extends AsyncIterable<WatchEvent> {
  /** Ends the iteration; pending `next()` calls resolve with `done`. Idempotent. */
  stop(): void;
  /**
   * Hands the events to `listener` as they happen, instead of through iteration: the backlog
   * from the next microtask on (a long one in slices, one turn of the event loop each), then
   * every change synchronously as the store commits it, with no promise or event object per
   * change. Resolves when the watch stops (or the store closes); rejects, and stops the watch,
   * when reading the store fails or the listener throws. A watch is consumed one way: `listen`
   * once, or iteration; mixing them is `bad_request`.
   */
  listen(listener: WatchListener): Promise<void>;
}

/** Receives a watch's events (see `Watch.listen`), in the order iteration would yield them. */
export interface WatchListener {
  /** A `snapshot` event's snapshot. */
  onSnapshot(snapshot: StoredSnapshot): void;
  /** A `resync` or `synced` event. */
  onEvent(event: Exclude<WatchEvent, { readonly kind: 'snapshot' }>): void;
}

export interface RetentionPolicy {
  /** Tombstones older than this are removed by `compact`. */
  readonly tombstoneMs?: number;
  /**
   * The resume window, in revisions: tombstones more than this many revisions behind the newest
   * are removed by `compact` too. (The revision index holds one entry per retained key, so
   * removing a tombstone removes its entry.)
   */
  readonly maxRevisions?: number;
}

export interface CompactOutcome {
  readonly removedTombstones: number;
  /** Revision-index entries removed: one per removed tombstone. */
  readonly removedRevisions: number;
  /** Watches resuming from a revision below this get a full resync. */
  readonly compactedRevision: number;
}

/** What an implementation supports; callers read this instead of branching on the kind. */
export interface StoreCapabilities {
  /** Acknowledged puts survive a process crash. */
  readonly durable: boolean;
  /** Acknowledged puts survive power loss (the OS page cache is flushed before acknowledging). */
  readonly syncedToDisk: boolean;
  /** Replicated across machines. */
  readonly replicated: boolean;
}

export interface Store {
  readonly kind: string;
  readonly capabilities: StoreCapabilities;
  /**
   * A random id fixed when the store's history began: the same across restarts of a durable
   * store on the same data, a new one when the history is new (a fresh memory store, a wiped or
   * replaced data file; a restored copy of a data file carries the copy's). Revisions are
   * comparable only within one epoch, so a consumer resuming by revision must check it first.
   */
  readonly epoch: string;
  /** Applies `snapshot` under the apply rules. Resolves only once the outcome is durable (for durable stores). */
  put(snapshot: SnapshotInput, options?: PutOptions): Promise<PutOutcome>;
  /**
   * Optional: `put`, with the result handed to `receiver` instead of a promise, for callers on
   * the hot path (every WebSocket publish), where a promise and its reactions per layer were the
   * largest share of the server's allocation per publish. Never throws; may call `receiver`
   * before returning. Call it through `putVia`, which falls back to `put` for stores without it.
   */
  putTo?<C>(
    snapshot: SnapshotInput,
    options: PutOptions | undefined,
    receiver: PutReceiver<C>,
    context: C,
  ): void;
  /** The current snapshot of `key`, tombstones included (`deleted: true`), or undefined. */
  get(key: string): Promise<StoredSnapshot | undefined>;
  /** Keys starting with `prefix`, in key order. */
  list(prefix: string, options?: ListOptions): Promise<ListPage>;
  watch(pattern: string, options?: WatchOptions): Watch;
  compact(retention?: RetentionPolicy): Promise<CompactOutcome>;
  /** The latest revision assigned (0 for an empty store). */
  currentRevision(): number;
  /** Flushes and closes. Later calls fail with `closed`. Watches end. */
  close(): Promise<void>;
}
