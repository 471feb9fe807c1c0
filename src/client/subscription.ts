import type { SnapshotsFrame, SubscribeFrame } from '../codec/frame-types.js';
import { SbmpError } from '../core/errors.js';
import { ConflatingMailbox } from '../core/mailbox.js';
import { ReplicaMap } from '../core/replica.js';
import type { DeliveredSnapshot } from './delivery.js';
import { Listeners } from './listeners.js';

/** Called for every snapshot the subscription applies (never for a duplicate, stale or conflicting one). */
export type SnapshotListener<T = unknown> = (
  snapshot: DeliveredSnapshot<T>,
  subscription: Subscription<T>,
) => void;

export interface SubscribeOptions {
  /**
   * Start after this revision instead of from the current state of every matching key: the
   * subscription then receives every matching change made after it (or a full resync when
   * the server no longer has that history).
   */
  readonly sinceRevision?: number;
}

/** What the client drives a subscription through; not part of the public API. */
export interface SubscriptionDriver {
  /** The SUBSCRIBE frame to send on a (new) connection, resuming after the last revision seen. */
  subscribeFrame(): SubscribeFrame;
  /** Delivers one SNAPSHOTS frame whose entries are already decoded. */
  deliver(frame: SnapshotsFrame, snapshots: readonly DeliveredSnapshot[]): void;
  /** The connection is gone; the subscription is no longer caught up until the next `synced`. */
  disconnected(): void;
  /**
   * The server's store has a different history (another epoch), so revisions seen before mean
   * nothing there: the next SUBSCRIBE asks for the full current state, and keys not in it are
   * dropped at its `synced`.
   */
  forgetResumePoint(): void;
  /** The subscription ended for good: `error` for a failure, undefined for an orderly end. */
  end(error?: SbmpError): void;
}

/**
 * A live subscription to the keys matching `pattern`.
 *
 * - `replicas` holds the newest snapshot of every matching key; every delivery goes through
 *   the apply rules, so no key's version ever goes back here, whatever the server sends.
 * - `onSnapshot` listeners and async iteration see each applied snapshot. Iteration is
 *   conflated per key: a slow loop skips to the newest version instead of building a backlog.
 * - `synced` resolves once the initial backlog is in; `onSynced` fires after every catch-up
 *   (again after each reconnect).
 * - After a full resync (the server no longer had the history to resume from, or its store has
 *   a different history: another epoch), keys that are gone are dropped from `replicas`; `replicas.subscribe(onSnapshot, onDrop)` reports them.
 */
export class Subscription<T = unknown> implements AsyncIterable<DeliveredSnapshot<T>> {
  readonly id: number;
  readonly pattern: string;
  readonly replicas = new ReplicaMap<T>();
  /** Resolves with the revision caught up to, the first time the backlog is complete. */
  readonly synced: Promise<number>;
  /** Resolves when the subscription ends by `unsubscribe()` or `client.close()`; rejects when it fails. */
  readonly done: Promise<void>;

  readonly #snapshotListeners: Listeners<DeliveredSnapshot<T>, Subscription<T>>;
  readonly #syncedListeners: Listeners<number>;
  readonly #iterators = new Set<MailboxIterator<T>>();
  readonly #unsubscribe: (subscription: Subscription<T>) => void;
  #resolveSynced!: (revision: number) => void;
  #rejectSynced!: (error: SbmpError) => void;
  #resolveDone!: () => void;
  #rejectDone!: (error: SbmpError) => void;
  #lastRevision: number;
  #isSynced = false;
  #ended = false;
  #error: SbmpError | undefined;
  /** During a full (re)sync: the keys delivered so far; the rest are dropped at `synced`. */
  #resyncKeys: Set<string> | undefined;
  #refusedDuplicate = 0;
  #refusedStale = 0;
  #refusedConflict = 0;

