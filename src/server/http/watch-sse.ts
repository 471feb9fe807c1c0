import type { IncomingMessage, ServerResponse } from 'node:http';
import { SbmpError } from '../../core/errors.js';
import { compilePattern } from '../../core/key.js';
import type { ConnectionStats, ServerContext, StreamConnection } from '../context.js';
import type { OutboundSnapshot } from '../fanout/outbound.js';
import type { DeliveryTransport } from '../fanout/subscriber.js';
import { Subscriber } from '../fanout/subscriber.js';
import type { Batch } from '../fanout/subscription.js';
import { Subscription } from '../fanout/subscription.js';
import { observeDeliveryAge } from '../metrics.js';
import { startDeliverySpan } from '../observability/tracing.js';
import { checkStreamAdmission, openEventStream, sseEvent } from './sse.js';

/** Most bytes of events built for one write. */
const SSE_BATCH_BYTES = 256 * 1024;
/** Bytes of an event besides its data line (`id: <revision>\n` and the blank line). */
const SSE_EVENT_OVERHEAD = 24;
/** Reconnect hint sent with `goaway` events. */
const GOAWAY_RECONNECT_MS = 1000;

/** Resume revision from `Last-Event-ID` (a browser reconnecting) or else `?since=`; `bad_request` if malformed. */
export function resumeRevision(req: IncomingMessage, query: URLSearchParams): number | undefined {
  const lastEventId = req.headers['last-event-id'];
  const text =
    typeof lastEventId === 'string' && lastEventId.trim() !== '' ? lastEventId.trim() : query.get('since');
  if (text === null || text === undefined || text === '') return undefined;
  if (!/^[0-9]{1,16}$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new SbmpError(
      'bad_request',
      `since / Last-Event-ID must be a revision (an integer >= 0), got '${text.slice(0, 40)}'`,
    );
  }
  return Number(text);
}

/**
 * `GET /sbmp/v3/watch?pattern=&since=`: a subscription delivered as Server-Sent Events.
 *
 * - each snapshot is an unnamed event (`onmessage`) whose data is the snapshot JSON;
 * - `event: resync` first when the resume point is older than the store's history (the
 *   client drops keys not delivered before `synced`), `event: synced` once the backlog is in;
 * - `event: goaway` before the server ends the stream (shutdown, slow consumer), `event: error`
 *   when the subscription fails;
 * - comment heartbeats every `sseHeartbeatMs`.
 *
 * Refused with 503 + `Retry-After` before the stream opens: `overloaded` while the memory
 * watermark sheds load or at `maxConnections`, `unavailable` while the server is closing.
 *
 * Each event's `id:` is the stream's resume point: every matching change at or below it has
 * been sent. On an in-order stream that is the event's own revision; when conflation sends a
 * newer key before an older one, the id stays back until the older one is out, so the
 * `Last-Event-ID` an `EventSource` reconnects with never skips a change.
 */
export function serveWatch(
  ctx: ServerContext,
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
) {
  const pattern = compilePattern(query.get('pattern') ?? '');
  const since = resumeRevision(req, query);
  checkStreamAdmission(ctx);
  ctx.guards.admitConnection();
  openEventStream(res, `sbmp watch ${pattern.source}`);
  return new SseWatch(ctx, req, res, pattern, since);
}

class SseWatch implements StreamConnection, DeliveryTransport {
  readonly id: number;
  readonly kind = 'sse' as const;
  readonly #ctx: ServerContext;
  readonly #res: ServerResponse;
  readonly #remote: string;
  readonly #openedAt = Date.now();
  readonly #subscriber: Subscriber;
  readonly #subscription: Subscription;
  readonly #heartbeat: NodeJS.Timeout;
  /** Writing resumes once the unsent bytes fall to this (half the high-water mark). */
  readonly #lowWaterBytes: number;
  #lastId: number | undefined;
  #delivered = 0;
  #ended = false;

