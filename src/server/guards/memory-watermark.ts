import { SbmpError } from '../../core/errors.js';
import type { MemoryLimit, MemoryLimitOptions } from './memory-limit.js';
import { resolveMemoryLimit } from './memory-limit.js';
import { badOption, checkFraction, checkFunction, checkInteger } from './options.js';

/**
 * - `normal`: everything is admitted.
 * - `shedding`: new connections and subscriptions are refused (HTTP 503 / WS close 1013);
 *   publishes on existing connections still go through.
 * - `critical`: publishes are refused too, as retryable `overloaded`.
 */
export type WatermarkState = 'normal' | 'shedding' | 'critical';

export interface MemoryWatermarkOptions extends MemoryLimitOptions {
  /** Memory in use, in bytes. Default: the resident set size, `process.memoryUsage.rss()`. */
  readonly sample?: () => number;
  /** How often `start()` samples, in ms. Default 1,000. */
  readonly intervalMs?: number;
  /** Fraction of the limit from which `shedding` starts. Default 0.85. */
  readonly shedAt?: number;
  /** Fraction of the limit from which `critical` starts. Default 0.92; at least `shedAt`. */
  readonly refusePublishesAt?: number;
  /** Fraction of the limit below which the state returns to `normal`. Default 0.75; below `shedAt`. */
  readonly recoverBelow?: number;
}

export interface WatermarkThresholds {
  readonly shedAt: number;
  readonly refusePublishesAt: number;
  readonly recoverBelow: number;
}

export const DEFAULT_WATERMARK_THRESHOLDS: WatermarkThresholds = Object.freeze({
  shedAt: 0.85,
  refusePublishesAt: 0.92,
  recoverBelow: 0.75,
});

export const DEFAULT_WATERMARK_INTERVAL_MS = 1000;

/** Retry hint of a refusal (`details.retryAfterMs`, HTTP `Retry-After`): at least this, and at least one sampling interval. */
const MIN_RETRY_AFTER_MS = 1000;

export interface WatermarkChange {
  readonly from: WatermarkState;
  readonly to: WatermarkState;
  readonly ratio: number;
  readonly usageBytes: number;
}

/** Plain figures for the health stream, `/debug/vars` and metrics. */
export interface WatermarkFigures extends WatermarkThresholds {
  readonly state: WatermarkState;
  readonly ratio: number;
  readonly usageBytes: number;
  readonly limitBytes: number;
  readonly limitSource: MemoryLimit['source'];
}

/**
 * The state after a sample at `ratio` (usage / limit), with hysteresis so that the state does
 * not flap around a threshold:
 *
 *   0 ........ recoverBelow ........ shedAt ........ refusePublishesAt ........ 1
 *   |  normal  |  keep the state     |  normal -> shedding  |  critical
 *
 * Rising past a threshold escalates at once; falling back only returns to `normal`, and only
 * below `recoverBelow` (a `critical` process at 80% stays `critical`: what drove it up is
 * usually still there, and releasing publishes early would push it straight back).
 */
export function nextWatermarkState(
  current: WatermarkState,
  ratio: number,
  thresholds: WatermarkThresholds,
): WatermarkState {
  if (ratio >= thresholds.refusePublishesAt) return 'critical';
  if (ratio < thresholds.recoverBelow) return 'normal';
  if (ratio >= thresholds.shedAt && current === 'normal') return 'shedding';
  return current;
}

/**
 * Memory-watermark load shedding: compares memory in use with the process limit (explicit,
 * cgroup, or V8 heap limit; see `resolveMemoryLimit`) and refuses new work before the process
 * runs out of memory. Samples once when constructed, then every `intervalMs` between
 * `start()` and `stop()` (the timer never keeps the process alive), or whenever `check()` is
 * called.
 *
 * The default sample is RSS, which also counts off-heap buffers (socket and encoding buffers),
 * so against the V8 heap limit it errs on the side of shedding early.
 */
