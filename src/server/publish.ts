import { isSbmpError, SbmpError } from '../core/errors.js';
import type { PutOptions, PutOutcome, SnapshotInput, Store } from '../store/types.js';
import type { ServerMetrics } from './metrics.js';
import type { PublishOrigin } from './observability/publish-observer.js';
import { observePublish } from './observability/publish-observer.js';
import type { RateLimiter } from './rate-limit.js';

export type PublishTransport = 'http' | 'ws';

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
    return observePublish(input, transport, origin, (traced) =>
      this.#publish(traced, options, identity, transport),
    );
  }

  async #publish(
    input: SnapshotInput,
    options: PutOptions | undefined,
    identity: string,
    transport: PublishTransport,
  ): Promise<PutOutcome> {
    const started = performance.now();
    this.#inFlight++;
    try {
      this.#admission?.admitPublish();
      this.#rateLimiter.take(identity);
      const outcome = await this.#store.put(input, options);
      this.#metrics.publishes.inc({ result: outcome.result, transport });
      if (outcome.result === 'stale') this.#metrics.staleRejections.inc({ where: 'publish' });
      return outcome;
    } catch (err) {
      this.#metrics.publishes.inc({ result: 'error', transport });
      throw asSbmpError(err);
    } finally {
      this.#metrics.publishSeconds.observe({ transport }, (performance.now() - started) / 1000);
      if (--this.#inFlight === 0) {
        for (const wake of this.#idleWaiters.splice(0)) wake();
      }
    }
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
