import type { SbmpError } from './errors.js';
import { RingQueue } from './ring-queue.js';

/**
 * A party blocked on a channel: a plain `send`/`recv`, or one case of a pending `select`.
 * A waiter sits in exactly one channel queue. It stops being `pending` when it completes,
 * or, for a select case, when its select completes through another case, times out or
 * is aborted; from then on no channel may commit an operation with it.
 */
export interface Waiter<T> {
  readonly pending: boolean;
  /** The value a blocked sender offers (unused for receivers). */
  readonly value: T | undefined;
  /** Commits the operation: a receiver gets `(value, ok)`; a sender learns its value was taken. */
  complete(value: T | undefined, ok: boolean): void;
  /** The channel closed under a blocked sender. */
  fail(err: SbmpError): void;
}

/**
 * The queue of waiters of one direction on one channel. A select that completes leaves its
 * other cases' waiters behind in other queues; they are skipped when reached and counted,
 * and once they make up half the queue they are swept out, so a channel that is selected on
 * but rarely used does not accumulate dead waiters.
 */
export class WaitQueue<T> {
  readonly #ring = new RingQueue<Waiter<T>>(4);
  /** Waiters in the ring that are no longer pending. Exact: see `forgetOne`. */
  #dead = 0;

  /** Waiters still able to take part. */
  get pendingCount(): number {
    return this.#ring.length - this.#dead;
  }

  push(waiter: Waiter<T>): void {
    this.#ring.push(waiter);
  }

  /** True when a pending waiter is queued; drops dead ones from the front on the way. */
  hasPending(): boolean {
    const ring = this.#ring;
    for (let w = ring.peek(); w !== undefined; w = ring.peek()) {
      if (w.pending) return true;
      ring.shift();
      this.#dead--;
    }
    return false;
  }

  /** Removes and returns the oldest pending waiter, dropping dead ones before it. */
  takePending(): Waiter<T> | undefined {
    const ring = this.#ring;
    for (let w = ring.shift(); w !== undefined; w = ring.shift()) {
      if (w.pending) return w;
      this.#dead--;
    }
    return undefined;
  }

  /**
   * Called once for each waiter of this queue that stopped being pending while still queued
   * (a select finished elsewhere, timed out or was aborted). Sweeps when dead waiters reach
   * half the queue, which keeps sweeping O(1) amortised per forgotten waiter.
   */
  forgetOne(): void {
    this.#dead++;
    if (this.#dead >= 8 && this.#dead * 2 >= this.#ring.length) {
      this.#ring.removeWhere(isDead);
      this.#dead = 0;
    }
  }
}

function isDead(waiter: Waiter<unknown>): boolean {
  return !waiter.pending;
}

/** A receiver blocked in `recv()`. */
export class BlockedReceiver<T> implements Waiter<T> {
  pending = true;
  readonly value: undefined = undefined;
  readonly #resolve: (result: RecvResult<T>) => void;

  constructor(resolve: (result: RecvResult<T>) => void) {
    this.#resolve = resolve;
  }

  complete(value: T | undefined, ok: boolean): void {
    this.pending = false;
    this.#resolve(ok ? { value: value as T, ok: true } : CLOSED_RESULT);
  }

  fail(): void {
    // Receivers never fail: closing a channel completes them with `ok: false`.
    this.complete(undefined, false);
  }
}

/** A sender blocked in `send()`. */
export class BlockedSender<T> implements Waiter<T> {
  pending = true;
  readonly value: T;
  readonly #resolve: () => void;
  readonly #reject: (err: SbmpError) => void;

  constructor(value: T, resolve: () => void, reject: (err: SbmpError) => void) {
    this.value = value;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  complete(): void {
    this.pending = false;
    this.#resolve();
  }

  fail(err: SbmpError): void {
    this.pending = false;
    this.#reject(err);
  }
}

/** What a receive gives: a value, or `ok: false` once the channel is closed and drained. */
export type RecvResult<T> =
  | { readonly value: T; readonly ok: true }
  | { readonly value: undefined; readonly ok: false };

/** Shared, frozen: every receive from a closed, drained channel returns this one object. */
export const CLOSED_RESULT: { readonly value: undefined; readonly ok: false } = Object.freeze({
  value: undefined,
  ok: false,
});
