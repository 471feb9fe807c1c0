import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import type { AckFrame } from '../../src/codec/frame-types.js';
import { launchChromium, skipWithoutChromium } from '../server/chromium.js';
import type { TestServer } from '../server/helpers.js';
import { FrameClient, startTestServer, WAIT_MS } from '../server/helpers.js';

declare global {
  interface Window {
    /** The bundle of `sbmp/client` the tests load into the page. */
    sbmp: typeof import('../../src/client/index.js');
  }
}

/** What the page records of each delivered snapshot. */
interface Seen {
  key: string;
  version: number;
  source: string;
  state: unknown;
  deleted: boolean;
}

const ENTRY = fileURLToPath(new URL('../../src/client/index.ts', import.meta.url));

/** `sbmp/client` bundled for browsers, as a page would load it: `window.sbmp`. */
async function bundleClient(): Promise<string> {
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    globalName: 'sbmp',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

/**
 * The SDK itself in a real headless Chromium: the browser's own WebSocket (ArrayBuffer
 * messages), no `Buffer` (the portable string decoding), `queueMicrotask` batching of
 * publishes, and byte states. The Node tests cover the same code with Node's paths.
 */
describe('the SDK in a headless browser', { skip: skipWithoutChromium }, () => {
  let t: TestServer;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    const bundle = await bundleClient();
    t = await startTestServer();
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('console', (message) => {
      // The browser asks for a favicon on its own; the server has none.
      if (message.type() === 'error' && !message.location().url.endsWith('/favicon.ico')) {
        problems.push(`console: ${message.text()} (${message.location().url})`);
      }
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    // From the server's origin, so that get() (fetch) is same-origin.
    const response = await page.goto(`${t.url}/healthz`, { timeout: WAIT_MS });
    assert.equal(response?.status(), 200);
    await page.addScriptTag({ content: bundle });
    assert.equal(await page.evaluate(() => typeof Buffer), 'undefined', 'the page has no Buffer');
  });

  after(async () => {
    await browser?.close();
    await t?.close();
  });

  test('publishes a burst in few WebSocket messages; every publish is applied in order', async () => {
    const result = await page.evaluate(
      async ({ url }) => {
        // Counts the messages the page's WebSockets send.
        const counts = { sent: 0 };
        const Native = WebSocket;
        const send = Native.prototype.send;
        Native.prototype.send = function (this: WebSocket, data: Parameters<WebSocket['send']>[0]) {
          counts.sent++;
          return send.call(this, data);
        };
        const { SbmpClient } = window.sbmp;
        const client = await SbmpClient.connect({ url, clientId: 'browser-burst' });
        const sentBefore = counts.sent;
        const acks = [];
        for (let i = 1; i <= 200; i++)
          acks.push(client.publish('browser/burst', { n: i, text: 'grüße ✓' }, { version: i }));
        const answers = await Promise.all(acks);
        await client.close();
        Native.prototype.send = send;
        return {
          results: answers.map((a) => a.result),
          versions: answers.map((a) => a.version),
          messages: counts.sent - sentBefore,
        };
      },
      { url: t.url },
    );
    assert.deepEqual(new Set(result.results), new Set(['applied']));
    assert.deepEqual(
      result.versions,
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
    assert.ok(result.messages < 20, `200 publishes went out in ${result.messages} messages`);
    const stored = await t.store.get('browser/burst');
    assert.equal(stored?.version, 200);
    assert.deepEqual(stored?.state, { n: 200, text: 'grüße ✓' });
    assert.deepEqual(problems, []);
  });

  test('subscribes: the backlog, then live changes from another client, byte states and tombstones included', async () => {
    await t.store.put({ key: 'browser/live/a', version: 3, state: { where: 'backlog' } });
    const handle = await page.evaluateHandle(
      async ({ url }) => {
        const { SbmpClient } = window.sbmp;
        const client = await SbmpClient.connect({ url, clientId: 'browser-sub', encoding: 'msgpack' });
        const seen: Seen[] = [];
        const subscription = client.subscribe('browser/live/>', (s) => {
          const state =
            s.state instanceof Uint8Array
              ? { bytes: Array.from(s.state), own: s.state.buffer.byteLength }
              : s.state;
          seen.push({ key: s.key, version: s.version, source: s.source, state, deleted: s.deleted === true });
        });
        await subscription.synced;
        return { client, subscription, seen };
      },
      { url: t.url },
    );
    try {
      const node = await FrameClient.connect(t.wsUrl);
      try {
        const ack = (await node.publish(
          'browser/live/a',
          { where: 'live', note: 'ünïcødé' },
          { version: 4 },
        )) as AckFrame;
        assert.equal(ack.result, 'applied');
        await t.store.put({
          key: 'browser/live/bytes',
          version: 1,
          state: new Uint8Array([0, 1, 2, 250, 255]),
          contentType: 'application/octet-stream',
          source: 'sensor-ß',
        });
        await node.publish('browser/live/a', null, { version: 5, deleted: true });
        await node.publish('browser/live/a', { late: true }, { version: 2 });
      } finally {
        await node.close();
      }
      await page.waitForFunction((h) => h.seen.length >= 4, handle, { timeout: WAIT_MS });
      const seen: Seen[] = await handle.evaluate((h) => h.seen);
      assert.deepEqual(
        seen.map((s) => `${s.key}@${s.version}${s.deleted ? ' deleted' : ''}`),
        ['browser/live/a@3', 'browser/live/a@4', 'browser/live/bytes@1', 'browser/live/a@5 deleted'],
      );
      assert.deepEqual(seen[0]!.state, { where: 'backlog' });
      assert.deepEqual(seen[1]!.state, { where: 'live', note: 'ünïcødé' });
      const bytes = seen[2]!;
      assert.equal(bytes.source, 'sensor-ß', 'a non-ASCII label decodes without Buffer');
      assert.deepEqual(bytes.state, {
        bytes: [0, 1, 2, 250, 255],
        own: (bytes.state as { own: number }).own,
      });
      assert.ok((bytes.state as { own: number }).own <= 2048, 'a byte state does not keep the whole message');
      const held = await handle.evaluate((h) => ({
        version: h.subscription.replicas.version('browser/live/a'),
        has: h.subscription.replicas.has('browser/live/a'),
        size: h.subscription.replicas.size,
      }));
      assert.deepEqual(
        held,
        { version: 5, has: false, size: 1 },
        'the late v2 was refused; the tombstone holds',
      );
    } finally {
      await handle.evaluate((h) => h.client.close());
    }
    assert.deepEqual(problems, []);
  });

  test('get() reads a key over HTTP from the page', async () => {
    await t.store.put({ key: 'browser/get', version: 7, state: { ok: true } });
    const got = await page.evaluate(
      async ({ url }) => {
        const { SbmpClient } = window.sbmp;
        const client = await SbmpClient.connect({ url });
        try {
          const s = await client.get('browser/get');
          return { version: s?.version, state: s?.state };
        } finally {
          await client.close();
        }
      },
      { url: t.url },
    );
    assert.deepEqual(got, { version: 7, state: { ok: true } });
    assert.deepEqual(problems, []);
  });
});
