import type { IncomingMessage } from 'node:http';
import type { RawData, WebSocket } from 'ws';
import { FrameBatcher } from '../../codec/frame-batcher.js';
import type {
  Frame,
  HelloFrame,
  PublishFrame,
  StateEncoding,
  SubscribeFrame,
} from '../../codec/frame-types.js';
import { PROTOCOL_VERSION } from '../../codec/frame-types.js';
import { decodeFrameAt, encodeFrame, splitBatchRanges } from '../../codec/frames.js';
import { closeCodeForError, WS_CLOSE } from '../../codec/ws-protocol.js';
import type { SbmpErrorCode } from '../../core/errors.js';
import { SbmpError } from '../../core/errors.js';
import { compilePattern } from '../../core/key.js';
import { holdWritesForTurn } from '../../core/write-batching.js';
import type { PutOutcome, PutReceiver, SnapshotInput } from '../../store/types.js';
import type { ConnectionStats, ServerContext, StreamConnection } from '../context.js';
import { Subscription } from '../fanout/subscription.js';
import type { PublishOrigin } from '../observability/publish-observer.js';
import { asSbmpError } from '../publish.js';
import { WsDeliveries } from './deliveries.js';
import { errorFrameOf, publishInputOf } from './frame-mapping.js';
import { onSocketDrain, pauseReading, resumeReading, socketOf } from './ws-socket.js';

/** Reconnect hint in GOAWAY: soon after a shutdown (another instance may be up), a little later for a slow consumer. */
const SHUTDOWN_RECONNECT_MS = 250;
const SLOW_CONSUMER_RECONNECT_MS = 1000;
/** After sending a close frame, time the peer gets to answer before the socket is destroyed. */
const CLOSE_GRACE_MS = 1000;

type State = 'hello' | 'open' | 'draining' | 'closed';

/**
 * One WebSocket client. HELLO first (within `helloTimeoutMs`), then PUBLISH, SUBSCRIBE,
 * UNSUBSCRIBE and PING in any order. Every refusal is an ERROR frame with a precise code;
 * the connection is closed only for protocol breaches (text messages, no HELLO, too many bad
 * frames), slow consumers and a HELLO refused while the server sheds load (ERROR `overloaded`,
 * close 1013), never for a refused publish.
 *
 * A client that declares in HELLO that it reads batches gets the frames written in one turn as
 * one BATCH message; BATCH messages from any client past HELLO are split and their frames
 * handled in order, each as if it had come alone.
 *
 * Every frame the connection writes (ACK, ERROR, PONG as well as SNAPSHOTS) counts against
 * `limits.sendHighWaterBytes`. Above it the connection stops reading the client's socket, so a
 * client that sends without reading its answers is held back by TCP itself instead of making
 * the server queue answers without bound; reading resumes once the unsent bytes fall to half
 * of it.
 */
export class WsConnection implements StreamConnection, PutReceiver<number> {
  readonly id: number;
  readonly kind = 'ws' as const;
  readonly #ws: WebSocket;
  readonly #ctx: ServerContext;
  readonly #remote: string;
  /** The rate limiter's identity and the publish log's origin, made once for every publish. */
  readonly #rateIdentity: string;
  readonly #origin: PublishOrigin;
  readonly #openedAt = Date.now();
  /** Request ids of publishes handed to the store and not yet answered. */
  readonly #inFlight = new Set<number>();
  /**
   * The publish being handed to the store right now. One the store answers before `publishTo`
   * returns (the memory store's put, when no trace or debug log wraps it and the breaker is
   * closed) is settled here and never enters `#inFlight`: adding and deleting one id per publish
   * made the set rebuild its table every few publishes (the server's heap allocation per
   * delivery in `throughput-1-1` went from 2,720-2,753 to 2,614-2,665 B without it). Only one
   * publish of a connection is ever handed over at a time: `ws` emits 'message' from socket
   * reads only, never from inside the store's answer.
   */
  #handingOver: number | undefined;
  readonly #subscriptions = new Map<number, Subscription>();
  #state: State = 'hello';
  #encoding: StateEncoding = 'msgpack';
  readonly #deliveries: WsDeliveries;
  readonly #batcher: FrameBatcher;
  #helloTimer: NodeJS.Timeout | undefined;
  #badFrames = 0;
  /** True while the client's socket is not read because too many answered bytes are unsent. */
  #readingPaused = false;
  #idleWaiter: (() => void) | undefined;
  #closed: Promise<void>;
  #markClosed!: () => void;

