/**
 * SVG charts of a benchmark run, written next to latest.md: hand-written SVG strings, so that
 * the charts need no package and open in any browser or Markdown viewer.
 *
 * Every chart has the same shape: panels with one value axis each, groups of horizontal bars
 * inside a panel (a scenario, a metric or a mode), one bar per subject. A subject keeps its
 * colour in every chart. A bar shows the median, a whisker its min-max, and its value as text;
 * a subject that could not be measured shows `skipped: reason` in place of its bar.
 */
import { rmSync, writeFileSync } from 'node:fs';
import type { Panel } from './bar-chart-svg.js';
import { renderBarChart } from './bar-chart-svg.js';
import type { Results, Row } from './report.js';

/** Which rows a panel draws: one group per distinct (scenario, metric) among them. */
interface PanelSpec {
  readonly title?: string;
  readonly metric: (metric: string) => boolean;
  readonly groupLabel?: (scenario: string, metric: string) => string;
}

interface ChartSpec {
  readonly file: string;
  readonly title: string;
  readonly scenarios: readonly string[];
  readonly panels: readonly PanelSpec[];
}

const DELIVERY_LABELS: Readonly<Record<string, string>> = {
  'throughput-1-1': 'throughput-1-1: 1 publisher -> 1 subscriber',
  'fanout-1-100': 'fanout-1-100: 1 publisher -> 100 subscribers (deliveries to all)',
};

/** The charts written for a run, in the order latest.md lists them. */
export const CHART_SPECS: readonly ChartSpec[] = [
  {
    file: 'throughput.svg',
    title: 'Delivered messages per second',
    scenarios: ['throughput-1-1', 'fanout-1-100'],
    panels: [{ metric: (m) => m === 'delivered/s', groupLabel: (s) => DELIVERY_LABELS[s] ?? s }],
  },
  {
    file: 'latency.svg',
    title: 'Publish-to-delivery latency at a fixed rate',
    scenarios: ['latency'],
    panels: [{ metric: (m) => m === 'p50' || m === 'p99' || m === 'p99.9' }],
  },
  {
    file: 'slow-consumer.svg',
    title: 'Slow consumer: what it costs the server',
    scenarios: ['slow-consumer'],
    panels: [
      { title: 'Server memory growth', metric: (m) => m.startsWith('server ') && m.includes('growth') },
      { title: 'Backlog held for the slow subscriber', metric: (m) => m.startsWith('backlog') },
    ],
  },
  {
    file: 'durable.svg',
    title: 'Durable acknowledged puts per second',
    scenarios: ['durable'],
    panels: [{ metric: (m) => m.startsWith('puts/s') }],
  },
  {
    file: 'in-process.svg',
    title: 'In-process operations per second',
    scenarios: ['replica', 'mailbox', 'channel', 'pool', 'buffer-pool'],
    panels: [{ metric: () => true, groupLabel: (s, m) => `${s}: ${m}` }],
  },
];

export interface ChartOutcome {
  readonly file: string;
  readonly title: string;
  /** The SVG text; undefined when the run has no rows for the chart. */
  readonly svg: string | undefined;
  /** Why the chart was not drawn. */
  readonly reason?: string;
}

/** Renders every chart of CHART_SPECS from `results`; pure, writes nothing. */
export function renderCharts(results: Results): ChartOutcome[] {
  const colours = subjectColours(results.rows);
  return CHART_SPECS.map((spec) => {
    const panels = spec.panels.map((p) => buildPanel(p, spec.scenarios, results.rows));
    const absent = spec.scenarios.filter((s) => !results.rows.some((r) => r.scenario === s));
    if (panels.every((p) => p.groups.length === 0)) {
      const names = spec.scenarios.join(', ');
      const reason =
        absent.length === spec.scenarios.length
          ? `no ${names} rows in this run`
          : `the ${names} rows have none of the metrics it draws`;
      return { file: spec.file, title: spec.title, svg: undefined, reason };
    }
    const notes = absent.map((s) => `${s}: not in this run`);
    const m = results.machine;
    const subtitle = `Run ${results.startedAt} on ${m.cpus} x ${m.cpuModel}, Node ${m.node}`;
    return {
      file: spec.file,
      title: spec.title,
      svg: renderBarChart({ title: spec.title, subtitle, notes, panels, colours }),
    };
  });
}