  constructor(
    ctx: ServerContext,
    req: IncomingMessage,
    res: ServerResponse,
    pattern: ReturnType<typeof compilePattern>,
    since: number | undefined,
  ) {
    this.id = ctx.connections.nextId();
    this.#ctx = ctx;
    this.#res = res;
    this.#remote = req.socket.remoteAddress ?? 'unknown';
    this.#lastId = since;
    this.#lowWaterBytes = Math.floor(ctx.limits.sendHighWaterBytes / 2);
    this.#subscriber = new Subscriber(this, {
      highWaterBytes: ctx.limits.sendHighWaterBytes,
      batchBytes: SSE_BATCH_BYTES,
    });
    ctx.connections.add(this);
    // 'drain' only follows a write that passed Node's own writableHighWaterMark (16 KiB); with
    // a lower sendHighWaterBytes, each write's completion and the heartbeat check as well.
    res.on('drain', () => this.#subscriber.drained());
    res.on('close', () => this.#cleanup());
    // A peer gone mid-write: the close handler cleans up; nothing to report.
    res.on('error', () => {});
    this.#heartbeat = setInterval(() => {
      this.#resumeIfDrained();
      if (res.writableLength === 0) res.write(': heartbeat\n\n');
    }, ctx.limits.sseHeartbeatMs);
    this.#heartbeat.unref();
    this.#subscription = new Subscription({
      id: this.id,
      pattern,
      sinceRevision: since,
      maxPendingKeys: ctx.limits.maxPendingKeysPerSubscriber,
      store: ctx.store,
      feed: ctx.hub,
      owner: this.#subscriber,
      metrics: ctx.metrics,
    });
    if (!this.#ended) ctx.metrics.subscriptions.inc();
  }

  get bufferedBytes(): number {
    return this.#res.writableLength;
  }

  sizeOf(out: OutboundSnapshot): number {
    return out.sseData().length + SSE_EVENT_OVERHEAD;
  }

  write(_subscription: Subscription, batch: Batch): void {
    const span = startDeliverySpan(batch.entries, {
      transport: 'sse',
      connection: this.id,
      subscription: this.id,
    });
    let text = '';
    if (batch.resync) text += sseEvent('resync', '{}');
    const entries = batch.entries;
    const ids = this.#eventIds(batch);
    let oldestTs = Number.POSITIVE_INFINITY;
    for (let i = 0; i < entries.length; i++) {
      const out = entries[i]!;
      const id = ids[i];
      text += id === undefined ? `${out.sseData()}\n` : `id: ${id}\n${out.sseData()}\n`;
      if (out.ts < oldestTs) oldestTs = out.ts;
    }
    observeDeliveryAge(this.#ctx.metrics, oldestTs);
    if (batch.synced) {
      const revision = batch.revision ?? 0;
      text += sseEvent('synced', JSON.stringify({ revision }), revision);
      this.#lastId = revision;
    }
    if (text.length > 0) this.#res.write(text, () => this.#resumeIfDrained());
    span?.end();
    if (entries.length > 0) {
      this.#delivered += entries.length;
      this.#ctx.metrics.sseDelivered.inc(entries.length);
    }
  }

  /**
   * The `id:` of each event. Live entries: after entry i, everything not yet sent is entries
   * i+1.. and what the mailbox still holds, so the resume point is below the smallest revision
   * among them (the batch's `revision` accounts for the mailbox). Backlog entries keep the
   * previous id: until `synced`, the only safe point is where the stream started.
   */
  #eventIds(batch: Batch): (number | undefined)[] {
    const entries = batch.entries;
    const ids: (number | undefined)[] = new Array(entries.length);
    if (!batch.live || batch.revision === undefined) {
      ids.fill(this.#lastId);
      return ids;
    }
    let suffixMin = Number.POSITIVE_INFINITY;
    for (let i = entries.length - 1; i >= 0; i--) {
      const safe = Math.min(batch.revision, suffixMin - 1);
      const id = Math.max(this.#lastId ?? 0, safe);
      ids[i] = id;
      suffixMin = Math.min(suffixMin, entries[i]!.revision);
    }
    // Computed back to front; ids must never go down along the stream.
    let floor = this.#lastId ?? 0;
    for (let i = 0; i < ids.length; i++) {
      floor = Math.max(floor, ids[i]!);
      ids[i] = floor;
    }
    if (ids.length > 0) this.#lastId = ids[ids.length - 1];
    return ids;
  }

  #resumeIfDrained(): void {
    if (this.#subscriber.waitingForDrain && this.#res.writableLength <= this.#lowWaterBytes) {
      this.#subscriber.drained();
    }
  }

  slow(): void {
    this.#ctx.metrics.slowConsumers.inc();
    this.#end('goaway', { reason: 'slow_consumer', reconnectAfterMs: GOAWAY_RECONNECT_MS });
  }

  failed(_subscription: Subscription, error: SbmpError): void {
    this.#end('error', error.toJSON());
  }

  stats(): ConnectionStats {
    return {
      id: this.id,
      kind: this.kind,
      remote: this.#remote,
      openedAt: this.#openedAt,
      subscriptions: 1,
      pendingKeys: this.#subscription.pendingKeys,
      bufferedBytes: this.bufferedBytes,
      waitingForDrain: this.#subscriber.waitingForDrain,
      delivered: this.#delivered,
      conflated: this.#subscription.conflated,
    };
  }

  async shutdown(): Promise<void> {
    this.#subscriber.flushNow();
    this.#end('goaway', { reason: 'shutdown', reconnectAfterMs: GOAWAY_RECONNECT_MS });
  }

  terminate(): void {
    this.#res.destroy();
  }

  /** Sends a final event and ends the response; a peer that stopped reading is cut off after a grace. */
  #end(event: string, data: unknown): void {
    if (this.#ended) return;
    this.#cleanup();
    this.#res.end(sseEvent(event, JSON.stringify(data)));
    setTimeout(() => this.#res.destroy(), 1000).unref();
  }

  #cleanup(): void {
    if (this.#ended) return;
    this.#ended = true;
    clearInterval(this.#heartbeat);
    this.#subscriber.close();
    // The subscription may not exist yet when the response closed during construction.
    if (this.#subscription !== undefined) {
      this.#subscription.close();
      this.#ctx.metrics.subscriptions.dec();
    }
    this.#ctx.connections.delete(this);
  }
}
