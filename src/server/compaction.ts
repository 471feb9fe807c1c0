import type { Logger } from 'pino';
import { SbmpError } from '../core/errors.js';
import type { CompactOutcome, Store } from '../store/types.js';

/** Default period of the store compaction a server runs: 60,000 ms (one minute). */
export const DEFAULT_COMPACT_INTERVAL_MS = 60_000;

/** How a scheduled compaction ended; the `result` label of `sbmp_store_compactions_total`. */
export type CompactionResult = 'ok' | 'error' | 'skipped';

/** Figures for the health stream and metrics. */
export interface CompactionFigures {
  /** The period in ms; 0 when periodic compaction is off. */
  readonly intervalMs: number;
  readonly ok: number;
  readonly errors: number;
  /** Runs not attempted: the store breaker was not closed, or the previous run was still going. */
  readonly skipped: number;
  /** Wall-clock ms of the last run that reached the store, or 0. */
  readonly lastRunAt: number;
  readonly lastOutcome: CompactOutcome | null;
  /** Message of the last failure, or null once a later run succeeded. */
  readonly lastError: string | null;
}

export interface PeriodicCompactionOptions {
  readonly store: Store;
  /** Period in ms, an integer >= 1; 0 turns periodic compaction off. */
  readonly intervalMs: number;
  /** A reason to skip this run (e.g. "the store breaker is open"), or undefined to run it. */
  readonly skipReason?: () => string | undefined;
  readonly logger?: Logger | undefined;
}

/**
 * Runs `store.compact()` (the store's own retention policy) every `intervalMs`, so tombstones
 * and the revision index do not grow without bound on a long-running server. A failed run is
 * logged and counted, never fatal: the next period tries again. Runs never overlap, are skipped
 * while `skipReason()` gives one (a store behind an open breaker is not prodded), and the timer
 * never keeps the process alive. `stop()` waits for a run in progress, so the caller can close
 * the store right after.
 */
export class PeriodicCompaction {
  readonly #store: Store;
  readonly #intervalMs: number;
  readonly #skipReason: () => string | undefined;
  readonly #logger: Logger | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #ok = 0;
  #errors = 0;
  #skipped = 0;
  #lastRunAt = 0;
  #lastOutcome: CompactOutcome | null = null;
  #lastError: string | null = null;

  constructor(options: PeriodicCompactionOptions) {
    const { intervalMs } = options;
    if (typeof intervalMs !== 'number' || !Number.isSafeInteger(intervalMs) || intervalMs < 0) {
      throw new SbmpError(
        'bad_config',
        `options.compactIntervalMs must be an integer >= 0 (0 turns compaction off), got ${String(intervalMs)}`,
        { details: { option: 'compactIntervalMs' } },
      );
    }
    this.#store = options.store;
    this.#intervalMs = intervalMs;
    this.#skipReason = options.skipReason ?? (() => undefined);
    this.#logger = options.logger;
  }

  /** Starts the schedule (the first run one period from now). Does nothing when the period is 0. */
  start(): void {
    if (this.#intervalMs === 0 || this.#timer !== undefined || this.#stopped) return;
    this.#timer = setInterval(() => void this.#tick(), this.#intervalMs);
    this.#timer.unref();
  }

  /** Stops the schedule and waits for a run in progress. Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  figures(): CompactionFigures {
    return {
      intervalMs: this.#intervalMs,
      ok: this.#ok,
      errors: this.#errors,
      skipped: this.#skipped,
      lastRunAt: this.#lastRunAt,
      lastOutcome: this.#lastOutcome,
      lastError: this.#lastError,
    };
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    const reason = this.#running === undefined ? this.#skipReason() : 'the previous run is still going';
    if (reason !== undefined) {
      this.#skipped++;
      this.#logger?.debug({ reason }, 'store compaction skipped');
      return;
    }
    this.#running = this.#run();
    await this.#running;
    this.#running = undefined;
  }

  async #run(): Promise<void> {
    this.#lastRunAt = Date.now();
    try {
      const outcome = await this.#store.compact();
      this.#ok++;
      this.#lastOutcome = outcome;
      this.#lastError = null;
      if (outcome.removedTombstones > 0) this.#logger?.info({ outcome }, 'store compacted');
    } catch (err) {
      this.#errors++;
      this.#lastError = err instanceof Error ? err.message : String(err);
      this.#logger?.warn({ err }, 'store compaction failed; the next period tries again');
    }
  }
}