/**
 * Writes the charts that have rows under `dir` and removes those that have none, so that no
 * chart from an earlier run sits beside a table it does not match.
 */
export function writeCharts(results: Results, dir: string): ChartOutcome[] {
  let outcomes: ChartOutcome[];
  try {
    outcomes = renderCharts(results);
  } catch (err) {
    // A chart must never cost a run its results: the table is written whatever happens here.
    const reason = `failed: ${err instanceof Error ? err.message : String(err)}`;
    outcomes = CHART_SPECS.map((s) => ({ file: s.file, title: s.title, svg: undefined, reason }));
  }
  return outcomes.map((chart) => {
    try {
      if (chart.svg === undefined) rmSync(`${dir}/${chart.file}`, { force: true });
      else writeFileSync(`${dir}/${chart.file}`, chart.svg);
      return chart;
    } catch (err) {
      const reason = `failed: ${err instanceof Error ? err.message : String(err)}`;
      return { file: chart.file, title: chart.title, svg: undefined, reason };
    }
  });
}

/** The Markdown section of latest.md that links the charts drawn and says which were not. */
export function renderChartLinks(charts: readonly ChartOutcome[]): string {
  const lines = charts.map((c) =>
    c.svg === undefined ? `- ${c.title}: not drawn (${c.reason})` : `- [${c.title}](${c.file})`,
  );
  return ['## Charts', '', ...lines].join('\n');
}

function buildPanel(spec: PanelSpec, scenarios: readonly string[], rows: readonly Row[]): Panel {
  const groups = new Map<string, { scenario: string; label: string; bars: Map<string, Row> }>();
  for (const row of rows) {
    if (!scenarios.includes(row.scenario) || !spec.metric(row.metric)) continue;
    const key = `${row.scenario}\u0000${row.metric}`;
    let group = groups.get(key);
    if (group === undefined) {
      const label = spec.groupLabel?.(row.scenario, row.metric) ?? row.metric;
      group = { scenario: row.scenario, label, bars: new Map() };
      groups.set(key, group);
    }
    // SBMP has one row per baseline with the same figure; the first measured one stands for all.
    const seen = group.bars.get(row.subject);
    if (seen === undefined || (seen.skipped !== undefined && row.skipped === undefined))
      group.bars.set(row.subject, row);
  }
  // Groups follow the order of the scenarios, then of the rows (the sort is stable).
  const ordered = [...groups.values()].sort(
    (a, b) => scenarios.indexOf(a.scenario) - scenarios.indexOf(b.scenario),
  );
  const panelRows = ordered.flatMap((g) => [...g.bars.values()]);
  return {
    title: spec.title,
    unit: [...new Set(panelRows.map((r) => r.unit))].join(' / '),
    better: panelRows[0]?.better ?? 'higher',
    groups: ordered.map((g) => ({
      label: g.label,
      bars: [...g.bars.entries()].map(([subject, row]) => ({ subject, row })),
    })),
  };
}

const SBMP_COLOURS = ['#1f5fbf', '#5b9bef', '#0b3a75'];
const PEER_COLOURS = ['#e08a1e', '#2a9d6f', '#c0392b', '#7d5ba6', '#6b7280', '#b8860b'];

/** SBMP's own subjects: named `sbmp ...`, and its store measured directly (bench/store/durable.ts). */
const SBMP_SUBJECT = /^(sbmp\b|lmdb store direct$)/;

/** One colour per subject for the whole run, by order of first appearance; SBMP's in blues. */
function subjectColours(rows: readonly Row[]): Map<string, string> {
  const colours = new Map<string, string>();
  let sbmp = 0;
  let peer = 0;
  for (const { subject } of rows) {
    if (colours.has(subject)) continue;
    colours.set(
      subject,
      SBMP_SUBJECT.test(subject)
        ? SBMP_COLOURS[sbmp++ % SBMP_COLOURS.length]!
        : PEER_COLOURS[peer++ % PEER_COLOURS.length]!,
    );
  }
  return colours;
}
