/**
 * Grouped horizontal bar charts as SVG text: panels with one value axis each (linear from
 * zero, or log when the medians span more than 100x), groups of bars inside a panel, one bar
 * per subject with its value, a min-max whisker, and `skipped: reason` for a subject that has
 * no figure. Legible at 800 px wide; no package, no DOM.
 */
import type { Row } from './report.js';

export interface Bar {
  readonly subject: string;
  readonly row: Row;
}

export interface Group {
  readonly label: string;
  readonly bars: readonly Bar[];
}

export interface Panel {
  readonly title: string | undefined;
  /** The axis unit: the rows' unit, or their units joined by ' / ' when they differ. */
  readonly unit: string;
  readonly better: 'higher' | 'lower';
  readonly groups: readonly Group[];
}

// ---------------------------------------------------------------------------------------------
// Scales

interface Scale {
  readonly log: boolean;
  readonly lo: number;
  readonly hi: number;
  readonly ticks: readonly number[];
  /** Position of `v` in [0, 1] of the plot width, clamped. */
  at(v: number): number;
}

/** Values that span more than this factor get a log axis, so the small bars stay readable. */
const LOG_SPAN = 100;

function scaleFor(panel: Panel): Scale {
  const figures = panel.groups.flatMap((g) => g.bars.filter((b) => b.row.skipped === undefined));
  const medians = figures.map((b) => b.row.figure.median).filter(Number.isFinite);
  const all = figures
    .flatMap((b) => [b.row.figure.median, b.row.figure.min, b.row.figure.max])
    .filter(Number.isFinite);
  const positive = medians.length > 0 && medians.every((v) => v > 0);
  if (positive && Math.max(...medians) / Math.min(...medians) > LOG_SPAN) {
    const lo = 10 ** Math.floor(Math.log10(Math.min(...medians)));
    const hi = Math.max(10 ** Math.ceil(Math.log10(Math.max(...all))), lo * 10);
    const ticks: number[] = [];
    for (let t = lo; t <= hi * 1.0001; t *= 10) ticks.push(t);
    const span = Math.log10(hi) - Math.log10(lo);
    return {
      log: true,
      lo,
      hi,
      ticks,
      at: (v) => clamp01((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / span),
    };
  }
  const min = Math.min(0, ...all);
  const max = Math.max(0, ...all);
  const step = niceStep(max - min === 0 ? 1 : max - min);
  const lo = Math.floor(min / step) * step;
  const hi = Math.max(Math.ceil(max / step) * step, lo + step);
  const ticks: number[] = [];
  for (let i = 0; lo + i * step <= hi + step / 1000 && i <= 20; i++) ticks.push(roundFloat(lo + i * step));
  return { log: false, lo, hi, ticks, at: (v) => clamp01((v - lo) / (hi - lo)) };
}

/** A 1, 2 or 5 times a power of ten that cuts `range` into about five intervals. */
function niceStep(range: number): number {
  const rough = range / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const norm = rough / magnitude;
  return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * magnitude;
}

function clamp01(v: number): number {
  return Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0;
}

function roundFloat(n: number): number {
  return Number(n.toPrecision(10));
}

// ---------------------------------------------------------------------------------------------
// SVG

const WIDTH = 800;
const PLOT_LEFT = 230;
/** Room right of the longest bar for its value text. */
const PLOT_RIGHT = WIDTH - 130;
const PLOT_WIDTH = PLOT_RIGHT - PLOT_LEFT;
const BAR_ROW = 22;
const BAR_HEIGHT = 14;
const GROUP_HEADER = 22;
const AXIS_HEIGHT = 42;
const FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";
/** Rough width of a character at 11 px, for shortening text that would not fit. */
const CHAR_WIDTH = 6.2;

export interface BarChart {
  readonly title: string;
  /** A line under the title: when and where the figures were measured. */
  readonly subtitle: string;
  /** Lines under the subtitle, e.g. a scenario that is not in the run. */
  readonly notes: readonly string[];
  readonly panels: readonly Panel[];
  /** Bar colour by subject; a subject without one is grey. */
  readonly colours: ReadonlyMap<string, string>;
}

/** The chart as a standalone SVG document, 800 px wide, as tall as its bars need. */
export function renderBarChart(chart: BarChart): string {
  const { title, subtitle, notes, panels, colours } = chart;
  const parts: string[] = [];
  let y = 28;
  parts.push(text(16, y, title, { size: 16, weight: 'bold' }));
  y += 20;
  parts.push(text(16, y, subtitle, { fill: '#555' }));
  y += 16;
  parts.push(text(16, y, 'Bars: median of the runs; whiskers: min to max.', { fill: '#555' }));
  for (const note of notes) {
    y += 16;
    parts.push(text(16, y, note, { fill: '#a15c00' }));
  }
  y += 14;
  for (const panel of panels) {
    const drawn = renderPanel(panel, y, colours);
    parts.push(drawn.svg);
    y = drawn.bottom + 14;
  }
  const height = Math.ceil(y);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="${escapeXml(FONT)}" font-size="11">`,
    `<rect x="0" y="0" width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

function renderPanel(
  panel: Panel,
  top: number,
  colours: ReadonlyMap<string, string>,
): { svg: string; bottom: number } {
  const parts: string[] = [];
  let y = top;
  if (panel.title !== undefined) {
    y += 16;
    parts.push(text(16, y, panel.title, { size: 13, weight: 'bold' }));
    y += 6;
  }
  if (panel.groups.length === 0) {
    y += 16;
    parts.push(text(16, y, 'no rows for this panel in this run', { fill: '#a15c00' }));
    return { svg: parts.join('\n'), bottom: y + 6 };
  }
  const scale = scaleFor(panel);
  const x = (v: number) => PLOT_LEFT + scale.at(v) * PLOT_WIDTH;
  const plotTop = y;
  const bars: string[] = [];
  for (const group of panel.groups) {
    y += GROUP_HEADER;
    bars.push(text(16, y - 6, group.label, { weight: 'bold', fill: '#333' }));
    for (const bar of group.bars) {
      bars.push(renderBar(bar, y, x, scale, colours.get(bar.subject) ?? '#888888'));
      y += BAR_ROW;
    }
  }
  const plotBottom = y + 4;
  // Grid first, so the bars are drawn over it.
  for (const tick of scale.ticks) {
    const tx = round(x(tick));
    const stroke = tick === 0 && scale.lo < 0 ? '#555555' : '#e3e3e3';
    parts.push(line(tx, plotTop, tx, plotBottom, stroke));
    parts.push(text(tx, plotBottom + 14, formatTick(tick), { anchor: 'middle', fill: '#444' }));
  }
  parts.push(line(PLOT_LEFT, plotBottom, PLOT_RIGHT, plotBottom, '#888888'));
  const direction = panel.better === 'higher' ? 'higher is better' : 'lower is better';
  const axisLabel = `${panel.unit}${scale.log ? ', log scale' : ''} (${direction})`;
  parts.push(text((PLOT_LEFT + PLOT_RIGHT) / 2, plotBottom + 30, axisLabel, { anchor: 'middle' }));
  parts.push(...bars);
  return { svg: parts.join('\n'), bottom: plotBottom + AXIS_HEIGHT - 6 };
}

function renderBar(bar: Bar, rowTop: number, x: (v: number) => number, scale: Scale, colour: string): string {
  const { row } = bar;
  const mid = rowTop + BAR_ROW / 2;
  const parts = [
    text(PLOT_LEFT - 8, mid + 4, shorten(bar.subject, (PLOT_LEFT - 24) / CHAR_WIDTH), {
      anchor: 'end',
      tooltip: bar.subject,
    }),
  ];
  if (row.skipped !== undefined) {
    const reason = `skipped: ${row.skipped}`;
    const fits = (WIDTH - PLOT_LEFT - 8) / CHAR_WIDTH;
    parts.push(
      text(PLOT_LEFT, mid + 4, shorten(reason, fits), { fill: '#a15c00', italic: true, tooltip: reason }),
    );
    return parts.join('\n');
  }
  const { median, min, max, runs } = row.figure;
  if (!Number.isFinite(median)) {
    parts.push(text(PLOT_LEFT, mid + 4, `no value (${String(median)})`, { fill: '#a15c00' }));
    return parts.join('\n');
  }
  // Bars grow from zero (or from the log axis' lowest decade), left or right.
  const origin = x(scale.log ? scale.lo : 0);
  const end = x(median);
  const left = round(Math.min(origin, end));
  const width = round(Math.abs(end - origin));
  const value = `${formatValue(median)} ${row.unit}`;
  const range = runs > 1 ? `, min ${formatValue(min)}, max ${formatValue(max)}, ${runs} runs` : '';
  parts.push(
    `<rect class="bar" data-subject="${escapeXml(bar.subject)}" data-value="${median}" x="${left}" y="${round(mid - BAR_HEIGHT / 2)}" width="${width}" height="${BAR_HEIGHT}" fill="${colour}"><title>${escapeXml(`${bar.subject}: ${value}${range}`)}</title></rect>`,
  );
  let textX = Math.max(origin, end);
  if (runs > 1 && Number.isFinite(min) && Number.isFinite(max) && max > min) {
    const x1 = round(x(min));
    const x2 = round(x(max));
    const cap = 4;
    parts.push(
      `<path class="whisker" d="M${x1} ${mid}H${x2}M${x1} ${mid - cap}V${mid + cap}M${x2} ${mid - cap}V${mid + cap}" stroke="#222222" stroke-width="1.2" fill="none"/>`,
    );
    textX = Math.max(textX, x2);
  }
  parts.push(text(round(textX + 6), mid + 4, value, { fill: '#222' }));
  return parts.join('\n');
}

interface TextStyle {
  readonly size?: number;
  readonly weight?: 'bold';
  readonly italic?: boolean;
  readonly fill?: string;
  readonly anchor?: 'start' | 'middle' | 'end';
  readonly tooltip?: string;
}

function text(x: number, y: number, content: string, style: TextStyle = {}): string {
  const attrs = [`x="${round(x)}"`, `y="${round(y)}"`];
  if (style.size !== undefined) attrs.push(`font-size="${style.size}"`);
  if (style.weight !== undefined) attrs.push(`font-weight="${style.weight}"`);
  if (style.italic === true) attrs.push('font-style="italic"');
  if (style.fill !== undefined) attrs.push(`fill="${style.fill}"`);
  if (style.anchor !== undefined && style.anchor !== 'start') attrs.push(`text-anchor="${style.anchor}"`);
  const tooltip =
    style.tooltip !== undefined && style.tooltip !== content
      ? `<title>${escapeXml(style.tooltip)}</title>`
      : '';
  return `<text ${attrs.join(' ')}>${tooltip}${escapeXml(content)}</text>`;
}

function line(x1: number, y1: number, x2: number, y2: number, stroke: string): string {
  return `<line x1="${round(x1)}" y1="${round(y1)}" x2="${round(x2)}" y2="${round(y2)}" stroke="${stroke}" stroke-width="1"/>`;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function shorten(s: string, maxChars: number): string {
  const max = Math.max(4, Math.floor(maxChars));
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** A bar's value: whole and thousands-separated from 100 up, three significant digits below. */
function formatValue(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  return String(Number(n.toPrecision(3)));
}

/** A tick label: short, with k/M/G for large numbers. */
function formatTick(n: number): string {
  const abs = Math.abs(n);
  for (const [limit, suffix] of [
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ] as const) {
    if (abs >= limit) return `${Number((n / limit).toPrecision(3))}${suffix}`;
  }
  return String(Number(n.toPrecision(3)));
}
