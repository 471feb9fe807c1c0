// Event-loop lag wired into a real server: a blocked loop shows in the health stream, /debug/vars
// and metrics. The server runs in this process, so blocking this thread blocks its loop.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HealthReport } from '../../src/server/http/health.js';
import { metricValue, SseClient, startTestServer } from './helpers.js';

/** Blocks the event loop for `ms`, as a long synchronous task would. */
function busyWait(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

test('a loop blocked for 300 ms shows in the health stream, /debug/vars and metrics', async () => {
  const server = await startTestServer();
  const health = await SseClient.open(`${server.url}/sbmp/v3/health/stream`);
  try {
    const first = JSON.parse(
      (await health.next((e) => e.event === 'health', 'first report')).data,
    ) as HealthReport;
    assert.ok(first.eventLoopLag.maxMs < 250, `an idle loop already lagging: ${first.eventLoopLag.maxMs} ms`);
    const before = await metricValue(server.url, 'sbmp_event_loop_lag_window_max_seconds_bucket', {
      le: '0.25',
    });
    const countBefore = await metricValue(server.url, 'sbmp_event_loop_lag_window_max_seconds_count');
    assert.equal(before, countBefore, 'no window lagged 250 ms before the block');

    const mark = health.events.length;
    busyWait(300);
    const event = await health.next(
      (e) =>
        health.events.indexOf(e) >= mark &&
        e.event === 'health' &&
        (JSON.parse(e.data) as HealthReport).eventLoopLag.maxMs >= 250,
      'a report with the stall',
    );
    const report = JSON.parse(event.data) as HealthReport;
    assert.ok(report.eventLoopLag.maxMs < 2000, `max ${report.eventLoopLag.maxMs} ms`);
    assert.ok(report.eventLoopLag.samples > 0);

    // The histogram keeps each window's worst lag, so the stall stays visible to any later scrape.
    const count = await metricValue(server.url, 'sbmp_event_loop_lag_window_max_seconds_count');
    const atMost250 = await metricValue(server.url, 'sbmp_event_loop_lag_window_max_seconds_bucket', {
      le: '0.25',
    });
    assert.ok(count - atMost250 >= 1, `windows above 250 ms: ${count - atMost250}`);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(text, /^sbmp_event_loop_lag_seconds\{stat="max"\} /m);

    const vars = (await (await fetch(`${server.url}/debug/vars`)).json()) as { health: HealthReport };
    assert.equal(typeof vars.health.eventLoopLag.p99Ms, 'number');
    assert.equal(typeof vars.health.eventLoopLag.currentMs, 'number');
  } finally {
    health.close();
    await server.close();
  }
});
