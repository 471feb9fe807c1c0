import type { IncomingMessage, ServerResponse } from 'node:http';
import { SbmpError } from '../../core/errors.js';
import { validateKey } from '../../core/key.js';
import type { TraceContext } from '../../core/snapshot.js';
import { parseVersion } from '../../core/version.js';
import type { PutOptions, PutOutcome, SnapshotInput } from '../../store/types.js';
import type { ServerContext } from '../context.js';
import { requestIdOf } from '../observability/logging.js';
import { traceFromHeaders, traceResponseHeaders } from '../observability/trace-context.js';
import { snapshotJsonText, toSnapshotJson } from '../snapshot-json.js';
import { isJsonContentType, readJsonBody } from './body.js';
import { sendError, sendJson, sendJsonText } from './respond.js';

/** Path of one key's state; the key follows it. */
export const STATE_PATH = '/sbmp/v3/state';

/** Longest `SBMP-Source` header kept (the store's own label limit). */
const MAX_SOURCE_CHARS = 256;

/** The key of `/sbmp/v3/state/{key}`, percent-decoded and validated (`bad_key`). */
export function keyFromPath(pathname: string): string {
  const raw = pathname.slice(STATE_PATH.length + 1);
  let key: string;
  try {
    key = decodeURIComponent(raw);
  } catch {
    throw new SbmpError('bad_key', `key '${raw.slice(0, 300)}' is not valid percent-encoding`);
  }
  return validateKey(key);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** `If-Match: "16"` (also `W/"16"`, `16`, and `"0"` for a key never written) as an `ifVersion`. */
function ifMatchVersion(req: IncomingMessage): number | undefined {
  const value = header(req, 'if-match');
  if (value === undefined) return undefined;
  if (/^\s*(W\/)?"?0"?\s*$/.test(value)) return 0;
  return parseVersion(value, 'If-Match');
}

/** The version and compare-and-set of a write, from `SBMP-Version`, `If-Match` and `If-None-Match: *`. */
function writeVersions(req: IncomingMessage): { version: number | undefined; ifVersion: number | undefined } {
  const versionHeader = header(req, 'sbmp-version');
  const version = versionHeader === undefined ? undefined : parseVersion(versionHeader, 'SBMP-Version');
  let ifVersion = ifMatchVersion(req);
  const ifNoneMatch = header(req, 'if-none-match');
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== '*') {
      throw new SbmpError(
        'bad_request',
        'on a write, If-None-Match may only be * (create the key only if it does not exist)',
      );
    }
    if (ifVersion !== undefined)
      throw new SbmpError('bad_request', 'If-Match and If-None-Match cannot be combined');
    ifVersion = 0;
  }
  return { version, ifVersion };
}

/** `traceparent` (+ `tracestate`) or `X-SBMP-Trace-Context-V2`; `bad_request` when malformed. */
function traceOf(req: IncomingMessage): TraceContext | undefined {
  return traceFromHeaders((name) => header(req, name));
}

function sourceOf(req: IncomingMessage): string | undefined {
  const source = header(req, 'sbmp-source');
  if (source === undefined) return undefined;
  if (source.length === 0 || source.length > MAX_SOURCE_CHARS) {
    throw new SbmpError('bad_request', `SBMP-Source must be 1..${MAX_SOURCE_CHARS} characters`);
  }
  return source;
}

function identityOf(req: IncomingMessage): string {
  return `addr:${req.socket.remoteAddress ?? 'unknown'}`;
}

/** 200 `{key, version, revision, result}` for applied and duplicate; 409 `{code, current}` for stale and conflict. */
function sendOutcome(res: ServerResponse, key: string, outcome: PutOutcome): void {
  const { result, version, revision } = outcome;
  if (result === 'applied' || result === 'duplicate') {
    sendJson(res, 200, { key, version, revision, result }, { ETag: `"${version}"` });
    return;
  }
  const message =
    result === 'stale'
      ? `'${key}' is already at version ${version}, newer than the one written`
      : `'${key}' is at version ${version}; the write's version or If-Match does not fit it`;
  sendError(res, new SbmpError(result, message, { details: { key, current: version, revision } }));
}

async function write(
  ctx: ServerContext,
  req: IncomingMessage,
  res: ServerResponse,
  input: SnapshotInput,
  ifVersion: number | undefined,
): Promise<void> {
  const options: PutOptions | undefined = ifVersion === undefined ? undefined : { ifVersion };
  const outcome = await ctx.publisher.publish(input, options, identityOf(req), 'http', {
    logger: ctx.logger,
    requestId: requestIdOf(req),
  });
  sendOutcome(res, input.key, outcome);
}

