import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DASHBOARD_FIGURES_JS } from '../../src/server/dashboard/js-figures.js';
import type { TestServer } from './helpers.js';
import { startTestServer } from './helpers.js';

/** The shapes of `/dashboard-figures.js`, a plain browser module loaded here as is. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface FiguresModule {
  parsePrometheus(text: string, prefix?: string): Sample[];
  total(samples: Sample[], name: string, wanted?: Record<string, string>): number | undefined;
  quantileBetween(older: Sample[] | undefined, newer: Sample[], name: string, q: number): number | undefined;
  FigureHistory: new (
    keepMs: number,
  ) => {
    scrapes: unknown[];
    add(at: number, samples: Sample[]): void;
    latest(name: string, wanted?: Record<string, string>): number | undefined;
    rate(name: string, spanMs: number, wanted?: Record<string, string>): number | undefined;
    quantile(
      name: string,
      q: number,
      spanMs: number,
    ): { value: number | undefined; spanMs: number | undefined };
  };
  formatSeconds(s: number | undefined): string;
  formatBytes(n: number | undefined): string;
  formatAge(ms: number | undefined): string;
  formatUptime(ms: number | undefined): string;
  formatRate(r: number | undefined): string;
  formatCount(n: number | undefined): string;
  formatPercent(f: number | undefined): string;
}

let figures: FiguresModule;
let t: TestServer;
before(async () => {
  figures = (await import(
    `data:text/javascript;charset=utf-8,${encodeURIComponent(DASHBOARD_FIGURES_JS)}`
  )) as FiguresModule;
  t = await startTestServer();
});
after(async () => {
  await t.close();
});

function histogram(name: string, counts: Record<string, number>, labels = ''): string {
  return Object.entries(counts)
    .map(([le, n]) => `${name}_bucket{${labels}le="${le}"} ${n}`)
    .join('\n');
}

describe('dashboard figures', () => {
  test('reads the server’s own /metrics: publish results and deliveries by label', async () => {
    for (let version = 1; version <= 3; version++) {
      const res = await fetch(`${t.url}/sbmp/v3/state/fig/a`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json', 'SBMP-Version': String(version) },
        body: JSON.stringify({ version }),
      });
      assert.equal(res.status, 200);
    }
    const stale = await fetch(`${t.url}/sbmp/v3/state/fig/a`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json', 'SBMP-Version': '1' },
      body: '{}',
    });
    assert.equal(stale.status, 409);
    const samples = figures.parsePrometheus(await (await fetch(`${t.url}/metrics`)).text(), 'sbmp_');
    assert.ok(samples.every((s) => s.name.startsWith('sbmp_')));
    assert.equal(figures.total(samples, 'sbmp_publishes_total', { result: 'applied' }), 3);
    assert.equal(figures.total(samples, 'sbmp_publishes_total', { result: 'stale' }), 1);
    assert.equal(figures.total(samples, 'sbmp_publishes_total'), 4);
    assert.equal(figures.total(samples, 'sbmp_publish_seconds_count'), 4);
    assert.equal(figures.total(samples, 'sbmp_no_such_metric'), undefined);
    const p50 = figures.quantileBetween(undefined, samples, 'sbmp_publish_seconds', 0.5);
    assert.ok(p50 !== undefined && p50 > 0 && p50 <= 1, `p50 ${p50}`);
  });

  test('parses labels with escapes, +Inf and samples without labels', () => {
    const samples = figures.parsePrometheus(
      [
        '# HELP sbmp_x help text',
        '# TYPE sbmp_x counter',
        'sbmp_x{pool="a\\"b\\\\c",kind="x"} 5',
        'sbmp_y 1.5e3',
        'sbmp_z_bucket{le="+Inf"} 7',
        'process_cpu_seconds_total 9',
        '',
      ].join('\n'),
      'sbmp_',
    );
    assert.deepEqual(samples, [
      { name: 'sbmp_x', labels: { pool: 'a"b\\c', kind: 'x' }, value: 5 },
      { name: 'sbmp_y', labels: {}, value: 1500 },
      { name: 'sbmp_z_bucket', labels: { le: '+Inf' }, value: 7 },
    ]);
  });

  test('quantiles interpolate inside the bucket over the observations between two scrapes', () => {
    const older = figures.parsePrometheus(histogram('h', { '0.1': 10, '1': 10, '+Inf': 10 }));
    // 10 new observations, all between 0.1 and 1: the median sits half-way through that bucket.
    const newer = figures.parsePrometheus(histogram('h', { '0.1': 10, '1': 20, '+Inf': 20 }));
    assert.ok(Math.abs(figures.quantileBetween(older, newer, 'h', 0.5)! - 0.55) < 1e-9);
    // Since the start, half of the 20 are at or below 0.1.
    assert.ok(Math.abs(figures.quantileBetween(undefined, newer, 'h', 0.5)! - 0.1) < 1e-9);
    assert.equal(figures.quantileBetween(newer, newer, 'h', 0.5), undefined);
    // Observations past the last finite bound: that bound is all that is known.
    const beyond = figures.parsePrometheus(histogram('h', { '0.1': 10, '1': 20, '+Inf': 30 }));
    assert.equal(figures.quantileBetween(newer, beyond, 'h', 0.99), 1);
    // Label sets (e.g. transport) are summed per bound.
    const split = figures.parsePrometheus(
      `${histogram('h', { '1': 1, '+Inf': 1 }, 'transport="ws",')}\n${histogram('h', { '1': 3, '+Inf': 3 }, 'transport="http",')}`,
    );
    assert.ok(Math.abs(figures.quantileBetween(undefined, split, 'h', 0.5)! - 0.5) < 1e-9);
  });

  test('rates come from the scrapes within the span; a counter reset gives no rate', () => {
    const history = new figures.FigureHistory(10_000);
    const counter = (n: number) => figures.parsePrometheus(`c{result="applied"} ${n}\nc{result="stale"} 1`);
    history.add(0, counter(0));
    assert.equal(history.rate('c', 5000), undefined, 'one scrape gives no rate');
    assert.equal(history.latest('c', { result: 'applied' }), 0);
    history.add(1000, counter(100));
    history.add(5000, counter(900));
    history.add(6000, counter(1000));
    // Within 5 s of the newest (6 s): the scrape at 1 s, so (1000 - 100) / 5 s.
    assert.equal(history.rate('c', 5000, { result: 'applied' }), 180);
    assert.equal(history.rate('c', 1000), 100);
    history.add(7000, counter(3));
    assert.equal(history.rate('c', 1000), undefined);
    // Scrapes older than keepMs are dropped.
    history.add(30_000, counter(10));
    assert.equal(history.scrapes.length, 2);
    const quantile = history.quantile('c', 0.5, 5000);
    assert.equal(quantile.value, undefined);
  });

  test('formats figures for reading', () => {
    assert.equal(figures.formatSeconds(0.000_42), '420 µs');
    assert.equal(figures.formatSeconds(0.004_2), '4.20 ms');
    assert.equal(figures.formatSeconds(0.042), '42.0 ms');
    assert.equal(figures.formatSeconds(0.97), '970 ms');
    assert.equal(figures.formatSeconds(2.5), '2.50 s');
    assert.equal(figures.formatSeconds(undefined), '—');
    assert.equal(figures.formatBytes(512), '512 B');
    assert.equal(figures.formatBytes(3 * 1024 * 1024), '3.0 MiB');
    assert.equal(figures.formatAge(400), '0.4 s');
    assert.equal(figures.formatAge(-5000), '0.0 s');
    assert.equal(figures.formatAge(125_000), '2 min');
    assert.equal(figures.formatUptime(3_725_000), '1 h 02 min');
    assert.equal(figures.formatRate(12.345), '12.3 /s');
    assert.equal(figures.formatRate(12_345), '12,345 /s');
    assert.equal(figures.formatCount(1_234_567), '1,234,567');
    assert.equal(figures.formatPercent(0.853), '85 %');
  });
});
