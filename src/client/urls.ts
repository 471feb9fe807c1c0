import { WS_PATH } from '../codec/ws-protocol.js';
import { SbmpError } from '../core/errors.js';

export interface ServerUrls {
  /** `ws://` or `wss://` URL of the WebSocket endpoint. */
  readonly wsUrl: string;
  /** `http://` or `https://` origin of the HTTP API (no trailing slash). */
  readonly httpUrl: string;
}

/**
 * Accepts either URL a user is likely to have at hand — the server's HTTP address
 * (`http://127.0.0.1:7400`) or its WebSocket endpoint (`ws://127.0.0.1:7400/sbmp/v3/ws`) —
 * and derives the other, so one setting serves both transports.
 */
export function resolveServerUrls(url: string, httpUrl?: string): ServerUrls {
  const parsed = parseUrl(url, 'url');
  const secure = parsed.protocol === 'https:' || parsed.protocol === 'wss:';
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(parsed.protocol)) {
    throw new SbmpError(
      'bad_config',
      `url must start with ws://, wss://, http:// or https://, got '${url}'`,
      {
        details: { option: 'url' },
      },
    );
  }
  const isWs = parsed.protocol === 'ws:' || parsed.protocol === 'wss:';
  const ws = new URL(parsed.href);
  ws.protocol = secure ? 'wss:' : 'ws:';
  // An HTTP URL names the server; its WebSocket endpoint is at a fixed path.
  if (!isWs || ws.pathname === '/' || ws.pathname === '') ws.pathname = WS_PATH;
  const derivedHttp = `${secure ? 'https:' : 'http:'}//${parsed.host}`;
  const http = httpUrl === undefined ? derivedHttp : parseUrl(httpUrl, 'httpUrl').origin;
  return { wsUrl: ws.href, httpUrl: http };
}

function parseUrl(url: string, option: string): URL {
  try {
    return new URL(url);
  } catch (cause) {
    throw new SbmpError('bad_config', `${option} is not a valid URL: '${url}'`, {
      cause,
      details: { option },
    });
  }
}
