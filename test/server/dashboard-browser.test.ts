import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, skipWithoutChromium } from './chromium.js';
import type { TestServer } from './helpers.js';
import { startTestServer, WAIT_MS } from './helpers.js';

/** Console messages of the refusals the tests cause on purpose: the stale publish, the bad pattern. */
const EXPECTED_REFUSALS = /Failed to load resource: the server responded with a status of (409|400)\b/;
const OUTPUT_DIR = fileURLToPath(new URL('../../test-output/', import.meta.url));
const SCREENSHOT = `${OUTPUT_DIR}dashboard.png`;

let t: TestServer;
let browser: Browser;
let page: Page;
const problems: string[] = [];
const offOrigin: string[] = [];

async function put(key: string, state: unknown, version: number): Promise<void> {
  const res = await fetch(`${t.url}/sbmp/v3/state/${key}`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json', 'SBMP-Version': String(version), 'SBMP-Source': 'e2e' },
    body: JSON.stringify(state),
  });
  assert.equal(res.status, 200, `publish ${key} v${version}: ${await res.text()}`);
}

function row(key: string, version?: number) {
  const versionPart = version === undefined ? '' : `[data-version="${version}"]`;
  return page.locator(`#keys-body tr[data-key="${key}"]${versionPart}`);
}

async function textOf(selector: string): Promise<string> {
  return (await page.locator(selector).textContent({ timeout: WAIT_MS })) ?? '';
}

/** Waits, bounded, until the element's text matches `pattern`. */
async function waitForText(selector: string, pattern: RegExp): Promise<void> {
  await page.waitForFunction(
    ([sel, source, flags]) => new RegExp(source, flags).test(document.querySelector(sel)?.textContent ?? ''),
    [selector, pattern.source, pattern.flags] as const,
    { timeout: WAIT_MS },
  );
}

/**
 * The dashboard in a real headless Chromium (Debian's package, driven by playwright-core):
 * live keys, filtering, a stale publish refused through the form, health figures. Skipped
 * with a reason when Chromium is not installed, except under CI=true, where that fails.
 */
