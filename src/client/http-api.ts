import type { ApplyResult } from '../core/apply.js';
import { isErrorCode, SbmpError } from '../core/errors.js';
import { validateKey } from '../core/key.js';
import type { StoredSnapshot } from '../core/snapshot.js';
import { validateVersion } from '../core/version.js';
import { resolveServerUrls } from './urls.js';

const API = '/sbmp/v3';

export interface HttpApiOptions {
  /** Defaults to the global `fetch`. */
  readonly fetch?: typeof fetch;
  /** Bearer token sent as `Authorization`. */
  readonly token?: string | (() => string | Promise<string>);
  /** Time allowed for one request. Default 30 000 ms; then `timeout`. */
  readonly timeoutMs?: number;
}

export interface HttpPutOptions {
  /** Write exactly this version (`SBMP-Version`). */
  readonly version?: number;
  /** Compare-and-set (`If-Match`): apply only if the current version is this; alone it writes current+1. */
  readonly ifVersion?: number;
}

/** The outcome of a PUT or DELETE: `stale` and `conflict` are values, with the current version. */
export interface HttpWriteOutcome {
  readonly key: string;
  readonly result: ApplyResult;
  /** Applied version, or for stale / conflict the version currently held. */
  readonly version: number;
  /** Revision of the change (0 when refused and unknown). */
  readonly revision: number;
}

/** What `lookup` found: the snapshot, or that there is none (with a tombstone's version when deleted). */
export type Lookup =
  | { readonly found: true; readonly snapshot: StoredSnapshot }
  | { readonly found: false; readonly deletedVersion?: number };

export interface HttpListPage {
  readonly items: readonly StoredSnapshot[];
  readonly cursor?: string;
}

/**
 * The server's HTTP API (JSON): reads, writes and listing without a WebSocket. Failures are
 * `SbmpError`s with the server's code; an unreachable server is `unavailable`.
 */
export class HttpApi {
  readonly baseUrl: string;
  readonly #fetch: typeof fetch;
  readonly #token: HttpApiOptions['token'];
  readonly #timeoutMs: number;

  /** `baseUrl`: the server's HTTP address, or its WebSocket endpoint (the origin is derived). */
  constructor(baseUrl: string, options: HttpApiOptions = {}) {
    this.baseUrl = /^wss?:/i.test(baseUrl) ? resolveServerUrls(baseUrl).httpUrl : baseUrl.replace(/\/+$/, '');
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** The current snapshot of `key`, or undefined when it does not exist or is deleted. */
  async get(key: string): Promise<StoredSnapshot | undefined> {
    const found = await this.lookup(key);
    return found.found ? found.snapshot : undefined;
  }

  async lookup(key: string): Promise<Lookup> {
    const response = await this.#request('GET', statePath(key));
    if (response.status === 404) {
      const body = (await readJson(response)) as { code?: unknown; version?: unknown } | undefined;
      if (body?.code !== undefined && body.code !== 'not_found') throw errorFromBody(response, body);
      return typeof body?.version === 'number' && body.version > 0
        ? { found: false, deletedVersion: body.version }
        : { found: false };
    }
    if (!response.ok) throw errorFromBody(response, await readJson(response));
    return { found: true, snapshot: fromSnapshotJson(await readJson(response)) };
  }

  /** Writes `state` as the new snapshot of `key`: at `version`, at current+1, or compare-and-set. */
  async put(key: string, state: unknown, options: HttpPutOptions = {}): Promise<HttpWriteOutcome> {
    const headers = versionHeaders(options);
    headers['content-type'] = 'application/json';
    const response = await this.#request('PUT', statePath(key), headers, JSON.stringify(state ?? null));
    return writeOutcome(key, response);
  }

  /** Deletes `key` by writing a tombstone at `version`; later writes below it are stale. */
  async delete(key: string, options: HttpPutOptions): Promise<HttpWriteOutcome> {
    const response = await this.#request('DELETE', statePath(key), versionHeaders(options));
    return writeOutcome(key, response);
  }

  /** One page of the snapshots whose keys start with `prefix`, in key order. */
  async list(prefix = '', options: { cursor?: string; limit?: number } = {}): Promise<HttpListPage> {
    const query = new URLSearchParams({ prefix });
    if (options.cursor !== undefined) query.set('cursor', options.cursor);
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    const response = await this.#request('GET', `${API}/state?${query}`);
    if (!response.ok) throw errorFromBody(response, await readJson(response));
    const body = (await readJson(response)) as HttpListPage | undefined;
    if (body === undefined || !Array.isArray(body.items)) {
      throw new SbmpError('bad_frame', 'the server answered a listing without an items array');
    }
    const items = body.items.map(fromSnapshotJson);
    return body.cursor === undefined ? { items } : { items, cursor: body.cursor };
  }

  async #request(method: string, path: string, headers: Record<string, string> = {}, body?: string) {
    const url = this.baseUrl + path;
    const token = typeof this.#token === 'function' ? await this.#token() : this.#token;
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    headers.accept = 'application/json';
    try {
      return await this.#fetch(url, {
        method,
        headers,
        signal: AbortSignal.timeout(this.#timeoutMs),
        ...(body === undefined ? {} : { body }),
      });
    } catch (cause) {
      if ((cause as { name?: string }).name === 'TimeoutError') {
        throw new SbmpError('timeout', `${method} ${url}: no answer within ${this.#timeoutMs} ms`, {
          cause,
          details: { url },
        });
      }
      throw new SbmpError('unavailable', `cannot reach ${this.baseUrl}: ${describeNetworkError(cause)}`, {
        cause,
        details: { url },
      });
    }
  }
}

