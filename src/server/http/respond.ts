import type { ServerResponse } from 'node:http';
import type { SbmpError } from '../../core/errors.js';

const JSON_TYPE = 'application/json; charset=utf-8';

/** Sends `body` as JSON with `status`; extra headers (ETag, Retry-After, ...) are merged in. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | number> = {},
): void {
  sendText(res, status, JSON.stringify(body), JSON_TYPE, headers);
}

/** Sends already-serialized JSON text (e.g. a snapshot's cached JSON). */
export function sendJsonText(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string | number> = {},
): void {
  sendText(res, status, text, JSON_TYPE, headers);
}

export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  contentType: string,
  headers: Record<string, string | number> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = Buffer.from(text, 'utf8');
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': body.length,
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(body);
}

/**
 * Sends an error as `SbmpError.toJSON()` with the code's HTTP status. Retryable refusals
 * (503) and rate limits (429) carry `Retry-After` in whole seconds.
 */
export function sendError(
  res: ServerResponse,
  error: SbmpError,
  headers: Record<string, string | number> = {},
): void {
  const extra: Record<string, string | number> = { ...headers };
  if (error.status === 503 || error.status === 429) {
    const retryAfterMs = error.details?.retryAfterMs;
    extra['Retry-After'] =
      typeof retryAfterMs === 'number'
        ? Math.max(1, Math.ceil(retryAfterMs / 1000))
        : (extra['Retry-After'] ?? 1);
  }
  sendJson(res, error.status, error.toJSON(), extra);
}