  constructor(ws: WebSocket, request: IncomingMessage, ctx: ServerContext) {
    this.id = ctx.connections.nextId();
    this.#ws = ws;
    this.#ctx = ctx;
    this.#remote = request.socket.remoteAddress ?? 'unknown';
    this.#rateIdentity = `addr:${this.#remote}`;
    this.#origin = { logger: ctx.logger, connection: this.id };
    this.#closed = new Promise((resolve) => {
      this.#markClosed = resolve;
    });
    this.#batcher = new FrameBatcher((message, frameBytes) => this.#write(message, frameBytes));
    this.#deliveries = this.#makeDeliveries();
    ws.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    ws.on('close', () => this.#onClose());
    ws.on('error', (err) => ctx.logger?.debug({ err, connection: this.id }, 'websocket error'));
    // 'drain' is emitted before the callbacks of the writes it completes have run, so the unsent
    // count is checked once they have.
    onSocketDrain(ws, () => queueMicrotask(() => this.#resumeReadingIfDrained()));
    this.#helloTimer = setTimeout(() => this.#helloTimeout(), ctx.limits.helloTimeoutMs);
    ctx.connections.add(this);
  }

  stats(): ConnectionStats {
    let pendingKeys = 0;
    let conflated = 0;
    for (const subscription of this.#subscriptions.values()) {
      pendingKeys += subscription.pendingKeys;
      conflated += subscription.conflated;
    }
    return {
      id: this.id,
      kind: this.kind,
      remote: this.#remote,
      openedAt: this.#openedAt,
      subscriptions: this.#subscriptions.size,
      pendingKeys,
      bufferedBytes: this.#deliveries.bufferedBytes,
      waitingForDrain: this.#deliveries.subscriber.waitingForDrain,
      delivered: this.#deliveries.delivered,
      conflated,
    };
  }

  /** GOAWAY 'shutdown', let in-flight publishes finish (within `drainMs`), then close with 1001. */
  async shutdown(drainMs: number): Promise<void> {
    if (this.#state === 'closed') return;
    if (this.#state !== 'draining') {
      this.#state = 'draining';
      this.#deliveries.subscriber.flushNow();
      this.#send({ type: 'goaway', reason: 'shutdown', reconnectAfterMs: SHUTDOWN_RECONNECT_MS });
    }
    if (this.#inFlight.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, drainMs);
        this.#idleWaiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.#close(WS_CLOSE.goingAway, 'shutdown');
    await this.#closed;
  }

  terminate(): void {
    this.#ws.terminate();
  }

  /** In the default encoding; HELLO may change it before anything is subscribed. */
  #makeDeliveries(): WsDeliveries {
    return new WsDeliveries(
      {
        send: (bytes) => {
          if (this.#state === 'closed') {
            this.#deliveries.sent(bytes.length);
            return;
          }
          this.#batcher.send(bytes);
          this.#pauseReadingIfFull();
        },
        slow: (subscription) => this.#slowConsumer(subscription),
        failed: (subscription, error) => {
          this.#dropSubscription(subscription);
          this.#sendError(error, { subscriptionId: subscription.id });
        },
      },
      {
        encoding: this.#encoding,
        maxFrameBytes: this.#ctx.limits.maxFrameBytes,
        highWaterBytes: this.#ctx.limits.sendHighWaterBytes,
        metrics: this.#ctx.metrics,
        connection: this.id,
      },
    );
  }

  /** Writes one WebSocket message: a frame, or a batch of them holding `frameBytes` of frames. */
  #write(message: Uint8Array, frameBytes: number): void {
    if (this.#state === 'closed') {
      this.#deliveries.sent(frameBytes);
      return;
    }
    // Messages written in one turn (a run of ACKs, SNAPSHOTS of several subscriptions) leave in one writev.
    holdWritesForTurn(socketOf(this.#ws));
    this.#ws.send(message, () => {
      this.#deliveries.sent(frameBytes);
      this.#resumeReadingIfDrained();
    });
  }

  /** Called after each write is queued: the write is already counted in `bufferedBytes`. */
  #pauseReadingIfFull(): void {
    if (this.#readingPaused || this.#state === 'closed') return;
    if (this.#deliveries.bufferedBytes <= this.#ctx.limits.sendHighWaterBytes) return;
    this.#readingPaused = true;
    pauseReading(this.#ws);
  }

  /** Called as writes complete and on the socket's 'drain' (Node emits none below its own 16 KiB mark). */
  #resumeReadingIfDrained(): void {
    if (!this.#readingPaused) return;
    if (
      this.#state !== 'closed' &&
      this.#deliveries.bufferedBytes > Math.floor(this.#ctx.limits.sendHighWaterBytes / 2)
    )
      return;
    this.#readingPaused = false;
    resumeReading(this.#ws);
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.#state === 'closed') return;
    if (!isBinary) {
      this.#sendError(new SbmpError('bad_frame', 'text messages are not part of SBMP; send binary frames'));
      this.#close(WS_CLOSE.unsupportedData, 'text message');
      return;
    }
    const bytes = toBytes(data);
    if (this.#state !== 'hello') {
      let batch: number[] | undefined;
      try {
        batch = splitBatchRanges(bytes, this.#ctx.limits.maxFrameBytes);
      } catch (err) {
        this.#badFrame(asSbmpError(err));
        return;
      }
      if (batch !== undefined) {
        for (let i = 0; i < batch.length; i += 2) {
          // A frame before this one may have closed the connection (too many bad frames).
          if ((this.#state as State) === 'closed') return;
          this.#onFrame(bytes, batch[i]!, batch[i + 1]!);
        }
        return;
      }
    }
    this.#onFrame(bytes, 0, bytes.length);
  }

  /** One frame, `bytes[start, end)`: a whole message, or one frame of a batch. */
  #onFrame(bytes: Uint8Array, start: number, end: number): void {
    let frame: Frame;
    try {
      frame = decodeFrameAt(bytes, start, end, this.#ctx.limits.maxFrameBytes);
    } catch (err) {
      if (this.#state === 'hello') this.#fatal(asSbmpError(err));
      else this.#badFrame(asSbmpError(err));
      return;
    }
    if (this.#state === 'hello') {
      if (frame.type === 'hello') this.#hello(frame);
      else
        this.#fatal(
          new SbmpError('bad_frame', `the first frame must be HELLO, got ${frame.type.toUpperCase()}`),
        );
      return;
    }
    switch (frame.type) {
      case 'publish':
        this.#publish(frame);
        return;
      case 'subscribe':
        this.#subscribe(frame);
        return;
      case 'unsubscribe': {
        const subscription = this.#subscriptions.get(frame.subscriptionId);
        if (subscription !== undefined) this.#dropSubscription(subscription);
        return;
      }
      case 'ping':
        this.#send({ type: 'pong', nonce: frame.nonce });
        return;
      case 'hello':
        this.#badFrame(new SbmpError('bad_frame', 'HELLO was already received on this connection'));
        return;
      default:
        this.#badFrame(
          new SbmpError('bad_frame', `${frame.type.toUpperCase()} frames are sent by servers, not clients`),
        );
    }
  }

  #hello(frame: HelloFrame): void {
    clearTimeout(this.#helloTimer);
    if (frame.protocolVersion !== PROTOCOL_VERSION) {
      this.#fatal(
        new SbmpError(
          'bad_request',
          `protocol version ${frame.protocolVersion} is not supported; this server speaks ${PROTOCOL_VERSION}`,
          { details: { protocolVersion: PROTOCOL_VERSION } },
        ),
      );
      return;
    }
    try {
      // A server shedding load refuses new connections here, after the handshake, so the
      // client learns why (ERROR overloaded) before the close 1013.
      this.#ctx.guards.admitConnection();
    } catch (err) {
      this.#fatal(asSbmpError(err));
      return;
    }
    this.#state = 'open';
    this.#ctx.logger?.debug(
      { connection: this.id, clientId: frame.clientId, remote: this.#remote },
      'websocket client connected',
    );
    if (frame.stateEncoding !== this.#encoding) {
      // Nothing has been subscribed yet, so the deliveries can change encoding.
      this.#encoding = frame.stateEncoding;
      this.#deliveries.encoding = this.#encoding;
    }
    const limits = this.#ctx.limits;
    this.#send({
      type: 'welcome',
      protocolVersion: PROTOCOL_VERSION,
      serverId: this.#ctx.serverId,
      maxFrameBytes: limits.maxFrameBytes,
      maxStateBytes: limits.maxStateBytes,
      maxSubscriptions: limits.maxSubscriptionsPerConnection,
      maxInFlight: limits.maxInFlightPerConnection,
      revision: this.#ctx.hub.revision,
      storeEpoch: this.#ctx.store.epoch,
      batches: true,
    });
    // WELCOME itself went alone; what follows may share messages.
    if (frame.batches === true) this.#batcher.enable(limits.maxFrameBytes);
  }

  #publish(frame: PublishFrame): void {
    const requestId = frame.requestId;
    if (this.#state === 'draining') {
      this.#refusePublish(
        requestId,
        'unavailable',
        'the server is shutting down; publish elsewhere or after reconnecting',
      );
      return;
    }
    if (this.#inFlight.has(requestId)) {
      this.#badFrame(new SbmpError('bad_frame', `request id ${requestId} is already in flight`), {
        requestId,
      });
      return;
    }
    const limits = this.#ctx.limits;
    if (this.#inFlight.size >= limits.maxInFlightPerConnection) {
      this.#refusePublish(
        requestId,
        'limit_exceeded',
        `more than ${limits.maxInFlightPerConnection} publishes awaiting their ACK`,
        {
          limit: limits.maxInFlightPerConnection,
        },
      );
      return;
    }
    if (frame.state.length > limits.maxStateBytes) {
      this.#refusePublish(
        requestId,
        'too_large',
        `state is ${frame.state.length} bytes, more than the ${limits.maxStateBytes}-byte limit`,
        {
          key: frame.key,
          size: frame.state.length,
          limit: limits.maxStateBytes,
        },
      );
      return;
    }
    let input: SnapshotInput;
    try {
      input = publishInputOf(frame, this.#encoding);
    } catch (err) {
      this.#sendError(asSbmpError(err), { requestId });
      return;
    }
    const options = frame.ifVersion === undefined ? undefined : { ifVersion: frame.ifVersion };
    this.#handingOver = requestId;
    this.#ctx.publisher.publishTo(input, options, this.#rateIdentity, 'ws', this.#origin, this, requestId);
    if (this.#handingOver === requestId) {
      this.#handingOver = undefined;
      this.#inFlight.add(requestId);
    }
  }

  /** A publish of this connection applied (or refused by the apply rules): its ACK. Called by the publisher. */
  putDone(outcome: PutOutcome, requestId: number): void {
    this.#settled(requestId);
    this.#send({
      type: 'ack',
      requestId,
      result: outcome.result,
      version: outcome.version,
      revision: outcome.revision,
    });
  }

  /** A publish of this connection failed: its ERROR. Called by the publisher. */
  putFailed(err: unknown, requestId: number): void {
    this.#settled(requestId);
    this.#sendError(asSbmpError(err), { requestId });
  }

  /** A method, not a closure made per publish: most publishes are never refused. */
  #refusePublish(
    requestId: number,
    code: SbmpErrorCode,
    message: string,
    details?: Record<string, unknown>,
  ): void {
    this.#sendError(new SbmpError(code, message, details === undefined ? {} : { details }), { requestId });
  }

  #settled(requestId: number): void {
    if (requestId === this.#handingOver) {
      this.#handingOver = undefined;
      return;
    }
    this.#inFlight.delete(requestId);
    if (this.#inFlight.size === 0 && this.#idleWaiter !== undefined) {
      const wake = this.#idleWaiter;
      this.#idleWaiter = undefined;
      wake();
    }
  }

  #subscribe(frame: SubscribeFrame): void {
    const subscriptionId = frame.subscriptionId;
    const limits = this.#ctx.limits;
    const refuse = (error: SbmpError) => this.#sendError(error, { subscriptionId });
    if (this.#state === 'draining') {
      refuse(new SbmpError('unavailable', 'the server is shutting down; subscribe after reconnecting'));
      return;
    }
    if (this.#subscriptions.has(subscriptionId)) {
      refuse(new SbmpError('bad_request', `subscription id ${subscriptionId} is already in use`));
      return;
    }
    try {
      this.#ctx.guards.admitSubscription();
    } catch (err) {
      refuse(asSbmpError(err));
      return;
    }
    if (this.#subscriptions.size >= limits.maxSubscriptionsPerConnection) {
      refuse(
        new SbmpError('limit_exceeded', `more than ${limits.maxSubscriptionsPerConnection} subscriptions`, {
          details: { limit: limits.maxSubscriptionsPerConnection },
        }),
      );
      return;
    }
    let pattern: ReturnType<typeof compilePattern>;
    try {
      pattern = compilePattern(frame.pattern);
    } catch (err) {
      refuse(asSbmpError(err));
      return;
    }
    const subscription = new Subscription({
      id: subscriptionId,
      pattern,
      sinceRevision: frame.sinceRevision,
      maxPendingKeys: limits.maxPendingKeysPerSubscriber,
      store: this.#ctx.store,
      feed: this.#ctx.hub,
      owner: this.#deliveries.subscriber,
      metrics: this.#ctx.metrics,
    });
    // A store that refuses the watch outright has already failed (and answered) the subscription.
    if (subscription.phase === 'closed') return;
    this.#subscriptions.set(subscriptionId, subscription);
    this.#ctx.metrics.subscriptions.inc();
  }

  #dropSubscription(subscription: Subscription): void {
    subscription.close();
    this.#deliveries.subscriber.forget(subscription);
    if (this.#subscriptions.get(subscription.id) === subscription) {
      this.#subscriptions.delete(subscription.id);
      this.#ctx.metrics.subscriptions.dec();
    }
  }

  #slowConsumer(subscription: Subscription): void {
    if (this.#state === 'closed') return;
    this.#ctx.metrics.slowConsumers.inc();
    this.#ctx.logger?.warn(
      { connection: this.id, subscription: subscription.id, pattern: subscription.pattern.source },
      'slow consumer: too many keys pending; closing',
    );
    this.#send({ type: 'goaway', reason: 'slow_consumer', reconnectAfterMs: SLOW_CONSUMER_RECONNECT_MS });
    this.#close(WS_CLOSE.goingAway, 'slow consumer');
  }

  #helloTimeout(): void {
    if (this.#state !== 'hello') return;
    this.#fatal(new SbmpError('timeout', `no HELLO within ${this.#ctx.limits.helloTimeoutMs} ms`));
  }

  #badFrame(error: SbmpError, ids: { requestId?: number } = {}): void {
    this.#badFrames++;
    if (this.#badFrames > this.#ctx.limits.maxBadFrames) {
      this.#fatal(
        new SbmpError('bad_frame', `more than ${this.#ctx.limits.maxBadFrames} bad frames: ${error.message}`),
      );
      return;
    }
    this.#sendError(error, ids);
  }

  /** Answers with ERROR, then closes with the code matching the error. */
  #fatal(error: SbmpError): void {
    this.#sendError(error);
    this.#close(closeCodeForError(error.code), error.code);
  }

  #sendError(error: SbmpError, ids: { requestId?: number; subscriptionId?: number } = {}): void {
    this.#send(errorFrameOf(error, ids));
  }

  #send(frame: Frame): void {
    if (this.#state === 'closed') return;
    this.#deliveries.sendFrame(encodeFrame(frame));
  }

  #close(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    // What was written this turn (the ERROR or GOAWAY saying why) goes before the close frame.
    this.#batcher.flush();
    this.#state = 'closed';
    // Nothing more is answered, so the peer's close frame may be read whatever is still unsent.
    this.#resumeReadingIfDrained();
    this.#ws.close(code, reason);
    // A peer that stopped reading never answers the close frame queued behind its backlog.
    setTimeout(() => this.#ws.terminate(), CLOSE_GRACE_MS).unref();
  }

  #onClose(): void {
    this.#ctx.logger?.debug(
      { connection: this.id, delivered: this.#deliveries.delivered },
      'websocket closed',
    );
    this.#state = 'closed';
    clearTimeout(this.#helloTimer);
    this.#deliveries.subscriber.close();
    for (const subscription of [...this.#subscriptions.values()]) this.#dropSubscription(subscription);
    this.#ctx.connections.delete(this);
    this.#idleWaiter?.();
    this.#markClosed();
  }
}

/**
 * The message as a plain Uint8Array over the same memory: the frames and states decoded from
 * it are views into it, and a plain array's `subarray` costs half a Buffer's, which makes each
 * of its views a FastBuffer (70 against 133 ns, measured alone on Node 20).
 */
function toBytes(data: RawData): Uint8Array {
  const bytes = Array.isArray(data) ? Buffer.concat(data) : data;
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
