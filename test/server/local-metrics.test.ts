import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { LocalCounter, LocalHistogram } from '../../src/server/observability/local-metrics.js';

/**
 * The local counters and histograms must read, at scrape time, exactly as prom-client's own
 * metrics fed with the same observations: the server's dashboards and alerts depend on it.
 */
const BUCKETS = [0.001, 0.01, 0.1, 1];
const OBSERVATIONS: [string, number][] = [
  ['ws', 0.0005],
  ['ws', 0.001],
  ['ws', 0.004],
  ['http', 0.2],
  ['ws', 2],
  ['http', 0.05],
  ['ws', 0.01],
];

describe('local metrics', () => {
  test('a LocalHistogram exposes what a prom-client Histogram with the same observations does', async () => {
    const local = new Registry();
    const reference = new Registry();
    const histogram = new LocalHistogram<'transport'>({
      name: 'x_seconds',
      help: 'help text',
      labelNames: ['transport'],
      buckets: BUCKETS,
      registers: [local],
    });
    const expected = new Histogram<'transport'>({
      name: 'x_seconds',
      help: 'help text',
      labelNames: ['transport'],
      buckets: BUCKETS,
      registers: [reference],
    });
    const ws = histogram.cell({ transport: 'ws' });
    for (const [transport, value] of OBSERVATIONS) {
      if (transport === 'ws') ws.observe(value);
      else histogram.cell({ transport }).observe(value);
      expected.observe({ transport }, value);
    }
    assert.equal(await local.metrics(), await reference.metrics());
    // prom-client adds `exemplar: null` to its own bucket values; everything else matches.
    const withoutExemplars = (json: unknown) =>
      JSON.parse(JSON.stringify(json).replaceAll('"exemplar":null,', ''));
    assert.deepEqual(
      withoutExemplars(await local.getMetricsAsJSON()),
      withoutExemplars(await reference.getMetricsAsJSON()),
    );
  });

  test('a bound on a bucket edge counts in that bucket (le is inclusive)', async () => {
    const registry = new Registry();
    const histogram = new LocalHistogram({ name: 'edge', help: 'h', buckets: [1, 2], registers: [registry] });
    histogram.cell().observe(1);
    histogram.cell().observe(2);
    histogram.cell().observe(2.0001);
    const text = await registry.metrics();
    assert.match(text, /edge_bucket\{le="1"\} 1\n/);
    assert.match(text, /edge_bucket\{le="2"\} 2\n/);
    assert.match(text, /edge_bucket\{le="\+Inf"\} 3\n/);
    assert.match(text, /edge_count 3/);
  });

  test('resetMetrics zeroes every histogram cell, and cells keep counting afterwards', async () => {
    const registry = new Registry();
    const histogram = new LocalHistogram({ name: 'r', help: 'h', buckets: [1], registers: [registry] });
    const cell = histogram.cell();
    cell.observe(0.5);
    registry.resetMetrics();
    assert.match(await registry.metrics(), /r_count 0/);
    cell.observe(3);
    const text = await registry.metrics();
    assert.match(text, /r_bucket\{le="1"\} 0\n/);
    assert.match(text, /r_count 1/);
  });

  test('a LocalCounter exposes what a prom-client Counter with the same increments does', async () => {
    const local = new Registry();
    const reference = new Registry();
    const counter = new LocalCounter<'result' | 'transport'>({
      name: 'p_total',
      help: 'publishes',
      labelNames: ['result', 'transport'],
      registers: [local],
    });
    const expected = new Counter<'result' | 'transport'>({
      name: 'p_total',
      help: 'publishes',
      labelNames: ['result', 'transport'],
      registers: [reference],
    });
    const applied = counter.cell({ result: 'applied', transport: 'ws' });
    for (let i = 0; i < 5; i++) applied.inc();
    counter.cell({ result: 'stale', transport: 'http' }).inc(3);
    expected.inc({ result: 'applied', transport: 'ws' }, 5);
    expected.inc({ result: 'stale', transport: 'http' }, 3);
    assert.equal(await local.metrics(), await reference.metrics());
    // The same label values, given in another order or object, reach the same cell.
    assert.equal(counter.cell({ transport: 'ws', result: 'applied' }), applied);
  });

  test('buckets that do not ascend are refused', () => {
    assert.throws(
      () => new LocalHistogram({ name: 'bad', help: 'h', buckets: [1, 1], registers: [new Registry()] }),
      /buckets must ascend/,
    );
  });
});
