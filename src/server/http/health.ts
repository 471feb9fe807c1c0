import type { IncomingMessage, ServerResponse } from 'node:http';
import { SbmpError } from '../../core/errors.js';
import type { ConnectionStats, ServerContext, StreamConnection } from '../context.js';
import type { GuardFigures } from '../guards/server-guards.js';
import type { LagFigures, MemoryFigures } from '../runtime.js';
import { sendError, sendJson } from './respond.js';
import { checkStreamAdmission, openEventStream, sseEvent } from './sse.js';

/** Interval of `/sbmp/v3/health/stream` events. */
export const HEALTH_INTERVAL_MS = 1000;

export type HealthStatus = 'ok' | 'degraded' | 'closing';

export interface HealthReport {
  readonly status: HealthStatus;
  /** Why the status is not `ok` (empty when it is): fan-out behind, memory shedding, store breaker open. */
  readonly reasons: readonly string[];
  readonly serverId: string;
  readonly uptimeMs: number;
  readonly eventLoopLag: LagFigures;
  readonly memory: MemoryFigures;
  readonly connections: { readonly ws: number; readonly sse: number; readonly health: number };
  readonly subscriptions: number;
  readonly publishesInFlight: number;
  readonly store: { readonly kind: string; readonly revision: number; readonly live: boolean };
  /** Memory watermark, store breaker, refusals and compaction. */
  readonly guards: GuardFigures;
}

/**
 * `degraded` while the live fan-out is not caught up with the store (e.g. its watch is being
 * re-opened), while memory is above the watermark, or while the store breaker is not closed.
 */
export function healthReport(ctx: ServerContext): HealthReport {
  const live = ctx.hub.live;
  const reasons: string[] = [];
  if (!live) reasons.push('the live fan-out is not caught up with the store');
  const notReady = ctx.guards.notReadyReason();
  if (notReady !== undefined) reasons.push(notReady.message);
  let revision = ctx.hub.revision;
  try {
    revision = ctx.store.currentRevision();
  } catch {
    // A closed store: the hub's figure is the last known one.
  }
  return {
    status: ctx.closing ? 'closing' : reasons.length === 0 ? 'ok' : 'degraded',
    reasons: ctx.closing ? ['the server is shutting down', ...reasons] : reasons,
    serverId: ctx.serverId,
    uptimeMs: ctx.runtime.uptimeMs,
    eventLoopLag: ctx.runtime.lag,
    memory: ctx.runtime.memory(),
    connections: {
      ws: ctx.connections.countOf('ws'),
      sse: ctx.connections.countOf('sse'),
      health: ctx.connections.countOf('health'),
    },
    subscriptions: ctx.hub.subscriptionCount,
    publishesInFlight: ctx.publisher.inFlight,
    store: { kind: ctx.store.kind, revision, live },
    guards: ctx.guards.figures(),
  };
}

/** `GET /healthz`: the process is up and serving HTTP. */
export function serveHealthz(ctx: ServerContext, res: ServerResponse): void {
  sendJson(res, 200, { status: 'ok', serverId: ctx.serverId, uptimeMs: ctx.runtime.uptimeMs });
}

/**
 * `GET /readyz`: 200 when the store is watched live, the store breaker is closed, memory is below
 * the watermark and the server is not closing; else 503 with the reason (`unavailable` or
 * `overloaded`) and `Retry-After`.
 */
export function serveReadyz(ctx: ServerContext, res: ServerResponse): void {
  if (ctx.closing) {
    sendError(res, new SbmpError('unavailable', 'the server is shutting down'));
    return;
  }
  if (!ctx.hub.live) {
    sendError(res, new SbmpError('unavailable', 'the live fan-out is not caught up with the store'));
    return;
  }
  const notReady = ctx.guards.notReadyReason();
  if (notReady !== undefined) {
    sendError(res, notReady);
    return;
  }
  sendJson(res, 200, { status: 'ready', revision: ctx.hub.revision });
}

/**
 * `GET /sbmp/v3/health/stream`: a `health` event with `healthReport` now and every second. It
 * counts against `maxConnections` but is not shed by the memory watermark: an overloaded server
 * is exactly when operators need to watch it.
 */
export function serveHealthStream(ctx: ServerContext, req: IncomingMessage, res: ServerResponse): void {
  checkStreamAdmission(ctx);
  openEventStream(res, 'sbmp health');
  new HealthStream(ctx, req, res);
}

class HealthStream implements StreamConnection {
  readonly id: number;
  readonly kind = 'health' as const;
  readonly #ctx: ServerContext;
  readonly #res: ServerResponse;
  readonly #remote: string;
  readonly #openedAt = Date.now();
  readonly #timer: NodeJS.Timeout;
  #ended = false;

  constructor(ctx: ServerContext, req: IncomingMessage, res: ServerResponse) {
    this.id = ctx.connections.nextId();
    this.#ctx = ctx;
    this.#res = res;
    this.#remote = req.socket.remoteAddress ?? 'unknown';
    ctx.connections.add(this);
    res.on('close', () => this.#cleanup());
    // A peer gone mid-write: the close handler cleans up; nothing to report.
    res.on('error', () => {});
    this.#send();
    this.#timer = setInterval(() => this.#send(), HEALTH_INTERVAL_MS);
    this.#timer.unref();
  }

  stats(): ConnectionStats {
    return {
      id: this.id,
      kind: this.kind,
      remote: this.#remote,
      openedAt: this.#openedAt,
      subscriptions: 0,
      pendingKeys: 0,
      bufferedBytes: this.#res.writableLength,
      waitingForDrain: false,
      delivered: 0,
      conflated: 0,
    };
  }

  async shutdown(): Promise<void> {
    if (this.#ended) return;
    this.#cleanup();
    this.#res.end(sseEvent('goaway', JSON.stringify({ reason: 'shutdown' })));
  }

  terminate(): void {
    this.#res.destroy();
  }

  #send(): void {
    // A reader that fell behind skips beats instead of piling them up.
    if (this.#ended || this.#res.writableLength > 64 * 1024) return;
    this.#res.write(sseEvent('health', JSON.stringify(healthReport(this.#ctx))));
  }

  #cleanup(): void {
    if (this.#ended) return;
    this.#ended = true;
    clearInterval(this.#timer);
    this.#ctx.connections.delete(this);
  }
}
