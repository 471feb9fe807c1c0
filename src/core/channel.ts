import {
  BlockedReceiver,
  BlockedSender,
  CLOSED_RESULT,
  type RecvResult,
  type Waiter,
  WaitQueue,
} from './channel-waiters.js';
import { SbmpError } from './errors.js';
import { nextPowerOfTwo, RingQueue } from './ring-queue.js';

export type { RecvResult } from './channel-waiters.js';

/** Largest channel capacity: 2^30 buffered values (the ring of slots grows on demand up to it). */
export const MAX_CHANNEL_CAPACITY = 2 ** 30;

/** The buffer ring starts this small and doubles on demand, so a large capacity costs nothing up front. */
const INITIAL_BUFFER_SLOTS = 16;

/** One resolved promise shared by every `send` that completes at once: no allocation on the fast path. */
const SENT: Promise<void> = Promise.resolve();

/** A receive case for `select`, made by `channel.recvCase()`. */
export interface RecvCase<T> {
  readonly kind: 'recv';
  readonly channel: Channel<T>;
}

/** A send case for `select`, made by `channel.sendCase(value)`. */
export interface SendCase<T> {
  readonly kind: 'send';
  readonly channel: Channel<T>;
  readonly value: T;
}

// The operations `select` needs beyond the public API, keyed by symbols that are not
// exported from the package, so they stay off the public surface.
export const canRecvNow: unique symbol = Symbol('sbmp.channel.canRecvNow');
export const canSendNow: unique symbol = Symbol('sbmp.channel.canSendNow');
export const waitToRecv: unique symbol = Symbol('sbmp.channel.waitToRecv');
export const waitToSend: unique symbol = Symbol('sbmp.channel.waitToSend');
export const forgetReceiver: unique symbol = Symbol('sbmp.channel.forgetReceiver');
export const forgetSender: unique symbol = Symbol('sbmp.channel.forgetSender');

/**
 * A channel with Go's semantics.
 *
 * - Capacity 0 (the default) is unbuffered: a send completes only when a receiver takes the
 *   value. Capacity n buffers up to n values; a send waits while the buffer is full.
 * - Values come out in the order they went in; blocked senders and receivers are served
 *   first come, first served.
 * - `close()` refuses further sends (`closed`), rejects senders still blocked (`closed`,
 *   where Go would panic), lets receivers drain the buffer, and then every receive gives
 *   `{ value: undefined, ok: false }`. Closing twice throws `closed`, as Go panics.
 * - `for await (const v of channel)` ends once the channel is closed and drained.
 *
 * For batch loops, `trySend` and `tryRecv` complete synchronously without a promise.
 */
export class Channel<T> {
  readonly #capacity: number;
  readonly #buffer: RingQueue<T>;
  readonly #receivers = new WaitQueue<T>();
  readonly #senders = new WaitQueue<T>();
  #closed = false;

  /**
   * @param capacity how many values the channel buffers: an integer from 0 (unbuffered, the
   *   default) to `MAX_CHANNEL_CAPACITY` (2^30); anything else throws `bad_config`.
   */
  constructor(capacity = 0) {
    if (!Number.isInteger(capacity) || capacity < 0 || capacity > MAX_CHANNEL_CAPACITY) {
      throw new SbmpError(
        'bad_config',
        `capacity must be an integer from 0 to ${MAX_CHANNEL_CAPACITY}, got ${String(capacity)}`,
        {
          details: { option: 'capacity', value: typeof capacity === 'number' ? capacity : String(capacity) },
        },
      );
    }
    this.#capacity = capacity;
    this.#buffer = new RingQueue<T>(Math.min(nextPowerOfTwo(capacity), INITIAL_BUFFER_SLOTS));
  }

  /** How many values the channel buffers (0: unbuffered). */
  get capacity(): number {
    return this.#capacity;
  }

