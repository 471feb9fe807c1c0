import type { LoopLagFigures, LoopLagOptions } from './guards/loop-lag.js';
import { LoopLag } from './guards/loop-lag.js';

/** Resolution of the event-loop delay sampler unless `loopLag.resolutionMs` says otherwise, in ms. */
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

/** Event-loop lag figures of one window (see `LoopLagFigures`). */
export type LagFigures = LoopLagFigures;

export interface RuntimeStatsOptions {
  /** Options of the event-loop lag monitor; the resolution defaults to 20 ms here. */
  readonly loopLag?: LoopLagOptions;
  /** Called with each one-second window's figures as it closes (e.g. to feed a histogram). */
  readonly onLagWindow?: (figures: LagFigures) => void;
}

/**
 * Process figures for the health stream and `/debug/vars`: uptime, event-loop lag (over the
 * last one-second window, from `LoopLag`) and memory. Readers share one window, so any number
 * of health streams see the same figures.
 */
export class RuntimeStats {
  readonly startedAt = Date.now();
  readonly #loopLag: LoopLag;
  readonly #timer: NodeJS.Timeout;
  readonly #onLagWindow: ((figures: LagFigures) => void) | undefined;
  #lag: LagFigures;

  /** Throws `bad_config` naming the option when `loopLag` is invalid. */
  constructor(options: RuntimeStatsOptions = {}) {
    this.#loopLag = new LoopLag({ resolutionMs: LAG_RESOLUTION_MS, ...options.loopLag });
    this.#onLagWindow = options.onLagWindow;
    this.#loopLag.start();
    this.#lag = this.#loopLag.snapshot();
    this.#timer = setInterval(() => this.#rollWindow(), LAG_WINDOW_MS);
    this.#timer.unref();
  }

  get uptimeMs(): number {
    return Date.now() - this.startedAt;
  }

  /** Event-loop lag over the last full window, in ms, with the latest probe's `currentMs`. */
  get lag(): LagFigures {
    return this.#lag;
  }

  #rollWindow(): void {
    this.#lag = this.#loopLag.snapshot({ reset: true });
    this.#onLagWindow?.(this.#lag);
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
    this.#loopLag.stop();
  }
}
