import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { renderChartLinks, writeCharts } from './charts.js';
import type { Figure } from './measure.js';

/** One line of the results table. */
export interface Row {
  readonly scenario: string;
  readonly subject: string;
  readonly metric: string;
  readonly unit: string;
  readonly figure: Figure;
  /** Larger is better (rates) or smaller is better (latency, memory). */
  readonly better: 'higher' | 'lower';
  /** The subject this row is compared with, measured in the same run. */
  readonly baseline?: string;
  /** Set when the subject could not be measured (peer missing); says why. */
  readonly skipped?: string;
  /** A goal as a human-readable sentence and whether this run met it. */
  readonly goal?: { readonly text: string; readonly met: boolean };
}

export interface Results {
  readonly startedAt: string;
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryGiB: number;
    readonly node: string;
  };
  readonly rows: Row[];
}

export function newResults(): Results {
  const cpu = cpus();
  return {
    startedAt: new Date().toISOString(),
    machine: {
      cpus: cpu.length,
      cpuModel: cpu[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    rows: [],
  };
}

/** The ratio of a row to its baseline, oriented so that > 1 means the subject is better. */
export function ratioOf(row: Row, rows: readonly Row[]): number | undefined {
  if (row.baseline === undefined || row.skipped !== undefined) return undefined;
  const base = rows.find(
    (r) => r.scenario === row.scenario && r.metric === row.metric && r.subject === row.baseline && !r.skipped,
  );
  if (base === undefined || base.figure.median === 0) return undefined;
  return row.better === 'higher'
    ? row.figure.median / base.figure.median
    : base.figure.median / row.figure.median;
}

function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toPrecision(3);
}

export function renderTable(results: Results): string {
  const header = ['scenario', 'subject', 'metric', 'median', 'min', 'max', 'unit', 'vs', 'ratio', 'goal'];
  const lines = results.rows.map((row) => {
    if (row.skipped !== undefined) {
      return [row.scenario, row.subject, row.metric, 'skipped', '', '', '', '', '', row.skipped];
    }
    const ratio = ratioOf(row, results.rows);
    return [
      row.scenario,
      row.subject,
      row.metric,
      formatNumber(row.figure.median),
      formatNumber(row.figure.min),
      formatNumber(row.figure.max),
      row.unit,
      row.baseline ?? '',
      ratio === undefined ? '' : `${ratio.toFixed(2)}x`,
      row.goal === undefined ? '' : `${row.goal.met ? 'met' : 'MISSED'}: ${row.goal.text}`,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [fmt(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(fmt)].join('\n');
}

/** Writes `latest.json`, `latest.md` and the charts (bench/lib/charts.ts) under `dir`. */
export function writeResults(results: Results, dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/latest.json`, `${JSON.stringify(results, null, 2)}\n`);
  const charts = writeCharts(results, dir);
  const m = results.machine;
  const md = [
    '# SBMP benchmark results',
    '',
    `Run ${results.startedAt} on ${m.cpus} x ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}.`,
    'Each figure is the median of several runs (min and max beside it). Ratios compare subjects',
    'measured in the same run; a ratio above 1 means SBMP is better (faster, or smaller for latency and memory).',
    'A goal marked MISSED is missed by its ratio; [../LIMITS.md](../LIMITS.md) says what limits it, with the profiles.',
    '',
    renderTable(results),
    '',
    renderChartLinks(charts),
    '',
  ].join('\n');
  writeFileSync(`${dir}/latest.md`, md);
}