  /** @internal Created by `SbmpClient.subscribe`, which receives the driver through `attach`. */
  constructor(
    id: number,
    pattern: string,
    options: SubscribeOptions,
    unsubscribe: (subscription: Subscription<T>) => void,
    attach: (driver: SubscriptionDriver) => void,
    onListenerError?: (error: unknown) => void,
  ) {
    this.id = id;
    this.pattern = pattern;
    this.#lastRevision = options.sinceRevision ?? 0;
    this.#unsubscribe = unsubscribe;
    this.#snapshotListeners = new Listeners(onListenerError);
    this.#syncedListeners = new Listeners(onListenerError);
    this.synced = new Promise<number>((resolve, reject) => {
      this.#resolveSynced = resolve;
      this.#rejectSynced = reject;
    });
    this.done = new Promise<void>((resolve, reject) => {
      this.#resolveDone = resolve;
      this.#rejectDone = reject;
    });
    // Callers who never await these must not get an unhandled rejection; those who do still see it.
    this.synced.catch(() => {});
    this.done.catch(() => {});
    attach({
      subscribeFrame: () => this.#subscribeFrame(),
      deliver: (frame, snapshots) => this.#deliver(frame, snapshots as readonly DeliveredSnapshot<T>[]),
      disconnected: () => {
        this.#isSynced = false;
      },
      forgetResumePoint: () => {
        this.#lastRevision = 0;
      },
      end: (error) => this.#end(error),
    });
  }

  /** The revision this subscription has seen everything up to; a reconnect resumes after it. */
  get lastRevision(): number {
    return this.#lastRevision;
  }

  /** True while caught up on the current connection. */
  get isSynced(): boolean {
    return this.#isSynced;
  }

