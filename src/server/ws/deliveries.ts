import type { StateEncoding } from '../../codec/frame-types.js';
import type { SnapshotsHeader } from '../../codec/frames.js';
import {
  encodeSnapshotsFrame,
  SNAPSHOTS_FRAME_OVERHEAD_MAX,
  snapshotEntryFrameBytes,
} from '../../codec/frames.js';
import { SbmpError } from '../../core/errors.js';
import type { DeliveryTransport } from '../fanout/subscriber.js';
import { Subscriber } from '../fanout/subscriber.js';
import type { Batch, Subscription } from '../fanout/subscription.js';
import type { ServerMetrics } from '../metrics.js';
import { observeDeliveryAge } from '../metrics.js';
import { startDeliverySpan } from '../observability/tracing.js';

/** What the WebSocket deliveries need from their connection. */
export interface WsDeliveryHooks {
  /**
   * Queues one frame. The connection must call `sent` with the frame's bytes once the socket
   * has taken it (or failed to), in one call per WebSocket message for all the frames it holds.
   */
  send(bytes: Uint8Array): void;
  slow(subscription: Subscription): void;
  failed(subscription: Subscription, error: SbmpError): void;
}

export interface WsDeliveryOptions {
  readonly encoding: StateEncoding;
  readonly maxFrameBytes: number;
  readonly highWaterBytes: number;
  readonly metrics: ServerMetrics;
  /** The connection's id, named in delivery spans. */
  readonly connection?: number;
}

/**
 * Writes subscriptions' batches to one WebSocket as SNAPSHOTS frames. Each frame is assembled
 * from entries encoded once per snapshot (shared with every other subscriber), and cut to fit
 * `maxFrameBytes`. Every frame carries the subscription's resume point in `revision` once it has
 * one, so a client resumes from there rather than from the highest entry revision it saw
 * (conflation can deliver a newer key before an older one).
 *
 * Unsent bytes are counted from `send` to the socket taking them; above the high-water mark the
 * subscriber stops writing until they fall to half of it.
 */
export class WsDeliveries implements DeliveryTransport {
  readonly subscriber: Subscriber;
  readonly #hooks: WsDeliveryHooks;
  #encoding: StateEncoding;
  readonly #metrics: ServerMetrics;
  readonly #connection: number;
  readonly #lowWaterBytes: number;
  /** Largest entry that still fits one frame with its header. */
  readonly #maxEntryBytes: number;
  #unsentBytes = 0;
  #delivered = 0;

  constructor(hooks: WsDeliveryHooks, options: WsDeliveryOptions) {
    this.#hooks = hooks;
    this.#encoding = options.encoding;
    this.#metrics = options.metrics;
    this.#connection = options.connection ?? 0;
    this.#lowWaterBytes = Math.floor(options.highWaterBytes / 2);
    this.#maxEntryBytes = options.maxFrameBytes - SNAPSHOTS_FRAME_OVERHEAD_MAX;
    this.subscriber = new Subscriber(this, {
      highWaterBytes: options.highWaterBytes,
      batchBytes: this.#maxEntryBytes,
    });
  }

  get bufferedBytes(): number {
    return this.#unsentBytes;
  }

  get delivered(): number {
    return this.#delivered;
  }

  /** The encoding the client chose in HELLO; set before anything is subscribed. */
  set encoding(encoding: StateEncoding) {
    this.#encoding = encoding;
  }

  /**
   * The socket has taken `bytes` bytes of frames (or the connection closed before it could).
   * Reported per message, not per frame: see `FrameBatcher`.
   */
  sent(bytes: number): void {
    this.#unsentBytes -= bytes;
    if (this.#unsentBytes <= this.#lowWaterBytes) this.subscriber.drained();
  }

  /** Sends a frame outside the fan-out (ACK, ERROR, ...), counted against the same buffer. */
  sendFrame(bytes: Uint8Array): void {
    this.#send(bytes);
  }

  sizeOf(out: Parameters<DeliveryTransport['sizeOf']>[0]): number {
    const length = out.entry(this.#encoding).length;
    return snapshotEntryFrameBytes(length) + length;
  }

  write(subscription: Subscription, batch: Batch): void {
    const entries = batch.entries;
    const span = startDeliverySpan(entries, {
      transport: 'ws',
      connection: this.#connection,
      subscription: subscription.id,
    });
    const encoded: Uint8Array[] = new Array(entries.length);
    let oldestTs = Number.POSITIVE_INFINITY;
    for (let i = 0; i < entries.length; i++) {
      const out = entries[i]!;
      const entry = out.entry(this.#encoding);
      const entryBytes = snapshotEntryFrameBytes(entry.length) + entry.length;
      if (entryBytes > this.#maxEntryBytes) {
        // A state within maxStateBytes can still outgrow a frame once encoded (JSON escapes
        // binary and control characters). The peer would refuse the frame, so the
        // subscription fails loudly (the subscriber answers ERROR too_large) instead.
        throw new SbmpError(
          'too_large',
          `the snapshot of '${out.key}' takes ${entryBytes} bytes as ${this.#encoding}, more than one frame holds (limits.maxFrameBytes)`,
          {
            details: {
              subscriptionId: subscription.id,
              key: out.key,
              revision: out.revision,
              bytes: entryBytes,
              option: 'maxFrameBytes',
            },
          },
        );
      }
      encoded[i] = entry;
      if (out.ts < oldestTs) oldestTs = out.ts;
    }
    observeDeliveryAge(this.#metrics, oldestTs);
    const header: { -readonly [K in keyof SnapshotsHeader]: SnapshotsHeader[K] } = {
      subscriptionId: subscription.id,
    };
    if (batch.resync) header.resync = true;
    if (batch.synced) header.synced = true;
    if (batch.revision !== undefined) header.revision = batch.revision;
    this.#send(encodeSnapshotsFrame(header, encoded));
    span?.end();
    if (entries.length > 0) {
      this.#delivered += entries.length;
      this.#metrics.wsDelivered.inc(entries.length);
    }
  }

  slow(subscription: Subscription): void {
    this.#hooks.slow(subscription);
  }

  failed(subscription: Subscription, error: SbmpError): void {
    this.#hooks.failed(subscription, error);
  }

  #send(bytes: Uint8Array): void {
    this.#unsentBytes += bytes.length;
    this.#hooks.send(bytes);
  }
}
