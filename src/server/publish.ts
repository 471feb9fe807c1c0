import { isSbmpError, SbmpError } from '../core/errors.js';
import { promisePut, putVia, settleInto } from '../store/put-via.js';
import type { PutOptions, PutOutcome, PutReceiver, SnapshotInput, Store } from '../store/types.js';
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

/** One publish awaiting the store: what to count and log, and who gets the result. */
interface PublishCall {
  readonly cells: TransportCells;
  readonly started: number;
  readonly input: SnapshotInput;
  readonly transport: PublishTransport;
  readonly unobserved: PublishOrigin | undefined;
  readonly receiver: PutReceiver<unknown>;
  readonly context: unknown;
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
  /** Receives every store put of `#publishTo`; made once rather than a promise and reactions per publish. */
  readonly #storeReceiver: PutReceiver<PublishCall> = {
    putDone: (outcome: PutOutcome, call: PublishCall) => {
      call.cells.results[outcome.result].inc();
      if (outcome.result === 'stale') this.#metrics.staleOnPublish.inc();
      this.#settled(call.cells, call.started);
      call.receiver.putDone(outcome, call.context);
    },
    putFailed: (err: unknown, call: PublishCall) => {
      this.#failed(call.cells, call.started);
      logPublishFault(call.input, call.transport, call.unobserved, call.started, err);
      call.receiver.putFailed(asSbmpError(err), call.context);
    },
  };

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
        promisePut((receiver, settlers) =>
          this.#publishTo(traced, options, identity, transport, undefined, receiver, settlers),
        ),
      );
    }
    return promisePut((receiver, settlers) =>
      this.#publishTo(input, options, identity, transport, origin, receiver, settlers),
    );
  }

  /**
   * `publish`, with the outcome or the `SbmpError` handed to `receiver` instead of a promise:
   * the WebSocket path, one publish per frame. May call `receiver` before returning.
   */
  publishTo<C>(
    input: SnapshotInput,
    options: PutOptions | undefined,
    identity: string,
    transport: PublishTransport,
    origin: PublishOrigin | undefined,
    receiver: PutReceiver<C>,
    context: C,
  ): void {
    if (observationNeeded(origin)) {
      settleInto(this.publish(input, options, identity, transport, origin), receiver, context);
      return;
    }
    this.#publishTo(input, options, identity, transport, origin, receiver, context);
  }

  /** `unobserved`: the origin to log a server fault for, when no `observePublish` wraps this call. */
  #publishTo<C>(
    input: SnapshotInput,
    options: PutOptions | undefined,
    identity: string,
    transport: PublishTransport,
    unobserved: PublishOrigin | undefined,
    receiver: PutReceiver<C>,
    context: C,
  ): void {
    const cells = this.#cellsOf(transport);
    const started = performance.now();
    this.#inFlight++;
    try {
      this.#admission?.admitPublish();
      this.#rateLimiter.take(identity);
    } catch (err) {
      this.#failed(cells, started);
      logPublishFault(input, transport, unobserved, started, err);
      receiver.putFailed(asSbmpError(err), context);
      return;
    }
    const call: PublishCall = {
      cells,
      started,
      input,
      transport,
      unobserved,
      receiver: receiver as PutReceiver<unknown>,
      context,
    };
    putVia(this.#store, input, options, this.#storeReceiver, call);
  }

  #failed(cells: TransportCells, started: number): void {
    cells.results.error.inc();
    this.#settled(cells, started);
  }

  #settled(cells: TransportCells, started: number): void {
    cells.seconds.observe((performance.now() - started) / 1000);
    // Reached after nearly every publish of a memory store: an empty list is not copied.
    if (--this.#inFlight === 0 && this.#idleWaiters.length > 0) {
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
