import type { Figure } from './measure.js';
import { percentile, summarize } from './measure.js';

export interface LatencyFigures {
  readonly p50: Figure;
  readonly p99: Figure;
  readonly p999: Figure;
  /** Messages with no recorded latency (never delivered), over all windows. */
  readonly missing: number;
}

/**
 * Percentiles of per-message latencies, computed per window of consecutive messages (each
 * window is one "run" of the figure, so min and max show how steady they were). `latencies`
 * is indexed by sequence number; NaN means the message was not delivered and is counted in
 * `missing` instead. Values are converted with `scale` (1000: ms to µs).
 */
export function latencyFigures(
  latencies: Float64Array,
  count: number,
  windows: number,
  scale = 1000,
): LatencyFigures {
  const p50: number[] = [];
  const p99: number[] = [];
  const p999: number[] = [];
  let missing = 0;
  const size = Math.floor(count / windows);
  for (let w = 0; w < windows; w++) {
    const slice = latencies.subarray(w * size, (w + 1) * size);
    const delivered = slice.filter((v) => !Number.isNaN(v)).sort();
    missing += slice.length - delivered.length;
    if (delivered.length === 0) continue;
    p50.push(percentile(delivered, 50) * scale);
    p99.push(percentile(delivered, 99) * scale);
    p999.push(percentile(delivered, 99.9) * scale);
  }
  const none = { median: Number.NaN, min: Number.NaN, max: Number.NaN, runs: 0 };
  return {
    p50: p50.length === 0 ? none : summarize(p50),
    p99: p99.length === 0 ? none : summarize(p99),
    p999: p999.length === 0 ? none : summarize(p999),
    missing,
  };
}
