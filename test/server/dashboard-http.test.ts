import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { TestServer } from './helpers.js';
import { startTestServer } from './helpers.js';

const run = promisify(execFile);

let t: TestServer;
let dir: string;
before(async () => {
  t = await startTestServer();
  dir = await mkdtemp(join(tmpdir(), 'sbmp-dashboard-'));
});
after(async () => {
  await t.close();
  await rm(dir, { recursive: true, force: true });
});

const ASSETS = [
  ['/', /^text\/html; charset=utf-8$/],
  ['/dashboard.css', /^text\/css; charset=utf-8$/],
  ['/dashboard.js', /^text\/javascript; charset=utf-8$/],
  ['/dashboard-dom.js', /^text\/javascript; charset=utf-8$/],
  ['/dashboard-keys.js', /^text\/javascript; charset=utf-8$/],
  ['/dashboard-figures.js', /^text\/javascript; charset=utf-8$/],
  ['/dashboard-stream.js', /^text\/javascript; charset=utf-8$/],
  ['/favicon.svg', /^image\/svg\+xml$/],
] as const;

function cspDirectives(header: string | null): Map<string, string> {
  assert.ok(header, 'Content-Security-Policy is missing');
  const directives = new Map<string, string>();
  for (const part of header.split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) directives.set(name, values.join(' '));
  }
  return directives;
}

describe('GET / (the dashboard)', () => {
  test('is HTML with a strict same-origin Content-Security-Policy and no-cache', async () => {
    const res = await fetch(`${t.url}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const csp = cspDirectives(res.headers.get('content-security-policy'));
    assert.equal(csp.get('default-src'), "'none'");
    for (const directive of ['script-src', 'style-src', 'connect-src', 'img-src']) {
      assert.equal(csp.get(directive), "'self'", directive);
    }
    assert.equal(csp.get('frame-ancestors'), "'none'");
    assert.doesNotMatch(res.headers.get('content-security-policy') ?? '', /unsafe|\*|https?:/);
    const html = await res.text();
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /<script type="module" src="\/dashboard.js"><\/script>/);
    assert.match(html, /<link rel="stylesheet" href="\/dashboard.css">/);
    // The policy forbids inline code: every script has a src, no style element or attribute, no handlers.
    assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)/);
    assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i);
    assert.doesNotMatch(html, /https?:\/\//);
  });

  test('every file has its content type, the policy, an ETag honoured by If-None-Match, and HEAD', async () => {
    for (const [path, type] of ASSETS) {
      const res = await fetch(`${t.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', type, path);
      assert.equal(res.headers.get('cache-control'), 'no-cache', path);
      assert.ok(res.headers.get('content-security-policy'), path);
      const body = await res.text();
      assert.ok(body.length > 0, path);
      const etag = res.headers.get('etag');
      assert.match(etag ?? '', /^"[A-Za-z0-9_-]+"$/, path);

      const again = await fetch(`${t.url}${path}`, { headers: { 'If-None-Match': etag! } });
      assert.equal(again.status, 304, path);
      assert.equal(await again.text(), '');

      const head = await fetch(`${t.url}${path}`, { method: 'HEAD' });
      assert.equal(head.status, 200, path);
      assert.equal(head.headers.get('content-length'), String(Buffer.byteLength(body)), path);
      assert.equal(await head.text(), '');
    }
  });

  test('other methods are refused with method_not_allowed and Allow', async () => {
    const res = await fetch(`${t.url}/`, { method: 'POST', body: 'x' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
    assert.equal(((await res.json()) as { code: string }).code, 'method_not_allowed');
  });

  test('an unknown path next to the dashboard is still not_found', async () => {
    const res = await fetch(`${t.url}/dashboard.map`);
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { code: string }).code, 'not_found');
  });

  test('the browser modules are valid JavaScript modules', async () => {
    const modules = ASSETS.map(([path]) => path).filter((path) => path.endsWith('.js'));
    assert.equal(modules.length, 5);
    for (const path of modules) {
      const file = join(dir, `${path.slice(1, -3)}.mjs`);
      await writeFile(file, await (await fetch(`${t.url}${path}`)).text());
      // Rejects (exit code 1, the syntax error on stderr) when the module does not parse.
      await run(process.execPath, ['--check', file], { timeout: 10_000 });
    }
  });
});