export class MemoryWatermark {
  readonly #limit: MemoryLimit;
  readonly #sample: () => number;
  readonly #intervalMs: number;
  readonly #thresholds: WatermarkThresholds;
  readonly #listeners = new Set<(change: WatermarkChange) => void>();
  #state: WatermarkState = 'normal';
  #usageBytes = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: MemoryWatermarkOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new SbmpError('bad_config', 'MemoryWatermark options must be an object');
    }
    this.#sample = checkFunction(options.sample ?? (() => process.memoryUsage.rss()), 'sample');
    this.#intervalMs = checkInteger(options.intervalMs ?? DEFAULT_WATERMARK_INTERVAL_MS, 'intervalMs', 1);
    this.#thresholds = checkThresholds(options);
    this.#limit = resolveMemoryLimit(options);
    this.check();
  }

  get state(): WatermarkState {
    return this.#state;
  }

  /** Usage / limit at the last sample (may exceed 1). */
  get ratio(): number {
    return this.#usageBytes / this.#limit.bytes;
  }

  get limit(): MemoryLimit {
    return this.#limit;
  }

  figures(): WatermarkFigures {
    return {
      state: this.#state,
      ratio: this.ratio,
      usageBytes: this.#usageBytes,
      limitBytes: this.#limit.bytes,
      limitSource: this.#limit.source,
      ...this.#thresholds,
    };
  }

  /**
   * Samples now and updates the state; listeners hear of a change before this returns. A
   * sample that is not a finite number of bytes >= 0 is `internal` (the state is kept).
   */
  check(): WatermarkState {
    const usage = this.#sample();
    if (typeof usage !== 'number' || !Number.isFinite(usage) || usage < 0) {
      throw new SbmpError(
        'internal',
        `the memory sample must be a number of bytes >= 0, got ${String(usage)}`,
      );
    }
    this.#usageBytes = usage;
    const from = this.#state;
    const to = nextWatermarkState(from, this.ratio, this.#thresholds);
    if (to !== from) {
      this.#state = to;
      this.#emit({ from, to, ratio: this.ratio, usageBytes: usage });
    }
    return to;
  }

  /** Throws `overloaded` (retryable, 503) unless the state is `normal`. */
  admitConnection(): void {
    if (this.#state !== 'normal') throw this.#refusal('new connections');
  }

  /** Throws `overloaded` (retryable, 503) unless the state is `normal`. */
  admitSubscription(): void {
    if (this.#state !== 'normal') throw this.#refusal('new subscriptions');
  }

  /** Throws `overloaded` (retryable, 503) when the state is `critical`. */
  admitPublish(): void {
    if (this.#state === 'critical') throw this.#refusal('publishes');
  }

  /** Calls `listener` on every state change; returns a function that removes it. */
  onChange(listener: (change: WatermarkChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Starts periodic sampling. Idempotent. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
    this.#timer.unref();
  }

  /** Stops periodic sampling. Idempotent; `start()` may be called again. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    try {
      this.check();
    } catch (err) {
      // A timer callback has no caller to throw to; a warning reaches stderr and any
      // 'warning' listener instead of crashing the process or vanishing.
      process.emitWarning(err instanceof Error ? err : new Error(String(err)), 'SbmpMemoryWatermark');
    }
  }

  #emit(change: WatermarkChange): void {
    let failure: unknown;
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure !== undefined) throw failure;
  }

  #refusal(what: string): SbmpError {
    const percent = (ratio: number) => `${Math.round(ratio * 100)}%`;
    return new SbmpError(
      'overloaded',
      `memory is at ${percent(this.ratio)} of the ${this.#limit.bytes}-byte limit (${this.#limit.source}): ` +
        `${what} are refused until it falls below ${percent(this.#thresholds.recoverBelow)}`,
      {
        details: {
          state: this.#state,
          ratio: Math.round(this.ratio * 1000) / 1000,
          limitBytes: this.#limit.bytes,
          retryAfterMs: Math.max(MIN_RETRY_AFTER_MS, this.#intervalMs),
        },
      },
    );
  }
}

function checkThresholds(options: MemoryWatermarkOptions): WatermarkThresholds {
  const defaults = DEFAULT_WATERMARK_THRESHOLDS;
  const shedAt = checkFraction(options.shedAt ?? defaults.shedAt, 'shedAt');
  const refusePublishesAt = checkFraction(
    options.refusePublishesAt ?? defaults.refusePublishesAt,
    'refusePublishesAt',
  );
  const recoverBelow = checkFraction(options.recoverBelow ?? defaults.recoverBelow, 'recoverBelow');
  if (refusePublishesAt < shedAt) {
    throw badOption(
      'refusePublishesAt',
      `must be at least options.shedAt (${shedAt}), got ${refusePublishesAt}`,
    );
  }
  if (recoverBelow >= shedAt) {
    throw badOption('recoverBelow', `must be below options.shedAt (${shedAt}), got ${recoverBelow}`);
  }
  return Object.freeze({ shedAt, refusePublishesAt, recoverBelow });
}
