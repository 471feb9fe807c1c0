import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DASHBOARD_CSS } from './css.js';
import { DASHBOARD_FAVICON_SVG } from './favicon.js';
import { DASHBOARD_HTML } from './html.js';
import { DASHBOARD_APP_JS } from './js-app.js';
import { DASHBOARD_DOM_JS } from './js-dom.js';
import { DASHBOARD_FIGURES_JS } from './js-figures.js';
import { DASHBOARD_KEYS_JS } from './js-keys.js';
import { DASHBOARD_STREAM_JS } from './js-stream.js';

/**
 * The page may load and talk to nothing but its own origin: scripts and styles from files
 * (no inline code, so injected markup cannot run), fetch and EventSource to the same server,
 * no frames, no plugins, no form posts (the publish form is sent by script).
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  readonly contentType: string;
  readonly body: Buffer;
  readonly etag: string;
}

function asset(contentType: string, text: string): Asset {
  const body = Buffer.from(text, 'utf8');
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  return { contentType, body, etag };
}

/** Every file of the dashboard, built once: the page at `/` and the modules it imports by relative path. */
const ASSETS: ReadonlyMap<string, Asset> = new Map([
  ['/', asset('text/html; charset=utf-8', DASHBOARD_HTML)],
  ['/dashboard.css', asset('text/css; charset=utf-8', DASHBOARD_CSS)],
  ['/dashboard.js', asset('text/javascript; charset=utf-8', DASHBOARD_APP_JS)],
  ['/dashboard-dom.js', asset('text/javascript; charset=utf-8', DASHBOARD_DOM_JS)],
  ['/dashboard-keys.js', asset('text/javascript; charset=utf-8', DASHBOARD_KEYS_JS)],
  ['/dashboard-figures.js', asset('text/javascript; charset=utf-8', DASHBOARD_FIGURES_JS)],
  ['/dashboard-stream.js', asset('text/javascript; charset=utf-8', DASHBOARD_STREAM_JS)],
  ['/favicon.svg', asset('image/svg+xml', DASHBOARD_FAVICON_SVG)],
]);

/** True for the paths the dashboard serves. */
export function isDashboardPath(path: string): boolean {
  return ASSETS.has(path);
}

/**
 * Serves one dashboard file. `no-cache` with an ETag: a browser revalidates on every load, so a
 * new server version is seen at once, and an unchanged file costs a 304.
 */
export function serveDashboardAsset(req: IncomingMessage, res: ServerResponse, path: string): void {
  const file = ASSETS.get(path);
  if (file === undefined) throw new Error(`not a dashboard path: ${path}`);
  const headers: Record<string, string | number> = {
    'Content-Type': file.contentType,
    'Cache-Control': 'no-cache',
    ETag: file.etag,
    'Content-Security-Policy': DASHBOARD_CSP,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  };
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch?.split(',').some((tag) => tag.trim() === file.etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  headers['Content-Length'] = file.body.length;
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : file.body);
}
