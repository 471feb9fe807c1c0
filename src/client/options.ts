import type { StateEncoding } from '../codec/frame-types.js';
import { SbmpError } from '../core/errors.js';
import type { ReconnectOptions, ResolvedReconnectOptions } from './backoff.js';
import { resolveReconnectOptions } from './backoff.js';
import type { TransportFactory } from './transport.js';
import { webSocketTransport } from './transport.js';
import { resolveServerUrls } from './urls.js';

export interface ClientOptions {
  /**
   * The server: its HTTP address (`http://127.0.0.1:7400`) or WebSocket endpoint
   * (`ws://127.0.0.1:7400/sbmp/v3/ws`); the other is derived.
   */
  readonly url: string;
  /** HTTP API origin, when it differs from the one derived from `url`. */
  readonly httpUrl?: string;
  /** Identifies this client to the server (logs, metrics). Default: `sbmp-js-` + random hex. */
  readonly clientId?: string;
  /** Bearer token (signed JWT), or a function returning a fresh one for each (re)connection. */
  readonly token?: string | (() => string | Promise<string>);
  /** How states travel: `msgpack` (default, compact) or `json`. */
  readonly encoding?: StateEncoding;
  /**
   * Most publishes awaiting their ack at once. Default 256; the server's own limit (from
   * WELCOME) caps it further. Later publishes wait, in order, for room.
   */
  readonly maxInFlight?: number;
  /**
   * Most publishes waiting for room in the in-flight window (or for a connection). Default
   * 65 536. One more is refused at once with `limit_exceeded`, so a producer far ahead of the
   * server learns it instead of filling memory.
   */
  readonly maxQueued?: number;
  readonly reconnect?: ReconnectOptions;
  /** Time for the socket to open and the server to answer HELLO. Default 10 000 ms; then `timeout`. */
  readonly connectTimeoutMs?: number;
  /**
   * PING interval. Default 15 000 ms. A connection on which nothing arrived for two intervals
   * is closed and replaced, so a server that vanished without closing is noticed.
   */
  readonly heartbeatMs?: number;
  /** Time an HTTP request (`get`) may take. Default 30 000 ms; then `timeout`. */
  readonly httpTimeoutMs?: number;
  /** How to open a connection. Default: WebSocket (the global one, else the `ws` package). */
  readonly transport?: TransportFactory;
  /** `fetch` for the HTTP API. Default: the global `fetch`. */
  readonly fetch?: typeof fetch;
  /** Called with errors that belong to no call (a listener threw, the server sent junk). Default: none. */
  readonly onError?: (error: unknown) => void;
}

export interface ResolvedClientOptions {
  readonly wsUrl: string;
  readonly httpUrl: string;
  readonly clientId: string;
  readonly token: ClientOptions['token'];
  readonly encoding: StateEncoding;
  readonly maxInFlight: number;
  readonly maxQueued: number;
  readonly reconnect: ResolvedReconnectOptions;
  readonly connectTimeoutMs: number;
  readonly heartbeatMs: number;
  readonly httpTimeoutMs: number;
  readonly transport: TransportFactory;
  readonly fetch: typeof fetch | undefined;
  readonly onError: ((error: unknown) => void) | undefined;
}

/** Validates options up front; a bad one is `bad_config` naming the option. */
export function resolveClientOptions(options: ClientOptions): ResolvedClientOptions {
  if (options === null || typeof options !== 'object') {
    throw new SbmpError('bad_config', 'SbmpClient.connect needs an options object with a url');
  }
  if (typeof options.url !== 'string') {
    throw new SbmpError('bad_config', 'options.url must be a string such as http://127.0.0.1:7400', {
      details: { option: 'url' },
    });
  }
  const { wsUrl, httpUrl } = resolveServerUrls(options.url, options.httpUrl);
  const encoding = options.encoding ?? 'msgpack';
  if (encoding !== 'msgpack' && encoding !== 'json') {
    throw new SbmpError(
      'bad_config',
      `options.encoding must be 'msgpack' or 'json', got '${String(encoding)}'`,
      {
        details: { option: 'encoding' },
      },
    );
  }
  const clientId = options.clientId ?? `sbmp-js-${randomHex(8)}`;
  if (typeof clientId !== 'string' || clientId.length === 0 || clientId.length > 256) {
    throw new SbmpError('bad_config', 'options.clientId must be a string of 1..256 characters', {
      details: { option: 'clientId' },
    });
  }
  return {
    wsUrl,
    httpUrl,
    clientId,
    token: options.token,
    encoding,
    maxInFlight: positiveInteger(options.maxInFlight, 256, 'maxInFlight'),
    maxQueued: positiveInteger(options.maxQueued, 65_536, 'maxQueued'),
    reconnect: resolveReconnectOptions(options.reconnect),
    connectTimeoutMs: positiveInteger(options.connectTimeoutMs, 10_000, 'connectTimeoutMs'),
    heartbeatMs: positiveInteger(options.heartbeatMs, 15_000, 'heartbeatMs'),
    httpTimeoutMs: positiveInteger(options.httpTimeoutMs, 30_000, 'httpTimeoutMs'),
    transport: options.transport ?? webSocketTransport,
    fetch: options.fetch,
    onError: options.onError,
  };
}

function positiveInteger(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new SbmpError('bad_config', `options.${option} must be a positive integer, got ${String(value)}`, {
      details: { option },
    });
  }
  return value;
}

function randomHex(bytes: number): string {
  const buffer = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(buffer);
  return Array.from(buffer, (b) => b.toString(16).padStart(2, '0')).join('');
}