/** `PUT /sbmp/v3/state/{key}`: the body is the state as JSON. */
export async function putState(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, key: string) {
  const contentType = header(req, 'content-type');
  if (!isJsonContentType(contentType)) {
    throw new SbmpError(
      'unsupported_media_type',
      `Content-Type '${contentType}' is not JSON; send the state as application/json`,
    );
  }
  const { version, ifVersion } = writeVersions(req);
  const trace = traceOf(req);
  const source = sourceOf(req);
  // Refused before the body is read: a process short of memory should not buffer a state first.
  ctx.guards.admitPublish();
  const state = await readJsonBody(req, ctx.limits.maxStateBytes, ctx.bodyPool);
  const input: { -readonly [K in keyof SnapshotInput]: SnapshotInput[K] } = { key, state };
  if (version !== undefined) input.version = version;
  if (trace !== undefined) input.trace = trace;
  if (source !== undefined) input.source = source;
  await write(ctx, req, res, input, ifVersion);
}

/** `DELETE /sbmp/v3/state/{key}` with `SBMP-Version` or `If-Match`: writes a tombstone at that version. */
export async function deleteState(
  ctx: ServerContext,
  req: IncomingMessage,
  res: ServerResponse,
  key: string,
) {
  const { version, ifVersion } = writeVersions(req);
  if (version === undefined && ifVersion === undefined) {
    throw new SbmpError('bad_version', 'DELETE needs a version: SBMP-Version: <n> or If-Match: "<current>"');
  }
  const input: { -readonly [K in keyof SnapshotInput]: SnapshotInput[K] } = {
    key,
    state: null,
    deleted: true,
  };
  if (version !== undefined) input.version = version;
  const source = sourceOf(req);
  if (source !== undefined) input.source = source;
  const trace = traceOf(req);
  if (trace !== undefined) input.trace = trace;
  await write(ctx, req, res, input, ifVersion);
}

/** True when an `If-None-Match` list names `etag` (or is `*`). */
function etagMatches(ifNoneMatch: string, etag: string): boolean {
  for (const part of ifNoneMatch.split(',')) {
    const tag = part.trim().replace(/^W\//, '');
    if (tag === '*' || tag === etag) return true;
  }
  return false;
}

/** `GET /sbmp/v3/state/{key}`: the snapshot with `ETag: "<version>"`; 304 for a matching `If-None-Match`. */
export async function getState(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, key: string) {
  const snapshot = await ctx.store.get(key);
  if (snapshot === undefined || snapshot.deleted === true) {
    const details: Record<string, unknown> = { key };
    if (snapshot !== undefined) details.version = snapshot.version;
    const message =
      snapshot === undefined
        ? `no state for '${key}'`
        : `'${key}' was deleted at version ${snapshot.version}`;
    sendError(res, new SbmpError('not_found', message, { details }));
    return;
  }
  const etag = `"${snapshot.version}"`;
  const headers = {
    ETag: etag,
    'Cache-Control': 'no-cache',
    'SBMP-Revision': snapshot.revision,
    ...traceResponseHeaders(snapshot.trace),
  };
  const ifNoneMatch = header(req, 'if-none-match');
  if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  sendJsonText(res, 200, snapshotJsonText(snapshot), headers);
}

/** `GET /sbmp/v3/state?prefix=&cursor=&limit=&includeDeleted=`: one page of snapshots in key order. */
export async function listState(ctx: ServerContext, res: ServerResponse, query: URLSearchParams) {
  const prefix = query.get('prefix') ?? '';
  const cursor = query.get('cursor') ?? undefined;
  const limitText = query.get('limit');
  let limit: number | undefined;
  if (limitText !== null) {
    if (!/^[0-9]{1,7}$/.test(limitText)) {
      throw new SbmpError('bad_request', `limit must be a positive integer, got '${limitText.slice(0, 40)}'`);
    }
    limit = Number(limitText);
  }
  const includeDeleted = query.get('includeDeleted') === 'true';
  const page = await ctx.store.list(prefix, { cursor, limit, includeDeleted });
  const body: { items: unknown[]; cursor?: string } = { items: page.items.map(toSnapshotJson) };
  if (page.cursor !== undefined) body.cursor = page.cursor;
  sendJson(res, 200, body);
}
