/**
 * `/dashboard-figures.js`, a browser module with no DOM access: reads the Prometheus text of
 * `/metrics`, keeps a short history of scrapes to turn counters into rates and histograms into
 * recent percentiles, and formats numbers for display. Kept apart from the page so it can be
 * tested on its own (it imports nothing and touches no browser API).
 *
 * The source is `String.raw` so regex escapes reach the browser as written; it must contain
 * no backtick and no dollar-brace.
 */
export const DASHBOARD_FIGURES_JS = String.raw`// Figures of the SBMP dashboard: Prometheus text, rates, percentiles, formatting.

const SAMPLE_LINE = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?[ \t]+(\S+)/;
const LABEL = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function unescapeLabel(value) {
  return value.replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
}

function parseValue(text) {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

/** The samples of every metric whose name starts with prefix: [{ name, labels, value }]. */
export function parsePrometheus(text, prefix = '') {
  const samples = [];
  for (const line of text.split('\n')) {
    if (line === '' || line[0] === '#' || !line.startsWith(prefix)) continue;
    const match = SAMPLE_LINE.exec(line);
    if (match === null) continue;
    const labels = {};
    if (match[2] !== undefined) {
      for (const label of match[2].matchAll(LABEL)) labels[label[1]] = unescapeLabel(label[2]);
    }
    samples.push({ name: match[1], labels, value: parseValue(match[3]) });
  }
  return samples;
}

function labelsMatch(labels, wanted) {
  for (const name of Object.keys(wanted)) if (labels[name] !== wanted[name]) return false;
  return true;
}

/** Sum of a metric over every label set matching wanted; undefined when the metric is absent. */
export function total(samples, name, wanted = {}) {
  let sum = 0;
  let found = false;
  for (const sample of samples) {
    if (sample.name === name && labelsMatch(sample.labels, wanted)) {
      sum += sample.value;
      found = true;
    }
  }
  return found ? sum : undefined;
}

/** Cumulative bucket counts of a histogram, every other label summed: [{ le, count }] by le. */
function buckets(samples, name) {
  const byLe = new Map();
  for (const sample of samples) {
    if (sample.name !== name + '_bucket' || sample.labels.le === undefined) continue;
    byLe.set(sample.labels.le, (byLe.get(sample.labels.le) ?? 0) + sample.value);
  }
  return byLe;
}

/**
 * The q-quantile of the observations a histogram gained between two scrapes (older may be
 * undefined: everything since the start), interpolated inside its bucket the way Prometheus'
 * histogram_quantile does. Undefined when nothing was observed in between.
 */
export function quantileBetween(older, newer, name, q) {
  const now = buckets(newer, name);
  const before = older === undefined ? new Map() : buckets(older, name);
  const rows = [];
  for (const [le, count] of now) rows.push({ le: parseValue(le), count: count - (before.get(le) ?? 0) });
  rows.sort((a, b) => a.le - b.le);
  const observed = rows.length === 0 ? 0 : rows[rows.length - 1].count;
  if (!(observed > 0)) return undefined;
  const rank = q * observed;
  let lowerLe = 0;
  let lowerCount = 0;
  for (const row of rows) {
    if (row.count >= rank) {
      // Past the last finite bound nothing is known but that bound.
      if (row.le === Number.POSITIVE_INFINITY) return lowerLe;
      const inBucket = row.count - lowerCount;
      return inBucket <= 0 ? row.le : lowerLe + ((row.le - lowerLe) * (rank - lowerCount)) / inBucket;
    }
    lowerLe = row.le;
    lowerCount = row.count;
  }
  return lowerLe;
}

/**
 * The scrapes of the last keepMs, oldest first. Rates and percentiles are taken between the
 * newest scrape and the oldest one within a span, so they describe recent traffic, not the
 * whole life of the server.
 */
export class FigureHistory {
  constructor(keepMs) {
    this.keepMs = keepMs;
    this.scrapes = [];
  }

  add(at, samples) {
    this.scrapes.push({ at, samples });
    while (this.scrapes.length > 2 && at - this.scrapes[0].at > this.keepMs) this.scrapes.shift();
  }

  get newest() {
    return this.scrapes[this.scrapes.length - 1];
  }

  /** The oldest scrape no more than spanMs older than the newest. */
  oldestWithin(spanMs) {
    const newest = this.newest;
    if (newest === undefined) return undefined;
    for (const scrape of this.scrapes) if (newest.at - scrape.at <= spanMs) return scrape;
    return newest;
  }

  /** The current total of a counter or gauge; undefined before the first scrape or when absent. */
  latest(name, wanted) {
    return this.newest === undefined ? undefined : total(this.newest.samples, name, wanted);
  }

  /** Per-second rate of a counter over the last spanMs; undefined until two scrapes, or after a reset. */
  rate(name, spanMs, wanted) {
    const newest = this.newest;
    const oldest = this.oldestWithin(spanMs);
    if (newest === undefined || oldest === newest) return undefined;
    const now = total(newest.samples, name, wanted);
    const before = total(oldest.samples, name, wanted) ?? 0;
    if (now === undefined || now < before) return undefined;
    return (now - before) / ((newest.at - oldest.at) / 1000);
  }

  /**
   * A histogram's q-quantile over the last spanMs, with the span it really covers
   * ({ value, spanMs }; spanMs undefined: since the server started, as only one scrape exists).
   */
  quantile(name, q, spanMs) {
    const newest = this.newest;
    if (newest === undefined) return { value: undefined, spanMs: undefined };
    const oldest = this.oldestWithin(spanMs);
    if (oldest === newest) return { value: quantileBetween(undefined, newest.samples, name, q), spanMs: undefined };
    return { value: quantileBetween(oldest.samples, newest.samples, name, q), spanMs: newest.at - oldest.at };
  }
}

const GROUPED = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** A count with thousands separators. */
export function formatCount(n) {
  return n === undefined || !Number.isFinite(n) ? '\u2014' : GROUPED.format(n);
}

/** A per-second rate: one decimal below 100. */
export function formatRate(perSecond) {
  if (perSecond === undefined || !Number.isFinite(perSecond)) return '\u2014';
  return (perSecond < 100 ? perSecond.toFixed(1) : GROUPED.format(perSecond)) + ' /s';
}

/** A duration given in seconds, in the unit that keeps it readable (µs, ms, s). */
export function formatSeconds(seconds) {
  if (seconds === undefined || !Number.isFinite(seconds)) return '\u2014';
  if (seconds < 0.001) return Math.round(seconds * 1e6) + ' \u00b5s';
  if (seconds < 1) {
    const ms = seconds * 1000;
    return ms.toFixed(ms < 10 ? 2 : ms < 100 ? 1 : 0) + ' ms';
  }
  return seconds.toFixed(2) + ' s';
}

/** A lag or small duration given in ms. */
export function formatMs(ms) {
  if (ms === undefined || !Number.isFinite(ms)) return '\u2014';
  return (ms < 10 ? ms.toFixed(2) : ms.toFixed(0)) + ' ms';
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** Bytes in binary units with one decimal from KiB up. */
export function formatBytes(bytes) {
  if (bytes === undefined || !Number.isFinite(bytes)) return '\u2014';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return (unit === 0 ? String(value) : value.toFixed(1)) + ' ' + BYTE_UNITS[unit];
}

/** How long ago, from a number of ms: "0.4 s", "12 s", "5 min", "3 h", "2 d". A clock ahead of ours reads as 0. */
export function formatAge(ms) {
  if (ms === undefined || !Number.isFinite(ms)) return '\u2014';
  const seconds = Math.max(0, ms) / 1000;
  if (seconds < 10) return seconds.toFixed(1) + ' s';
  if (seconds < 60) return Math.floor(seconds) + ' s';
  if (seconds < 3600) return Math.floor(seconds / 60) + ' min';
  if (seconds < 172800) return Math.floor(seconds / 3600) + ' h';
  return Math.floor(seconds / 86400) + ' d';
}

/** An uptime: "42 s", "3 min 05 s", "2 h 07 min", "3 d 4 h". */
export function formatUptime(ms) {
  if (ms === undefined || !Number.isFinite(ms)) return '\u2014';
  const s = Math.floor(Math.max(0, ms) / 1000);
  const pad = (n) => String(n).padStart(2, '0');
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min ' + pad(s % 60) + ' s';
  if (s < 86400) return Math.floor(s / 3600) + ' h ' + pad(Math.floor(s / 60) % 60) + ' min';
  return Math.floor(s / 86400) + ' d ' + (Math.floor(s / 3600) % 24) + ' h';
}

/** A fraction as a percentage with no decimals. */
export function formatPercent(fraction) {
  if (fraction === undefined || !Number.isFinite(fraction)) return '\u2014';
  return Math.round(fraction * 100) + ' %';
}
`;
