import type { ServerResponse } from 'node:http';
import { SbmpError } from '../../core/errors.js';
import type { ServerContext } from '../context.js';

/** Reconnect delay a browser `EventSource` uses after the stream drops, sent as `retry:`. */
export const SSE_RETRY_MS = 1000;

/**
 * Refuses a new stream when the server is closing (`unavailable`) or at `maxConnections`
 * (`overloaded`); both are 503 with `Retry-After`.
 */
export function checkStreamAdmission(ctx: ServerContext): void {
  if (ctx.closing) throw new SbmpError('unavailable', 'the server is shutting down');
  if (ctx.connections.size >= ctx.limits.maxConnections) {
    throw new SbmpError(
      'overloaded',
      `the server is at its limit of ${ctx.limits.maxConnections} connections`,
      {
        details: { limit: ctx.limits.maxConnections, retryAfterMs: 1000 },
      },
    );
  }
}

/** Starts a Server-Sent Events response; headers tell proxies not to buffer or transform it. */
export function openEventStream(res: ServerResponse, comment: string): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.socket?.setNoDelay(true);
  res.write(`retry: ${SSE_RETRY_MS}\n: ${comment.replace(/[\r\n]/g, ' ')}\n\n`);
}

/** One SSE event; `data` must be one line (JSON text is). */
export function sseEvent(event: string | undefined, data: string, id?: number): string {
  let text = '';
  if (event !== undefined) text += `event: ${event}\n`;
  if (id !== undefined) text += `id: ${id}\n`;
  return `${text}data: ${data}\n\n`;
}
