import type { SbmpError } from '../../core/errors.js';
import { asSbmpError } from '../publish.js';
import type { OutboundSnapshot } from './outbound.js';
import type { Batch, Subscription, SubscriptionOwner } from './subscription.js';

/** How a subscriber's bytes reach its consumer: a WebSocket, or an SSE response. */
export interface DeliveryTransport {
  /** Bytes handed to the transport that its socket has not taken yet. */
  readonly bufferedBytes: number;
  /** Bytes `out` adds to a batch in this transport's format (for the batch budget). */
  sizeOf(out: OutboundSnapshot): number;
  /** Writes one batch of one subscription. */
  write(subscription: Subscription, batch: Batch): void;
  /** A subscription has more keys pending than allowed: the consumer is dropped as too slow. */
  slow(subscription: Subscription): void;
  /** A subscription failed (its backlog could not be read) and is closed. */
  failed(subscription: Subscription, error: SbmpError): void;
}

export interface SubscriberOptions {
  /** Stop writing while the transport holds more than this (see `ServerLimits.sendHighWaterBytes`). */
  readonly highWaterBytes: number;
  /** Largest batch: the frame budget for WebSocket, a write's worth for SSE. */
  readonly batchBytes: number;
}

/**
 * The write side of one consumer (a WebSocket connection or an SSE stream) with any number of
 * subscriptions. Offers only mark a subscription dirty; one flush per event-loop turn then
 * writes batches, so a burst of changes becomes a few large writes instead of many small ones.
 *
 * Backpressure: while the transport holds more than `highWaterBytes` unsent, nothing is
 * written; the subscriptions' mailboxes keep conflating (one pending snapshot per key), and
 * writing resumes when the transport reports it drained. A consumer that stops reading thus
 * costs at most its buffered bytes plus one snapshot per pending key.
 */
export class Subscriber implements SubscriptionOwner {
  readonly #transport: DeliveryTransport;
  readonly #highWaterBytes: number;
  readonly #batchBytes: number;
  readonly #sizeOf: (out: OutboundSnapshot) => number;
  readonly #dirty = new Set<Subscription>();
  #scheduled = false;
  #waitingForDrain = false;
  #closed = false;
  #batches = 0;

  constructor(transport: DeliveryTransport, options: SubscriberOptions) {
    this.#transport = transport;
    this.#highWaterBytes = options.highWaterBytes;
    this.#batchBytes = options.batchBytes;
    this.#sizeOf = (out) => transport.sizeOf(out);
  }

  /** True while writing is paused until the transport drains. */
  get waitingForDrain(): boolean {
    return this.#waitingForDrain;
  }

  get batchesWritten(): number {
    return this.#batches;
  }

  wake(subscription: Subscription): void {
    if (this.#closed) return;
    this.#dirty.add(subscription);
    this.#schedule();
  }

  overflow(subscription: Subscription): void {
    if (!this.#closed) this.#transport.slow(subscription);
  }

  failed(subscription: Subscription, error: SbmpError): void {
    this.#dirty.delete(subscription);
    if (!this.#closed) this.#transport.failed(subscription, error);
  }

  /** The transport's buffer fell below the low-water mark: writing may resume. */
  drained(): void {
    if (!this.#waitingForDrain || this.#closed) return;
    this.#waitingForDrain = false;
    this.#schedule();
  }

  /** A subscription went away: nothing more is written for it. */
  forget(subscription: Subscription): void {
    this.#dirty.delete(subscription);
  }

  /** Stops all writing for good. */
  close(): void {
    this.#closed = true;
    this.#dirty.clear();
  }

  /** Writes everything pending now, ignoring the per-turn batching (used before a graceful close). */
  flushNow(): void {
    this.#flush();
  }

  #schedule(): void {
    if (this.#scheduled || this.#waitingForDrain) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    if (this.#closed) return;
    // Round robin: one batch per dirty subscription per pass, so one busy pattern cannot
    // starve the others on the same connection.
    while (this.#dirty.size > 0) {
      for (const subscription of this.#dirty) {
        if (this.#closed) return;
        if (this.#transport.bufferedBytes >= this.#highWaterBytes) {
          this.#waitingForDrain = true;
          return;
        }
        try {
          const batch = subscription.takeBatch(this.#sizeOf, this.#batchBytes);
          if (batch !== undefined) {
            this.#batches++;
            this.#transport.write(subscription, batch);
          }
        } catch (err) {
          // A snapshot that cannot be encoded fails its subscription, not the whole process.
          this.#dirty.delete(subscription);
          subscription.close();
          this.#transport.failed(subscription, asSbmpError(err));
          continue;
        }
        if (!subscription.writable) this.#dirty.delete(subscription);
      }
    }
  }
}
