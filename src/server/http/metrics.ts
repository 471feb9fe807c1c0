import type { ServerResponse } from 'node:http';
import type { ConnectionStats, ServerContext } from '../context.js';
import { healthReport } from './health.js';
import { sendJson, sendText } from './respond.js';

/** Connections listed one by one in `/debug/vars` (the most backed-up first); the rest are only counted. */
const DEBUG_CONNECTIONS_LISTED = 100;

/** `GET /metrics`: Prometheus text exposition of this server's registry. */
export async function serveMetrics(ctx: ServerContext, res: ServerResponse): Promise<void> {
  const text = await ctx.metrics.text();
  sendText(res, 200, text, ctx.metrics.contentType);
}

export interface DebugVars {
  readonly health: ReturnType<typeof healthReport>;
  readonly limits: ServerContext['limits'];
  readonly hub: ReturnType<ServerContext['hub']['stats']>;
  readonly fanout: {
    readonly pendingKeys: number;
    readonly maxPendingKeys: number;
    readonly bufferedBytes: number;
    readonly waitingForDrain: number;
  };
  readonly connections: readonly ConnectionStats[];
  readonly pools: unknown[];
}

/** The figures behind `/debug/vars`, also used by tests to watch the server's internals from outside. */
export function debugVars(ctx: ServerContext): DebugVars {
  const all = ctx.connections.all().map((c) => c.stats());
  let pendingKeys = 0;
  let maxPendingKeys = 0;
  let bufferedBytes = 0;
  let waitingForDrain = 0;
  for (const stats of all) {
    pendingKeys += stats.pendingKeys;
    maxPendingKeys = Math.max(maxPendingKeys, stats.pendingKeys);
    bufferedBytes += stats.bufferedBytes;
    if (stats.waitingForDrain) waitingForDrain++;
  }
  all.sort((a, b) => b.pendingKeys - a.pendingKeys || b.bufferedBytes - a.bufferedBytes);
  return {
    health: healthReport(ctx),
    limits: ctx.limits,
    hub: ctx.hub.stats(),
    fanout: { pendingKeys, maxPendingKeys, bufferedBytes, waitingForDrain },
    connections: all.slice(0, DEBUG_CONNECTIONS_LISTED),
    pools: ctx.pools?.poolStats() ?? [],
  };
}

/** `GET /debug/vars`: runtime, fan-out and pool figures as JSON (for administrators). */
export function serveDebugVars(ctx: ServerContext, res: ServerResponse): void {
  sendJson(res, 200, debugVars(ctx));
}