describe('dashboard in a headless browser', { skip: skipWithoutChromium }, () => {
  before(async () => {
    t = await startTestServer();
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('console', (message) => {
      // The browser logs every refused request; the refusals these tests provoke are expected.
      const text = message.text();
      if (message.type() === 'error' && !EXPECTED_REFUSALS.test(text)) problems.push(`console: ${text}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('request', (request) => {
      if (!request.url().startsWith(`${t.url}/`)) offOrigin.push(request.url());
    });
  });

  after(async () => {
    await browser?.close();
    await t?.close();
  });

  test('shows the keys with their versions, live', async () => {
    await put('orders/eu/1001', { status: 'paid', total: 42.5 }, 3);
    await put('orders/us/2001', { status: 'new' }, 1);
    await put('devices/dk-7', { online: true, battery: 0.82 }, 12);
    const response = await page.goto(`${t.url}/`, { timeout: WAIT_MS });
    assert.equal(response?.status(), 200);
    await row('orders/eu/1001', 3).waitFor({ timeout: WAIT_MS });
    await row('devices/dk-7', 12).waitFor({ timeout: WAIT_MS });
    await page.locator('#watch-status[data-state="live"]').waitFor({ timeout: WAIT_MS });

    await put('orders/eu/1001', { status: 'shipped', total: 42.5 }, 4);
    await put('orders/eu/1002', { status: 'new', total: 9 }, 1);
    await row('orders/eu/1001', 4).waitFor({ timeout: WAIT_MS });
    await row('orders/eu/1002', 1).waitFor({ timeout: WAIT_MS });
    assert.equal(await textOf('#keys-body tr[data-key="orders/eu/1001"] td.source'), 'e2e');
    assert.match(await textOf('#keys-body tr[data-key="orders/eu/1001"] td.state'), /shipped/);
  });

  test('a pattern shows only the keys it matches', async () => {
    await page.locator('#pattern').fill('orders/eu/*');
    await page.locator('#filter-form button').click();
    await row('devices/dk-7').waitFor({ state: 'detached', timeout: WAIT_MS });
    await row('orders/eu/1001', 4).waitFor({ timeout: WAIT_MS });
    await page.locator('#watch-status[data-state="live"]').waitFor({ timeout: WAIT_MS });
    // Published in this order, so by the time the second shows, the first was delivered if it matched.
    await put('orders/us/2002', { status: 'new' }, 1);
    await put('orders/eu/1003', { status: 'new' }, 1);
    await row('orders/eu/1003', 1).waitFor({ timeout: WAIT_MS });
    const shown = await page.locator('#keys-body tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.key));
    assert.deepEqual(shown, ['orders/eu/1001', 'orders/eu/1002', 'orders/eu/1003']);
    assert.match(await textOf('#keys-count'), /3 keys matching/);
    assert.match(page.url(), /pattern=orders%2Feu%2F\*/);
  });

  test('clicking a row offers its next version in the form', async () => {
    await row('orders/eu/1002').click();
    assert.equal(await page.locator('#publish-key').inputValue(), 'orders/eu/1002');
    assert.equal(await page.locator('#publish-version').inputValue(), '2');
    assert.deepEqual(JSON.parse(await page.locator('#publish-state').inputValue()), {
      status: 'new',
      total: 9,
    });
  });

  test('a stale publish through the form is refused with the current version', async () => {
    await page.locator('#publish-key').fill('orders/eu/1001');
    await page.locator('#publish-version').fill('5');
    await page.locator('#publish-state').fill('{"status": "delivered"}');
    await page.locator('#publish-button').click();
    await page
      .locator('#publish-result[data-outcome="applied"][data-current="5"]')
      .waitFor({ timeout: WAIT_MS });
    await row('orders/eu/1001', 5).waitFor({ timeout: WAIT_MS });
    assert.equal(await textOf('#keys-body tr[data-key="orders/eu/1001"] td.source'), 'dashboard');

    await page.locator('#publish-version').fill('2');
    await page.locator('#publish-state').fill('{"status": "late"}');
    await page.locator('#publish-button').click();
    const refused = page.locator('#publish-result[data-outcome="refused"][data-code="stale"]');
    await refused.waitFor({ timeout: WAIT_MS });
    assert.equal(await refused.getAttribute('data-current'), '5');
    assert.equal(await textOf('#publish-result .current-version'), '5');
    const stored = (await (await fetch(`${t.url}/sbmp/v3/state/orders/eu/1001`)).json()) as {
      version: number;
      state: unknown;
    };
    assert.equal(stored.version, 5);
    assert.deepEqual(stored.state, { status: 'delivered' });
    assert.equal(await row('orders/eu/1001', 5).count(), 1);
  });

  test('shows health, memory, lag, rates and latency', async () => {
    await page.locator('#health-status[data-status="ok"]').waitFor({ timeout: WAIT_MS });
    assert.equal(await textOf('#server-id'), 'test');
    assert.equal(await textOf('#store'), 'memory');
    await waitForText('#memory', /\d+(\.\d)? (B|KiB|MiB|GiB)|\d+ %/);
    await waitForText('#memory-sub', /\d/);
    await waitForText('#lag', /\d ms$/);
    await waitForText('#connections', /^\d+$/);
    await waitForText('#publish-results', /applied [1-9]\d* · stale 1$/);
    await waitForText('#publish-rate', /\/s$/);
    await waitForText('#publish-latency', /(µs|ms|s)$/);
    await waitForText('#delivery-latency', /(µs|ms|s)$/);
    await waitForText('#conflated', /^\d+$/);
    await waitForText('#fanout-subscriptions', /^[1-9]\d*$/);
    // The server's own pool, used by the test's HTTP publishes, is listed.
    await page.locator('tr[data-pool="sbmp.http.body.v1"]').waitFor({ timeout: WAIT_MS });
    assert.equal(await page.locator('#pools-empty').isHidden(), true);
  });

  test('loads nothing from elsewhere, breaks no CSP rule, throws nothing; screenshot', async () => {
    await mkdir(OUTPUT_DIR, { recursive: true });
    await page.screenshot({ path: SCREENSHOT, timeout: WAIT_MS });
    assert.deepEqual(offOrigin, []);
    assert.deepEqual(problems, []);
  });

  test('a malformed pattern is shown with its error code, and a good one recovers', async () => {
    await page.locator('#pattern').fill('orders/>/1001');
    await page.locator('#filter-form button').click();
    await page.locator('#watch-error[data-code="bad_pattern"]').waitFor({ timeout: WAIT_MS });
    await page.locator('#watch-status[data-state="failed"]').waitFor({ timeout: WAIT_MS });
    assert.equal(await page.locator('#keys-body tr').count(), 0);
    await page.locator('#pattern').fill('devices/>');
    await page.locator('#filter-form button').click();
    await row('devices/dk-7', 12).waitFor({ timeout: WAIT_MS });
    await page.locator('#watch-error').waitFor({ state: 'hidden', timeout: WAIT_MS });
    assert.deepEqual(problems, []);
  });
});