  /** True once the subscription ended (unsubscribed, client closed, or failed). */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Deliveries the replicas refused under the apply rules, by result. `duplicate` and `stale`
   * ones are expected after a reconnect, when a resume replays changes the subscription
   * already holds a later version of; on one connection a `stale` or `conflict` delivery means
   * the server broke the rules (`sbmp check` counts them).
   */
  refusedDeliveries(): { readonly duplicate: number; readonly stale: number; readonly conflict: number } {
    return { duplicate: this.#refusedDuplicate, stale: this.#refusedStale, conflict: this.#refusedConflict };
  }

  /** Listens to applied snapshots; returns the function that stops listening. */
  onSnapshot(listener: SnapshotListener<T>): () => void {
    return this.#snapshotListeners.add(listener);
  }

  /** Listens to each catch-up (first subscribe and every resume); returns the function that stops listening. */
  onSynced(listener: (revision: number) => void): () => void {
    return this.#syncedListeners.add(listener);
  }

  /** Ends the subscription; `done` resolves and iteration finishes. Idempotent. */
  unsubscribe(): void {
    if (this.#ended) return;
    this.#unsubscribe(this);
    this.#end();
  }

  /** Each iterator gets its own conflating mailbox: at most one pending snapshot per key. */
  [Symbol.asyncIterator](): AsyncIterator<DeliveredSnapshot<T>> {
    const iterator = new MailboxIterator<T>(() => this.#iterators.delete(iterator));
    if (this.#ended) iterator.end(this.#error);
    else this.#iterators.add(iterator);
    return iterator;
  }

  #subscribeFrame(): SubscribeFrame {
    const resuming = this.#lastRevision > 0;
    // Without a resume point the server sends the current state of every matching key: that is
    // a full sync, and keys held from an earlier connection but absent from it are gone.
    this.#resyncKeys = resuming ? undefined : new Set();
    return resuming
      ? {
          type: 'subscribe',
          subscriptionId: this.id,
          pattern: this.pattern,
          sinceRevision: this.#lastRevision,
        }
      : { type: 'subscribe', subscriptionId: this.id, pattern: this.pattern };
  }

  #deliver(frame: SnapshotsFrame, snapshots: readonly DeliveredSnapshot<T>[]): void {
    if (this.#ended) return;
    if (frame.resync === true) this.#resyncKeys = new Set();
    for (const snapshot of snapshots) {
      this.#resyncKeys?.add(snapshot.key);
      const result = this.replicas.applyResult(snapshot);
      if (result !== 'applied') {
        this.#countRefused(result);
        continue;
      }
      this.#snapshotListeners.emit(snapshot, this);
      // Most subscriptions have no iterators: the loop is skipped for them.
      if (this.#iterators.size > 0) for (const iterator of this.#iterators) iterator.offer(snapshot);
    }
    if (frame.synced === true) {
      this.#caughtUp(frame.revision ?? 0);
      return;
    }
    // Only the frame's revision is a resume point: conflation may deliver a later revision of
    // one key before an earlier one of another, so an entry's own revision is not. A full sync
    // in progress moves nothing: resuming from its middle would skip the drop of vanished keys.
    if (
      frame.revision !== undefined &&
      this.#resyncKeys === undefined &&
      frame.revision > this.#lastRevision
    ) {
      this.#lastRevision = frame.revision;
    }
  }

  #countRefused(result: 'duplicate' | 'stale' | 'conflict'): void {
    if (result === 'duplicate') this.#refusedDuplicate++;
    else if (result === 'stale') this.#refusedStale++;
    else this.#refusedConflict++;
  }

  #caughtUp(revision: number): void {
    if (this.#resyncKeys !== undefined) {
      this.replicas.retainOnly(this.#resyncKeys);
      this.#resyncKeys = undefined;
    }
    if (revision > this.#lastRevision) this.#lastRevision = revision;
    this.#isSynced = true;
    this.#resolveSynced(this.#lastRevision);
    this.#syncedListeners.emit(this.#lastRevision);
  }

  #end(error?: SbmpError): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#isSynced = false;
    this.#error = error;
    const reason =
      error ?? new SbmpError('closed', `subscription to '${this.pattern}' ended before it synced`);
    this.#rejectSynced(reason);
    if (error === undefined) this.#resolveDone();
    else this.#rejectDone(error);
    for (const iterator of this.#iterators) iterator.end(error);
    this.#iterators.clear();
    this.#snapshotListeners.clear();
    this.#syncedListeners.clear();
  }
}

/** Async iteration over a conflating mailbox: `next()` waits for a snapshot or the end. */
class MailboxIterator<T> implements AsyncIterator<DeliveredSnapshot<T>> {
  readonly #mailbox = new ConflatingMailbox<DeliveredSnapshot<T>>();
  readonly #detach: () => void;
  #waiter:
    | { resolve: (r: IteratorResult<DeliveredSnapshot<T>>) => void; reject: (e: unknown) => void }
    | undefined;
  #ended = false;
  #error: SbmpError | undefined;

  constructor(detach: () => void) {
    this.#detach = detach;
  }

  offer(snapshot: DeliveredSnapshot<T>): void {
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter.resolve({ value: snapshot, done: false });
    } else this.#mailbox.offer(snapshot);
  }

  /** Pending snapshots are still handed out before the end (or the error) is reported. */
  end(error?: SbmpError): void {
    this.#ended = true;
    this.#error = error;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter === undefined) return;
    if (error !== undefined) waiter.reject(error);
    else waiter.resolve({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<DeliveredSnapshot<T>>> {
    const snapshot = this.#mailbox.take();
    if (snapshot !== undefined) return Promise.resolve({ value: snapshot, done: false });
    if (this.#ended) {
      const error = this.#error;
      this.#error = undefined;
      return error === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(error);
    }
    if (this.#waiter !== undefined) {
      return Promise.reject(
        new SbmpError('bad_request', 'next() called again before the previous call settled'),
      );
    }
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** `break` out of a `for await` loop: stop receiving. */
  return(): Promise<IteratorResult<DeliveredSnapshot<T>>> {
    this.#detach();
    this.#mailbox.clear();
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }
}
