import { isSbmpError, SbmpError } from '../core/errors.js';
import type { PutOptions, PutOutcome, SnapshotInput, Store } from '../store/types.js';
import type { PublishOutcome, ServerMetrics } from './metrics.js';
import type { CounterCell, HistogramCell } from './observability/local-metrics.js';
import type { PublishOrigin } from './observability/publish-observer.js';
import { logPublishFault, observationNeeded, observePublish } from './observability/publish-observer.js';
import type { RateLimiter } from './rate-limit.js';

export type PublishTransport = 'http' | 'ws';

const PUBLISH_OUTCOMES: readonly PublishOutcome[] = ['applied', 'duplicate', 'conflict', 'stale', 'error'];

/** The metric cells of one transport, resolved once. */
interface TransportCells {
  readonly results: Record<PublishOutcome, CounterCell>;
  readonly seconds: HistogramCell;
}

/** The admission check a publish passes first (the memory watermark; see `ServerGuards`). */
export interface PublishAdmission {
  /** Throws (`overloaded`) when publishes are refused now. */
  admitPublish(): void;
}

/**
 * The one publish path of the server, shared by `PUT /state/{key}` and the PUBLISH frame:
 * admission (memory watermark), rate limit, store put, metrics, and the count of publishes in
 * flight that a graceful close waits for. Apply results (including `stale` and `conflict`) are
 * returned as values; only failures throw, always as `SbmpError` (an unexpected store failure
 * becomes `internal`).
 */
export class Publisher {
  readonly #store: Store;
  readonly #metrics: ServerMetrics;
  readonly #rateLimiter: RateLimiter;
  readonly #admission: PublishAdmission | undefined;
  readonly #cells = new Map<PublishTransport, TransportCells>();
  #inFlight = 0;
  #idleWaiters: (() => void)[] = [];

  constructor(store: Store, metrics: ServerMetrics, rateLimiter: RateLimiter, admission?: PublishAdmission) {
    this.#store = store;
    this.#metrics = metrics;
    this.#rateLimiter = rateLimiter;
    this.#admission = admission;
  }

  /** Publishes awaiting the store. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Runs in an `sbmp.publish` span; `origin` names the request or connection in the log line. */
  publish(
    input: SnapshotInput,
    options: PutOptions | undefined,
    identity: string,
    transport: PublishTransport,
    origin?: PublishOrigin,
  ): Promise<PutOutcome> {
    if (observationNeeded(origin)) {
      return observePublish(input, transport, origin, (traced) =>
        this.#publish(traced, options, identity, transport, undefined),
      );
    }
    return this.#publish(input, options, identity, transport, origin);
  }

  /** `unobserved`: the origin to log a server fault for, when no `observePublish` wraps this call. */
  #publish(
    input: SnapshotInput,
    options: PutOptions | undefined,
    identity: string,
    transport: PublishTransport,
    unobserved: PublishOrigin | undefined,
  ): Promise<PutOutcome> {
    const cells = this.#cellsOf(transport);
    const started = performance.now();
    this.#inFlight++;
    let pending: Promise<PutOutcome>;
    try {
      this.#admission?.admitPublish();
      this.#rateLimiter.take(identity);
      pending = this.#store.put(input, options);
    } catch (err) {
      this.#failed(cells, started);
      logPublishFault(input, transport, unobserved, started, err);
      return Promise.reject(asSbmpError(err));
    }
    // One reaction on the store's promise instead of an async frame: this runs per publish.
    return pending.then(
      (outcome) => {
        cells.results[outcome.result].inc();
        if (outcome.result === 'stale') this.#metrics.staleOnPublish.inc();
        this.#settled(cells, started);
        return outcome;
      },
      (err: unknown) => {
        this.#failed(cells, started);
        logPublishFault(input, transport, unobserved, started, err);
        throw asSbmpError(err);
      },
    );
  }

  #failed(cells: TransportCells, started: number): void {
    cells.results.error.inc();
    this.#settled(cells, started);
  }

  #settled(cells: TransportCells, started: number): void {
    cells.seconds.observe((performance.now() - started) / 1000);
    if (--this.#inFlight === 0) {
      for (const wake of this.#idleWaiters.splice(0)) wake();
    }
  }

  #cellsOf(transport: PublishTransport): TransportCells {
    let cells = this.#cells.get(transport);
    if (cells === undefined) {
      const publishes = this.#metrics.publishes;
      const results = {} as Record<PublishOutcome, CounterCell>;
      for (const result of PUBLISH_OUTCOMES) results[result] = publishes.cell({ result, transport });
      cells = { results, seconds: this.#metrics.publishSeconds.cell({ transport }) };
      this.#cells.set(transport, cells);
    }
    return cells;
  }

  /** Resolves true once no publish is in flight, or false after `timeoutMs`. */
  waitIdle(timeoutMs: number): Promise<boolean> {
    if (this.#inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.#idleWaiters = this.#idleWaiters.filter((w) => w !== wake);
        resolve(false);
      }, timeoutMs);
      this.#idleWaiters.push(wake);
    });
  }
}

/** Any thrown value as an `SbmpError`: unknown failures become `internal`, keeping the cause. */
export function asSbmpError(err: unknown): SbmpError {
  if (isSbmpError(err)) return err;
  return new SbmpError('internal', 'internal error', { cause: err });
}
