import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ChartOutcome } from '../../bench/lib/charts.js';
import { renderCharts, writeCharts } from '../../bench/lib/charts.js';
import type { Results, Row } from '../../bench/lib/report.js';
import { writeResults } from '../../bench/lib/report.js';

const SBMP = 'sbmp (ws, memory store)';
const ODD = 'peer <odd> & "quoted"';

function results(rows: Row[]): Results {
  return {
    startedAt: '2026-01-01T00:00:00.000Z',
    machine: { cpus: 2, cpuModel: 'test cpu', memoryGiB: 4, node: 'v20.0.0' },
    rows,
  };
}

function row(
  scenario: string,
  metric: string,
  subject: string,
  median: number,
  extra: Partial<Row> = {},
): Row {
  return {
    scenario,
    subject,
    metric,
    unit: 'msg/s',
    better: 'higher',
    figure: { median, min: median * 0.9, max: median * 1.1, runs: 3 },
    ...extra,
  };
}

/** Every network chart's scenario, with SBMP once per baseline as the scenarios write it. */
function fullRun(): Results {
  const lat = (metric: string, subject: string, v: number) =>
    row('latency', metric, subject, v, { unit: 'µs', better: 'lower' });
  return results([
    row('replica', 'applies/s', 'sbmp replica', 1e6),
    row('throughput-1-1', 'delivered/s', SBMP, 100, { baseline: 'nats core' }),
    row('throughput-1-1', 'delivered/s', SBMP, 100, { baseline: ODD }),
    row('throughput-1-1', 'delivered/s', 'nats core', 200),
    row('throughput-1-1', 'delivered/s', ODD, 400),
    row('throughput-1-1', 'published/s', 'nats core', 999),
    row('throughput-1-1', 'delivered/s', 'redis pub/sub', 0, {
      figure: { median: 0, min: 0, max: 0, runs: 0 },
      skipped: 'redis-server not installed',
    }),
    row('fanout-1-100', 'delivered/s', SBMP, 300),
    lat('p50', SBMP, 100),
    lat('p99', SBMP, 900),
    lat('p99.9', SBMP, 30_000),
    lat('p50', 'nats core', 80),
    row('slow-consumer', 'server RSS growth', SBMP, 2, { unit: 'MiB', better: 'lower' }),
    row('slow-consumer', 'server RSS growth', 'nats core', -1, { unit: 'MiB', better: 'lower' }),
    row('slow-consumer', 'backlog the server reports', 'nats core', 512, { unit: 'KiB', better: 'lower' }),
    row('durable', 'puts/s, 1 at a time', 'lmdb store direct', 5000, { unit: 'ops/s' }),
    row('durable', 'puts/s, 256 in flight', 'nats jetstream kv', 20_000, { unit: 'ops/s' }),
  ]);
}