  /** How many values are buffered now. */
  get length(): number {
    return this.#buffer.length;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Senders (plain or select cases) blocked on this channel now. */
  get sendersWaiting(): number {
    return this.#senders.pendingCount;
  }

  /** Receivers (plain or select cases) blocked on this channel now. */
  get receiversWaiting(): number {
    return this.#receivers.pendingCount;
  }

  /**
   * Sends without waiting: hands `value` to a waiting receiver or buffers it and returns
   * true; returns false when it would have to wait. Throws `closed` on a closed channel.
   */
  trySend(value: T): boolean {
    if (this.#closed) throw closedError('send on a closed channel');
    const receiver = this.#receivers.takePending();
    if (receiver !== undefined) {
      receiver.complete(value, true);
      return true;
    }
    if (this.#buffer.length < this.#capacity) {
      this.#buffer.push(value);
      return true;
    }
    return false;
  }

  /**
   * Sends `value`, waiting while the buffer is full (or, unbuffered, until a receiver takes
   * it). Rejects with `closed` if the channel is closed, now or while waiting. When the
   * send completes at once the returned promise is a shared, already resolved one.
   */
  send(value: T): Promise<void> {
    if (this.#closed) return Promise.reject(closedError('send on a closed channel'));
    if (this.trySend(value)) return SENT;
    return new Promise<void>((resolve, reject) => {
      this.#senders.push(new BlockedSender(value, resolve, reject));
    });
  }

  /**
   * Receives without waiting: the next value, `{ value: undefined, ok: false }` when the
   * channel is closed and drained, or `undefined` when a receive would have to wait.
   */
  tryRecv(): RecvResult<T> | undefined {
    if (this.#buffer.length > 0) {
      const value = this.#buffer.shift() as T;
      // The buffer has room again: the longest-waiting sender moves its value in, as in Go.
      const sender = this.#senders.takePending();
      if (sender !== undefined) {
        this.#buffer.push(sender.value as T);
        sender.complete(undefined, true);
      }
      return { value, ok: true };
    }
    const sender = this.#senders.takePending();
    if (sender !== undefined) {
      const value = sender.value as T;
      sender.complete(undefined, true);
      return { value, ok: true };
    }
    return this.#closed ? CLOSED_RESULT : undefined;
  }

  /**
   * Receives the next value, waiting for one. Resolves `{ value, ok: true }`, or
   * `{ value: undefined, ok: false }` once the channel is closed and drained.
   */
  recv(): Promise<RecvResult<T>> {
    const ready = this.tryRecv();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise<RecvResult<T>>((resolve) => {
      this.#receivers.push(new BlockedReceiver<T>(resolve));
    });
  }

  /**
   * Closes the channel: blocked receivers get `ok: false` (there are none while values are
   * buffered), blocked senders are rejected with `closed`, buffered values stay receivable.
   * Throws `closed` if the channel is already closed.
   */
  close(): void {
    if (this.#closed) throw closedError('close of a closed channel');
    this.#closed = true;
    // Taken one at a time: completing a select case can forget its other waiters in these
    // same queues, which must still be in them to be counted.
    for (let r = this.#receivers.takePending(); r !== undefined; r = this.#receivers.takePending()) {
      r.complete(undefined, false);
    }
    for (let s = this.#senders.takePending(); s !== undefined; s = this.#senders.takePending()) {
      s.fail(closedError('channel closed while a send was waiting'));
    }
  }

  /** A case for `select` that receives from this channel. */
  recvCase(): RecvCase<T> {
    return { kind: 'recv', channel: this };
  }

  /** A case for `select` that sends `value` on this channel. */
  sendCase(value: T): SendCase<T> {
    return { kind: 'send', channel: this, value };
  }

  /** Iterates received values; ends once the channel is closed and drained. */
  [Symbol.asyncIterator](): AsyncIterableIterator<T, undefined> {
    const next = (): Promise<IteratorResult<T, undefined>> => this.recv().then(toIteratorResult<T>);
    return {
      next,
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /** True when a receive would complete at once (value, waiting sender, or closed). */
  [canRecvNow](): boolean {
    return this.#buffer.length > 0 || this.#senders.hasPending() || this.#closed;
  }

  /** True when a send would complete at once; false on a closed channel. */
  [canSendNow](): boolean {
    if (this.#closed) return false;
    return this.#buffer.length < this.#capacity || this.#receivers.hasPending();
  }

  /** Queues a select's receive case; the caller has checked that no receive is ready. */
  [waitToRecv](waiter: Waiter<T>): void {
    this.#receivers.push(waiter);
  }

  /** Queues a select's send case; the caller has checked that no send is ready. */
  [waitToSend](waiter: Waiter<T>): void {
    this.#senders.push(waiter);
  }

  /** A select's queued receive case stopped being pending without being taken. */
  [forgetReceiver](): void {
    this.#receivers.forgetOne();
  }

  /** A select's queued send case stopped being pending without being taken. */
  [forgetSender](): void {
    this.#senders.forgetOne();
  }
}

function toIteratorResult<T>(result: RecvResult<T>): IteratorResult<T, undefined> {
  return result.ok ? { value: result.value, done: false } : { value: undefined, done: true };
}

function closedError(message: string): SbmpError {
  return new SbmpError('closed', message);
}
