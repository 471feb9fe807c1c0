import type { Logger } from 'pino';
import { SbmpError } from '../../core/errors.js';
import type { Store } from '../../store/types.js';
import type { CompactionFigures } from '../compaction.js';
import { DEFAULT_COMPACT_INTERVAL_MS, PeriodicCompaction } from '../compaction.js';
import type { MemoryWatermarkOptions, WatermarkFigures } from './memory-watermark.js';
import { MemoryWatermark } from './memory-watermark.js';
import type { BreakerFigures, GuardedStore, StoreBreakerOptions } from './store-breaker.js';
import { guardStore } from './store-breaker.js';

/** The guards of one server (`ServerOptions.guards`); each is on by default. */
export interface ServerGuardOptions {
  /**
   * Memory-watermark load shedding, see `MemoryWatermarkOptions`: `limitBytes` (default: the
   * cgroup limit, else the V8 heap limit), `shedAt` 0.85, `refusePublishesAt` 0.92,
   * `recoverBelow` 0.75, `intervalMs` 1,000, `sample` (default RSS). `false` turns it off.
   */
  readonly memory?: MemoryWatermarkOptions | false;
  /**
   * The circuit breaker around the store, see `StoreBreakerOptions` (default: open above a 50%
   * failure rate over 10 s at 1+ call/s, probe after 5 s). `false` turns it off.
   */
  readonly storeBreaker?: StoreBreakerOptions | false;
  /**
   * Period of `store.compact()` in ms. Default 60,000; 0 turns it off. Runs are skipped while
   * the breaker is not closed; failures are logged, never fatal.
   */
  readonly compactIntervalMs?: number;
}

/** What a guard refuses; the `action` label of `sbmp_guard_refusals_total`. */
export type GuardedAction = 'connection' | 'subscription' | 'publish';

export interface GuardFigures {
  /** Null when the memory guard is off. */
  readonly memory: WatermarkFigures | null;
  /** Null when the breaker is off. */
  readonly storeBreaker: BreakerFigures | null;
  /** Refusals by the memory watermark since start. */
  readonly refusals: Readonly<Record<GuardedAction, number>>;
  readonly compaction: CompactionFigures;
}

/**
 * The guards of one server, made once at start-up and shared by every handler:
 * - the memory watermark: from `shedAt` new connections (SSE watches, WebSocket HELLO) and new
 *   subscriptions are refused with `overloaded`, from `refusePublishesAt` publishes too, until
 *   memory falls below `recoverBelow`;
 * - the store breaker: `store` is the server's store wrapped once by `guardStore`, so requests
 *   fail fast with `unavailable` while the store is failing;
 * - periodic compaction, which leaves a store behind a non-closed breaker alone, and whose own
 *   failures do not count against the breaker.
 * Both states show in `readiness()`, the health stream and metrics; their changes are logged.
 */
export class ServerGuards {
  /** The store every handler uses: behind the breaker, unless it is off. */
  readonly store: Store;
  readonly #memory: MemoryWatermark | undefined;
  readonly #breaker: GuardedStore | undefined;
  readonly #compaction: PeriodicCompaction;
  readonly #refusals: Record<GuardedAction, number> = { connection: 0, subscription: 0, publish: 0 };
  readonly #unsubscribe: (() => void)[] = [];

  /** Validates every option first; throws `bad_config` naming the option. Starts nothing. */
  constructor(store: Store, options: ServerGuardOptions = {}, logger?: Logger) {
    if (options === null || typeof options !== 'object') {
      throw new SbmpError('bad_config', 'options.guards must be an object');
    }
    this.#memory = options.memory === false ? undefined : new MemoryWatermark(options.memory ?? {});
    this.#breaker =
      options.storeBreaker === false ? undefined : guardStore(store, options.storeBreaker ?? {});
    this.store = this.#breaker ?? store;
    this.#compaction = new PeriodicCompaction({
      // Past the breaker: a failing background compaction is logged and counted on its own; it
      // must not open the circuit and refuse publishes that the store would accept.
      store,
      intervalMs: options.compactIntervalMs ?? DEFAULT_COMPACT_INTERVAL_MS,
      skipReason: () => {
        const state = this.#breaker?.breakerState;
        return state === undefined || state === 'closed' ? undefined : `the store breaker is ${state}`;
      },
      logger,
    });
    if (this.#memory !== undefined) {
      this.#unsubscribe.push(
        this.#memory.onChange((change) => {
          const fields = { ...change, limitBytes: this.#memory?.limit.bytes };
          if (change.to === 'normal')
            logger?.info(fields, 'memory back below the watermark: load accepted again');
          else logger?.warn(fields, `memory watermark ${change.to}: shedding load`);
        }),
      );
    }
    if (this.#breaker !== undefined) {
      this.#unsubscribe.push(
        this.#breaker.onStateChange((state) => {
          if (state === 'closed')
            logger?.info({ breaker: state }, 'store breaker closed: the store answers again');
          else logger?.warn({ breaker: state, kind: store.kind }, `store breaker ${state}`);
        }),
      );
    }
  }

  get memory(): MemoryWatermark | undefined {
    return this.#memory;
  }

  get breaker(): GuardedStore | undefined {
    return this.#breaker;
  }

  /** Starts memory sampling and periodic compaction. */
  start(): void {
    this.#memory?.start();
    this.#compaction.start();
  }

  /** Stops the timers and waits for a compaction in progress; the store itself stays open. */
  async stop(): Promise<void> {
    this.#memory?.stop();
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    await this.#compaction.stop();
  }

  /** Throws `overloaded` (503, retryable, `details.retryAfterMs`) while memory is shedding or critical. */
  admitConnection(): void {
    this.#admit('connection', (memory) => memory.admitConnection());
  }

  /** Throws `overloaded` while memory is shedding or critical. */
  admitSubscription(): void {
    this.#admit('subscription', (memory) => memory.admitSubscription());
  }

  /** Throws `overloaded` while memory is critical. */
  admitPublish(): void {
    this.#admit('publish', (memory) => memory.admitPublish());
  }

  /**
   * Why the server should not get new work now, or undefined when it should: `unavailable`
   * while the store breaker is not closed, `overloaded` while memory is not normal.
   */
  notReadyReason(): SbmpError | undefined {
    const breaker = this.#breaker?.breakerFigures();
    if (breaker !== undefined && breaker.state !== 'closed') {
      return new SbmpError('unavailable', `the ${this.store.kind} store breaker is ${breaker.state}`, {
        details: { breaker: breaker.state },
      });
    }
    const memory = this.#memory;
    if (memory !== undefined && memory.state !== 'normal') {
      const percent = Math.round(memory.ratio * 100);
      return new SbmpError(
        'overloaded',
        `memory is at ${percent}% of the ${memory.limit.bytes}-byte limit: ${memory.state}`,
        { details: { memory: memory.state, ratio: Math.round(memory.ratio * 1000) / 1000 } },
      );
    }
    return undefined;
  }

  figures(): GuardFigures {
    return {
      memory: this.#memory?.figures() ?? null,
      storeBreaker: this.#breaker?.breakerFigures() ?? null,
      refusals: { ...this.#refusals },
      compaction: this.#compaction.figures(),
    };
  }

  #admit(action: GuardedAction, check: (memory: MemoryWatermark) => void): void {
    if (this.#memory === undefined) return;
    try {
      check(this.#memory);
    } catch (err) {
      this.#refusals[action]++;
      throw err;
    }
  }
}