/** A snapshot from its HTTP JSON form; a byte state travels base64 (`stateEncoding: 'base64'`) and is decoded back. */
function fromSnapshotJson(json: unknown): StoredSnapshot {
  const body = json as StoredSnapshot & { stateEncoding?: string };
  if (
    body === null ||
    typeof body !== 'object' ||
    typeof body.key !== 'string' ||
    typeof body.version !== 'number'
  ) {
    throw new SbmpError('bad_frame', 'the server answered with something that is not a snapshot');
  }
  if (body.stateEncoding !== 'base64' || typeof body.state !== 'string') return body;
  const { stateEncoding: _, ...rest } = body;
  const binary = atob(body.state);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return { ...rest, state: bytes };
}

function statePath(key: string): string {
  // Key characters are URL-safe by construction; validating first keeps a bad key a local error.
  return `${API}/state/${validateKey(key)}`;
}

function versionHeaders(options: HttpPutOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  if (options.version !== undefined) headers['sbmp-version'] = String(validateVersion(options.version));
  if (options.ifVersion !== undefined) {
    if (options.ifVersion !== 0) validateVersion(options.ifVersion, 'ifVersion');
    headers['if-match'] = `"${options.ifVersion}"`;
  }
  return headers;
}

async function writeOutcome(key: string, response: Response): Promise<HttpWriteOutcome> {
  const body = (await readJson(response)) as Record<string, unknown> | undefined;
  if (response.status === 409 && (body?.code === 'stale' || body?.code === 'conflict')) {
    const current = typeof body.current === 'number' ? body.current : 0;
    const revision = typeof body.revision === 'number' ? body.revision : 0;
    return { key, result: body.code, version: current, revision };
  }
  if (!response.ok) throw errorFromBody(response, body);
  return {
    key,
    result: (body?.result as ApplyResult | undefined) ?? 'applied',
    version: Number(body?.version ?? 0),
    revision: Number(body?.revision ?? 0),
  };
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.slice(0, 500) };
  }
}

/** The server's `{ code, message, ...details }` as an SbmpError; a body without a code maps from the status. */
function errorFromBody(response: Response, body: unknown): SbmpError {
  const { code, message, ...details } = (body ?? {}) as Record<string, unknown>;
  const known = isErrorCode(code) ? code : codeForStatus(response.status);
  const text = typeof message === 'string' ? message : `HTTP ${response.status} ${response.statusText}`;
  return new SbmpError(known, text, { details: { ...details, status: response.status } });
}

function codeForStatus(status: number) {
  if (status === 400) return 'bad_request';
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 413) return 'too_large';
  if (status === 429) return 'limit_exceeded';
  if (status === 503) return 'unavailable';
  return 'internal';
}

function describeNetworkError(error: unknown): string {
  // Node's fetch wraps the socket error (ECONNREFUSED, ENOTFOUND, ...) in `cause`.
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code !== undefined) return cause.code;
  if (cause?.message !== undefined) return cause.message;
  return error instanceof Error ? error.message : String(error);
}
