import type { ErrorFrame, Frame, SnapshotsFrame, StateEncoding } from '../codec/frame-types.js';
import { SbmpError } from '../core/errors.js';
import type { KeyPattern } from '../core/key.js';
import { compilePattern } from '../core/key.js';
import type { ResolvedReconnectOptions } from './backoff.js';
import { backoffDelay } from './backoff.js';
import { errorFromFrame } from './connection.js';
import type { DeliveredSnapshot } from './delivery.js';
import { decodeDelivery } from './delivery.js';
import type { SnapshotListener, SubscribeOptions, SubscriptionDriver } from './subscription.js';
import { Subscription } from './subscription.js';

interface SubscriptionRecord {
  readonly subscription: Subscription;
  readonly driver: SubscriptionDriver;
  readonly pattern: KeyPattern;
  retryTimer: ReturnType<typeof setTimeout> | undefined;
  retryAttempt: number;
}

export interface SubscriptionSetOptions {
  readonly encoding: StateEncoding;
  /** Spacing of re-subscriptions after a temporary refusal (overload). */
  readonly reconnect: ResolvedReconnectOptions;
  /** Sends on the current connection; a no-op while there is none. */
  readonly send: (frame: Frame) => void;
  /** Errors that belong to no call: bad deliveries, throwing listeners. */
  readonly report: (error: unknown) => void;
}

/**
 * A client's live subscriptions: creates them, (re)sends their SUBSCRIBE frames on each new
 * connection, routes SNAPSHOTS frames to them, and handles the server refusing one.
 */
export class SubscriptionSet {
  readonly #records = new Map<number, SubscriptionRecord>();
  readonly #options: SubscriptionSetOptions;
  #nextId = 1;

  constructor(options: SubscriptionSetOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#records.size;
  }

  /** Creates a subscription and sends its SUBSCRIBE now when connected (else at the next connection). */
  add<T>(
    pattern: string,
    onSnapshot: SnapshotListener<T> | undefined,
    options: SubscribeOptions,
  ): Subscription<T> {
    const compiled = compilePattern(pattern);
    const since = options.sinceRevision;
    if (since !== undefined && !(Number.isSafeInteger(since) && since >= 0)) {
      throw new SbmpError('bad_request', `sinceRevision must be a non-negative integer, got ${since}`);
    }
    const id = this.#nextId++;
    let driver: SubscriptionDriver | undefined;
    const subscription = new Subscription<T>(
      id,
      pattern,
      options,
      () => this.#remove(id),
      (attached) => {
        driver = attached;
      },
      this.#options.report,
    );
    if (onSnapshot !== undefined) subscription.onSnapshot(onSnapshot);
    const record: SubscriptionRecord = {
      subscription: subscription as Subscription,
      driver: driver!,
      pattern: compiled,
      retryTimer: undefined,
      retryAttempt: 0,
    };
    this.#records.set(id, record);
    this.#options.send(record.driver.subscribeFrame());
    return subscription;
  }

  /**
   * A new connection: every subscription resumes from the last revision it saw, or, when the
   * server's store has a different history (`historyChanged`), syncs the full current state.
   */
  connected(historyChanged = false): void {
    for (const record of this.#records.values()) {
      if (historyChanged) record.driver.forgetResumePoint();
      this.#options.send(record.driver.subscribeFrame());
    }
  }

  disconnected(): void {
    for (const record of this.#records.values()) {
      clearTimeout(record.retryTimer);
      record.retryTimer = undefined;
      record.driver.disconnected();
    }
  }

  /** Applies a SNAPSHOTS frame; its entries are consumed (they become the delivered snapshots). */
  deliver(frame: SnapshotsFrame): void {
    const record = this.#records.get(frame.subscriptionId);
    // Frames for a subscription just ended may still be on the wire.
    if (record === undefined) return;
    const snapshots: DeliveredSnapshot[] = [];
    const replicas = record.subscription.replicas;
    for (const entry of frame.entries) {
      // A delivery that breaks the protocol is reported and skipped, never applied.
      try {
        // A key already held keeps its string: the new snapshot then holds no string of its
        // own, one object fewer for every garbage collection to copy.
        const heldKey = replicas.get(entry.key)?.key;
        snapshots.push(decodeDelivery(entry, record.pattern, this.#options.encoding, heldKey));
      } catch (error) {
        this.#options.report(error);
      }
    }
    record.driver.deliver(frame, snapshots);
  }

  /** The server refused a subscription: retried when temporary (overload), else it ends with the error. */
  refused(frame: ErrorFrame & { subscriptionId: number }): void {
    const record = this.#records.get(frame.subscriptionId);
    if (record === undefined) return;
    const error = errorFromFrame(frame.code, frame.message, { subscriptionId: frame.subscriptionId });
    if (!error.retryable) {
      this.#records.delete(frame.subscriptionId);
      record.driver.end(error);
      return;
    }
    record.driver.disconnected();
    clearTimeout(record.retryTimer);
    record.retryTimer = setTimeout(
      () => {
        record.retryTimer = undefined;
        if (this.#records.get(record.subscription.id) === record) {
          this.#options.send(record.driver.subscribeFrame());
        }
      },
      backoffDelay(record.retryAttempt++, this.#options.reconnect),
    );
  }

  /** Ends every subscription: orderly (`done` resolves) without `error`, failed with it. */
  endAll(error: SbmpError | undefined): void {
    const records = [...this.#records.values()];
    this.#records.clear();
    for (const record of records) {
      clearTimeout(record.retryTimer);
      record.driver.end(error);
    }
  }

  #remove(id: number): void {
    const record = this.#records.get(id);
    if (record === undefined) return;
    this.#records.delete(id);
    clearTimeout(record.retryTimer);
    this.#options.send({ type: 'unsubscribe', subscriptionId: id });
  }
}
