import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

/** Resolution of the event-loop delay sampler, in ms. */
const LAG_RESOLUTION_MS = 20;

export interface MemoryFigures {
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly heapTotalBytes: number;
  readonly externalBytes: number;
  readonly arrayBuffersBytes: number;
}

/** Length of the window event-loop lag figures describe. */
const LAG_WINDOW_MS = 1000;

export interface LagFigures {
  readonly meanMs: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/**
 * Process figures for the health stream and `/debug/vars`: uptime, event-loop lag (over the
 * last one-second window, from Node's sampler) and memory. Readers share one window, so any
 * number of health streams see the same figures.
 */
export class RuntimeStats {
  readonly startedAt = Date.now();
  readonly #sampler: IntervalHistogram;
  readonly #timer: NodeJS.Timeout;
  #lag: LagFigures = { meanMs: 0, p99Ms: 0, maxMs: 0 };

  constructor() {
    this.#sampler = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
    this.#sampler.enable();
    this.#timer = setInterval(() => this.#rollWindow(), LAG_WINDOW_MS);
    this.#timer.unref();
  }

  get uptimeMs(): number {
    return Date.now() - this.startedAt;
  }

  /** Event-loop lag over the last full window, in ms (the sampler's own resolution subtracted). */
  get lag(): LagFigures {
    return this.#lag;
  }

  #rollWindow(): void {
    const toMs = (ns: number) => (Number.isFinite(ns) ? Math.max(0, ns / 1e6 - LAG_RESOLUTION_MS) : 0);
    this.#lag = {
      meanMs: round(toMs(this.#sampler.mean)),
      p99Ms: round(toMs(this.#sampler.percentile(99))),
      maxMs: round(toMs(this.#sampler.max)),
    };
    this.#sampler.reset();
  }

  memory(): MemoryFigures {
    const m = process.memoryUsage();
    return {
      rssBytes: m.rss,
      heapUsedBytes: m.heapUsed,
      heapTotalBytes: m.heapTotal,
      externalBytes: m.external,
      arrayBuffersBytes: m.arrayBuffers,
    };
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#sampler.disable();
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