/** Asserts the text is one well-formed SVG element: tags balanced, no stray `<` or `&`. */
function assertWellFormed(svg: string): void {
  assert.ok(svg.startsWith('<svg '), 'starts with <svg');
  assert.ok(svg.trimEnd().endsWith('</svg>'), 'ends with </svg>');
  const tags = [...svg.matchAll(/<(\/?)([A-Za-z][\w:-]*)((?:[^>"]|"[^"]*")*)>/g)];
  assert.equal(tags.length, svg.split('<').length - 1, 'every < opens a tag');
  const open: string[] = [];
  for (const [, closing, name, attrs] of tags) {
    if (closing === '/') assert.equal(open.pop(), name, `</${name}> closes the open element`);
    else if (!attrs!.trimEnd().endsWith('/')) open.push(name!);
  }
  assert.deepEqual(open, [], 'no element left open');
  assert.doesNotMatch(svg, /&(?!amp;|lt;|gt;|quot;)/, 'every & is an entity');
  assert.doesNotMatch(svg, /="(?:NaN|-?Infinity|undefined)"/, 'no attribute without a number');
}

function escaped(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The drawn bars of an SVG, in document order. */
function bars(svg: string): { subject: string; width: number; x: number }[] {
  return [
    ...svg.matchAll(/<rect class="bar" data-subject="([^"]*)"[^>]*? x="([^"]+)"[^>]*? width="([^"]+)"/g),
  ].map((m) => ({ subject: m[1]!, x: Number(m[2]), width: Number(m[3]) }));
}

function chart(outcomes: ChartOutcome[], file: string): string {
  const found = outcomes.find((c) => c.file === file);
  assert.ok(found?.svg !== undefined, `${file} is drawn`);
  return found.svg;
}

describe('benchmark charts', () => {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'sbmp-charts-'));
    dirs.push(dir);
    return dir;
  };

  it('draws every chart of a full run as well-formed SVG naming every subject', () => {
    const run = fullRun();
    const outcomes = renderCharts(run);
    assert.deepEqual(
      outcomes.map((c) => c.file),
      ['throughput.svg', 'latency.svg', 'slow-consumer.svg', 'durable.svg', 'in-process.svg'],
    );
    for (const outcome of outcomes) {
      assert.ok(outcome.svg !== undefined, `${outcome.file} is drawn`);
      assertWellFormed(outcome.svg);
    }
    const throughput = chart(outcomes, 'throughput.svg');
    for (const subject of [SBMP, 'nats core', ODD, 'redis pub/sub']) {
      assert.ok(throughput.includes(`>${escaped(subject)}</text>`), `label ${subject}`);
    }
    assert.ok(chart(outcomes, 'durable.svg').includes('lmdb store direct'));
    assert.ok(chart(outcomes, 'latency.svg').includes('p99.9'));
    assert.ok(chart(outcomes, 'slow-consumer.svg').includes('backlog the server reports'));
    // A metric the chart does not draw stays out of it.
    assert.ok(!throughput.includes('999'));
  });

  it('draws SBMP once per group although its row repeats for every baseline', () => {
    const svg = chart(renderCharts(fullRun()), 'throughput.svg');
    const sbmpBars = bars(svg).filter((b) => b.subject === escaped(SBMP));
    assert.equal(sbmpBars.length, 2, 'one in throughput-1-1, one in fanout-1-100');
  });

  it('makes bar widths proportional to the values on a linear axis', () => {
    const svg = chart(renderCharts(fullRun()), 'throughput.svg');
    const first = bars(svg).slice(0, 3);
    assert.deepEqual(
      first.map((b) => b.subject),
      [escaped(SBMP), 'nats core', escaped(ODD)],
    );
    const [a, b, c] = first.map((bar) => bar.width) as [number, number, number];
    assert.ok(a > 0);
    assert.ok(Math.abs(b / a - 2) < 0.01, `200/100: ${b}/${a}`);
    assert.ok(Math.abs(c / a - 4) < 0.01, `400/100: ${c}/${a}`);
  });

  it('draws negative values left of zero, proportionally', () => {
    const svg = chart(renderCharts(fullRun()), 'slow-consumer.svg');
    const drawn = bars(svg);
    assert.equal(drawn.length, 3, 'two RSS bars and one backlog bar');
    const grew = drawn[0]!;
    const shrank = drawn[1]!;
    assert.ok(
      Math.abs(grew.width / shrank.width - 2) < 0.02,
      `2 MiB vs -1 MiB: ${grew.width}/${shrank.width}`,
    );
    assert.ok(Math.abs(shrank.x + shrank.width - grew.x) < 0.2, 'both bars meet at zero');
  });

  it('uses a log axis when the values span more than 100x, bars still ordered', () => {
    const svg = chart(renderCharts(fullRun()), 'latency.svg');
    assert.ok(svg.includes('log scale'));
    const widths = bars(svg).map((b) => b.width);
    // Document order: p50 sbmp (100), p50 nats (80), p99 sbmp (900), p99.9 sbmp (30,000).
    assert.ok(widths[1]! < widths[0]! && widths[0]! < widths[2]! && widths[2]! < widths[3]!, String(widths));
    assert.ok(!chart(renderCharts(fullRun()), 'throughput.svg').includes('log scale'));
  });

  it('shows a skipped subject as "skipped: reason" with no bar', () => {
    const svg = chart(renderCharts(fullRun()), 'throughput.svg');
    assert.ok(svg.includes('skipped: redis-server not installed'));
    assert.ok(!bars(svg).some((b) => b.subject === 'redis pub/sub'));
  });

  it('survives zero, NaN, infinite and single-subject figures', () => {
    const cases: Row[][] = [
      [row('throughput-1-1', 'delivered/s', SBMP, 0, { figure: { median: 0, min: 0, max: 0, runs: 1 } })],
      [row('throughput-1-1', 'delivered/s', SBMP, Number.NaN)],
      [
        row('throughput-1-1', 'delivered/s', SBMP, Number.POSITIVE_INFINITY),
        row('throughput-1-1', 'delivered/s', 'nats core', 5),
      ],
      [row('durable', 'puts/s, 1 at a time', 'lmdb store direct', 1234.5)],
      [row('latency', 'p50', SBMP, 7, { figure: { median: 7, min: Number.NaN, max: 9, runs: 2 } })],
    ];
    for (const rows of cases) {
      const drawn = renderCharts(results(rows)).filter((c) => c.svg !== undefined);
      assert.equal(drawn.length, 1, JSON.stringify(rows));
      assertWellFormed(drawn[0]!.svg!);
      assert.ok(drawn[0]!.svg!.includes(escaped(rows[0]!.subject)));
    }
  });

  it('draws no chart for a scenario without rows, and says why', () => {
    const outcomes = renderCharts(results([row('replica', 'applies/s', 'sbmp replica', 1e6)]));
    assert.equal(outcomes.length, 5);
    for (const outcome of outcomes) {
      if (outcome.file === 'in-process.svg') continue;
      assert.equal(outcome.svg, undefined, outcome.file);
      assert.match(outcome.reason ?? '', /no .* rows in this run/);
    }
    assert.equal(renderCharts(results([])).filter((c) => c.svg !== undefined).length, 0);
    // A chart over two scenarios is drawn from the one present and notes the other.
    const one = renderCharts(results([row('fanout-1-100', 'delivered/s', SBMP, 10)]));
    const throughput = chart(one, 'throughput.svg');
    assert.ok(throughput.includes('throughput-1-1: not in this run'));
  });

  it('writes the drawn charts, removes stale ones, and links them from latest.md', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'latency.svg'), '<svg>stale</svg>');
    const run = results([row('throughput-1-1', 'delivered/s', SBMP, 10)]);
    const outcomes = writeCharts(run, dir);
    assert.deepEqual(
      outcomes.filter((c) => c.svg !== undefined).map((c) => c.file),
      ['throughput.svg'],
    );
    assert.ok(existsSync(join(dir, 'throughput.svg')));
    assert.ok(!existsSync(join(dir, 'latency.svg')), 'the stale chart is gone');

    writeResults(run, dir);
    const md = readFileSync(join(dir, 'latest.md'), 'utf8');
    assert.ok(md.includes('](throughput.svg)'));
    assert.ok(!md.includes('](latency.svg)'));
    assert.match(md, /not drawn \(no latency rows in this run\)/);
    assertWellFormed(readFileSync(join(dir, 'throughput.svg'), 'utf8'));
  });
});
