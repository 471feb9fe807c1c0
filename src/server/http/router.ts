import type { IncomingMessage, ServerResponse } from 'node:http';
import { SbmpError } from '../../core/errors.js';
import type { ServerContext } from '../context.js';
import { isDashboardPath, serveDashboardAsset } from '../dashboard/routes.js';
import { checkVarsAccess } from '../observability/debug-access.js';
import { beginRequest, requestIdOf } from '../observability/logging.js';
import { PPROF_PATH, servePprof } from '../observability/pprof.js';
import { asSbmpError } from '../publish.js';
import { serveHealthStream, serveHealthz, serveReadyz } from './health.js';
import { serveDebugVars, serveMetrics } from './metrics.js';
import { sendError } from './respond.js';
import { deleteState, getState, keyFromPath, listState, putState, STATE_PATH } from './state-routes.js';
import { serveWatch } from './watch-sse.js';

/** Answered even while closing, so orchestrators see the server go unready rather than vanish. */
const PROBES = new Set(['/healthz', '/readyz']);

function allow(req: IncomingMessage, res: ServerResponse, methods: readonly string[]): boolean {
  const method = req.method ?? 'GET';
  if (methods.includes(method)) return true;
  const error = new SbmpError(
    'method_not_allowed',
    `${method} is not allowed here; use ${methods.join(', ')}`,
    {
      details: { allow: methods },
    },
  );
  sendError(res, error, { Allow: methods.join(', ') });
  return false;
}

/** The HTTP request handler of one server: routes, and turns every failure into an `SbmpError` body. */
export function createRequestHandler(
  ctx: ServerContext,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    beginRequest(ctx.logger, req, res);
    route(ctx, req, res).catch((err: unknown) => {
      const error = asSbmpError(err);
      if (error.code === 'internal')
        ctx.logger?.error(
          { err, requestId: requestIdOf(req), url: req.url, method: req.method },
          'request failed',
        );
      // An unread body (too large, or refused before reading) must not be parsed as the next request.
      const headers: Record<string, string> = hasUnreadBody(req) ? { Connection: 'close' } : {};
      sendError(res, error, headers);
    });
  };
}

function hasUnreadBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  const hasBody = (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
  return hasBody && !req.readableEnded;
}

async function route(ctx: ServerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    throw new SbmpError('bad_request', 'the request URL is malformed');
  }
  const path = url.pathname;
  if (ctx.closing && !PROBES.has(path)) {
    res.setHeader('Connection', 'close');
    throw new SbmpError('unavailable', 'the server is shutting down');
  }
  if (path.startsWith(`${STATE_PATH}/`)) {
    if (!allow(req, res, ['GET', 'HEAD', 'PUT', 'DELETE'])) return;
    const key = keyFromPath(path);
    switch (req.method) {
      case 'PUT':
        return putState(ctx, req, res, key);
      case 'DELETE':
        return deleteState(ctx, req, res, key);
      default:
        return getState(ctx, req, res, key);
    }
  }
  if (isDashboardPath(path)) {
    if (allow(req, res, ['GET', 'HEAD'])) serveDashboardAsset(req, res, path);
    return;
  }
  switch (path) {
    case STATE_PATH:
      if (allow(req, res, ['GET', 'HEAD'])) await listState(ctx, res, url.searchParams);
      return;
    case '/sbmp/v3/watch':
      if (allow(req, res, ['GET'])) serveWatch(ctx, req, res, url.searchParams);
      return;
    case '/sbmp/v3/health/stream':
      if (allow(req, res, ['GET'])) serveHealthStream(ctx, req, res);
      return;
    case '/healthz':
      if (allow(req, res, ['GET', 'HEAD'])) serveHealthz(ctx, res);
      return;
    case '/readyz':
      if (allow(req, res, ['GET', 'HEAD'])) serveReadyz(ctx, res);
      return;
    case '/metrics':
      if (allow(req, res, ['GET'])) await serveMetrics(ctx, res);
      return;
    case '/debug/vars':
      if (allow(req, res, ['GET'])) {
        checkVarsAccess(ctx.debug, req);
        serveDebugVars(ctx, res);
      }
      return;
    default:
      if (path.startsWith(`${PPROF_PATH}/`)) {
        if (allow(req, res, ['GET'])) await servePprof(ctx, req, res, path, url.searchParams);
        return;
      }
      throw new SbmpError('not_found', `no route for ${req.method} ${path}`, { details: { path } });
  }
}
