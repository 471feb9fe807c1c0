import type { IntervalHistogram } from 'node:perf_hooks';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { SbmpError } from '../../core/errors.js';
import { checkInteger } from './options.js';

export interface LoopLagOptions {
  /** Sampling period of Node's event-loop delay histogram, in ms. Default 10 (finer costs CPU). */
  readonly resolutionMs?: number;
  /** Period of the current-lag probe, in ms. Default 500. */
  readonly probeIntervalMs?: number;
}

export const DEFAULT_LAG_RESOLUTION_MS = 10;
export const DEFAULT_LAG_PROBE_INTERVAL_MS = 500;

/** Event-loop lag in ms, as plain numbers (0 when nothing has been measured yet). */
export interface LoopLagFigures {
  /** How late the most recent probe timer fired. */
  readonly currentMs: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Histogram samples since `start()` or the last reset. */
  readonly samples: number;
}

const ZERO: LoopLagFigures = Object.freeze({
  currentMs: 0,
  meanMs: 0,
  p50Ms: 0,
  p99Ms: 0,
  maxMs: 0,
  samples: 0,
});

/**
 * Event-loop lag: how long ready work waits because the loop is busy (a long synchronous task,
 * a GC pause). Two views:
 * - a histogram from `perf_hooks.monitorEventLoopDelay` (mean, p50, p99, max) over the figures'
 *   window, which runs from `start()` or the last `snapshot({ reset: true })`;
 * - `currentMs`, how late the latest probe timer fired: the lag right now, for health streams.
 * Node's histogram records the time between its timer's firings, so its resolution is
 * subtracted from every figure. Timers never keep the process alive.
 */
export class LoopLag {
  readonly #resolutionMs: number;
  readonly #probeIntervalMs: number;
  #histogram: IntervalHistogram | undefined;
  #probe: NodeJS.Timeout | undefined;
  #probeDueAt = 0;
  #currentMs = 0;
  #waiters: Array<(lagMs: number) => void> = [];

  constructor(options: LoopLagOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new SbmpError('bad_config', 'LoopLag options must be an object');
    }
    this.#resolutionMs = checkInteger(options.resolutionMs ?? DEFAULT_LAG_RESOLUTION_MS, 'resolutionMs', 1);
    this.#probeIntervalMs = checkInteger(
      options.probeIntervalMs ?? DEFAULT_LAG_PROBE_INTERVAL_MS,
      'probeIntervalMs',
      1,
    );
  }

  get running(): boolean {
    return this.#histogram !== undefined;
  }

  /** Starts measuring. Idempotent. */
  start(): void {
    if (this.#histogram !== undefined) return;
    this.#histogram = monitorEventLoopDelay({ resolution: this.#resolutionMs });
    this.#histogram.enable();
    this.#scheduleProbe();
  }

  /** Stops measuring; figures read afterwards are zero. Pending `nextSample()` calls reject with `closed`. */
  stop(): void {
    this.#histogram?.disable();
    this.#histogram = undefined;
    clearTimeout(this.#probe);
    this.#probe = undefined;
    this.#currentMs = 0;
    const waiters = this.#waiters;
    this.#waiters = [];
    // Settle waiters with NaN so they do not hang; nextSample() turns it into a rejection.
    for (const resolve of waiters) resolve(Number.NaN);
  }

  /** The figures of the current window; `reset: true` starts a new window (e.g. once per scrape). */
  snapshot(options: { reset?: boolean } = {}): LoopLagFigures {
    const histogram = this.#histogram;
    if (histogram === undefined) return ZERO;
    const figures: LoopLagFigures =
      histogram.count === 0
        ? { ...ZERO, currentMs: this.#currentMs }
        : {
            currentMs: this.#currentMs,
            meanMs: this.#fromHistogram(histogram.mean),
            p50Ms: this.#fromHistogram(histogram.percentile(50)),
            p99Ms: this.#fromHistogram(histogram.percentile(99)),
            maxMs: this.#fromHistogram(histogram.max),
            samples: histogram.count,
          };
    if (options.reset === true) histogram.reset();
    return figures;
  }

  /** The lag measured by the next probe, in ms. Rejects with `closed` if stopped first. */
  nextSample(): Promise<number> {
    if (this.#histogram === undefined) {
      return Promise.reject(new SbmpError('closed', 'the event-loop lag monitor is not running'));
    }
    return new Promise<number>((resolve, reject) => {
      this.#waiters.push((lagMs) => {
        if (Number.isNaN(lagMs)) reject(new SbmpError('closed', 'the event-loop lag monitor was stopped'));
        else resolve(lagMs);
      });
    });
  }

  #scheduleProbe(): void {
    this.#probeDueAt = performance.now() + this.#probeIntervalMs;
    this.#probe = setTimeout(() => this.#onProbe(), this.#probeIntervalMs);
    this.#probe.unref();
  }

  #onProbe(): void {
    this.#currentMs = round(Math.max(0, performance.now() - this.#probeDueAt));
    this.#scheduleProbe();
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve(this.#currentMs);
  }

  /** Histogram values are ns between the sampler's firings; the lag is what exceeds its period. */
  #fromHistogram(ns: number): number {
    return Number.isFinite(ns) ? round(Math.max(0, ns / 1e6 - this.#resolutionMs)) : 0;
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
