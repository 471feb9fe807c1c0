import type { CircuitBreakerPolicy, IBreaker } from 'cockatiel';
import {
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  isBrokenCircuitError,
  SamplingBreaker,
} from 'cockatiel';
import { isSbmpError, SbmpError } from '../../core/errors.js';
import { putByPromise, putVia } from '../../store/put-via.js';
import type { PutOptions, PutOutcome, PutReceiver, SnapshotInput, Store } from '../../store/types.js';
import type { StoreCall, StoreRequest } from '../../store/wrapper.js';
import { StoreWrapper } from '../../store/wrapper.js';
import { badOption, checkFraction, checkInteger, checkPositive } from './options.js';

/** `isolated` is a circuit held open by hand (cockatiel's `isolate()`), e.g. during maintenance. */
export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated';

export interface StoreBreakerOptions {
  /** Time the circuit stays open before one probe call is let through, in ms. Default 5,000. */
  readonly halfOpenAfterMs?: number;
  /** Failure rate in the sampling window above which the circuit opens, in (0, 1). Default 0.5. */
  readonly threshold?: number;
  /**
   * Length of the sampling window, in ms. Default 10,000. (cockatiel retires its sub-windows as
   * calls arrive, so right after a quiet spell a few older outcomes may still count.)
   */
  readonly durationMs?: number;
  /**
   * Calls per second the window must average before its failure rate counts, so that one
   * failed call in a quiet minute does not open the circuit. Default 1 (10 calls in 10 s).
   */
  readonly minimumRps?: number;
  /**
   * Instead of a failure rate: open after this many store failures in a row. Cannot be combined
   * with `threshold`, `durationMs` or `minimumRps`. Default: not used.
   */
  readonly consecutiveFailures?: number;
}

export const DEFAULT_STORE_BREAKER = Object.freeze({
  halfOpenAfterMs: 5000,
  threshold: 0.5,
  durationMs: 10_000,
  minimumRps: 1,
});

/** Figures for metrics (`sbmp_store_breaker_*`) and the health stream. */
export interface BreakerFigures {
  readonly state: BreakerState;
  /** Times the circuit opened. */
  readonly opens: number;
  /** Calls refused without reaching the store. */
  readonly rejected: number;
  /** Calls that reached the store and failed as a store failure. */
  readonly failures: number;
}

/** A `Store` whose request-shaped calls go through a circuit breaker. */
export interface GuardedStore extends Store {
  readonly breakerState: BreakerState;
  /** Calls `listener` on every state change; returns a function that removes it. */
  onStateChange(listener: (state: BreakerState) => void): () => void;
  breakerFigures(): BreakerFigures;
}

/**
 * True when `err` says the store itself is failing. Errors that are the caller's fault (any
 * `SbmpError` with a 4xx status: `bad_key`, `bad_version`, `too_large`, `bad_state`, ...) and
 * `closed` (the store was shut down on purpose) say nothing about the store's health.
 */
export function isStoreFailure(err: unknown): boolean {
  if (!isSbmpError(err)) return true;
  return err.status >= 500 && err.code !== 'closed';
}

/**
 * Wraps `store` in a circuit breaker (cockatiel) so that a failing store is refused quickly
 * instead of piling up calls that will time out:
 *
 *   closed --(failure rate > threshold, or N failures in a row)--> open
 *   open   --(halfOpenAfterMs later, the next call is the probe)--> half-open
 *   half-open --(probe succeeds)--> closed      half-open --(probe fails)--> open
 *
 * `put`, `get`, `list` and `compact` pass through the breaker. While it is open or a probe is in
 * flight they fail at once with retryable `unavailable` (503; `details.retryAfterMs`, `cause` =
 * the last store failure), without touching the store; nothing waits in a queue. Caller errors
 * (see `isStoreFailure`) are passed on and not counted; a probe that ends in one still closes
 * the circuit, since the store answered. `watch`, `currentRevision` and `close` are not
 * request-shaped and pass straight through.
 */
export function guardStore(store: Store, options: StoreBreakerOptions = {}): GuardedStore {
  return new BreakerStore(store, options);
}

/** One `putTo` let through a closed circuit: who gets its result. */
interface GuardedPut {
  readonly receiver: PutReceiver<unknown>;
  readonly context: unknown;
}

class BreakerStore extends StoreWrapper implements GuardedStore {
  readonly #policy: CircuitBreakerPolicy;
  readonly #breaker: IBreaker;
  readonly #halfOpenAfterMs: number;
  #openedAt = 0;
  #opens = 0;
  #rejected = 0;
  #failures = 0;
  /** The receiver of every `putTo` let through a closed circuit; made once, not per put. */
  readonly #closedPut: PutReceiver<GuardedPut> = {
    putDone: (outcome: PutOutcome, put: GuardedPut) => {
      this.#breaker.success(CircuitState.Closed);
      put.receiver.putDone(outcome, put.context);
    },
    putFailed: (err: unknown, put: GuardedPut) => {
      if (!isStoreFailure(err)) put.receiver.putFailed(err, put.context);
      else this.#countFailure(err).then(() => put.receiver.putFailed(err, put.context));
    },
  };

  constructor(store: Store, options: StoreBreakerOptions) {
    if (store === null || typeof store !== 'object' || typeof store.put !== 'function') {
      throw new SbmpError('bad_config', 'guardStore needs an open Store');
    }
    super(store);
    if (options === null || typeof options !== 'object') {
      throw new SbmpError('bad_config', 'guardStore options must be an object');
    }
    this.#halfOpenAfterMs = checkInteger(
      options.halfOpenAfterMs ?? DEFAULT_STORE_BREAKER.halfOpenAfterMs,
      'halfOpenAfterMs',
      1,
    );
    this.#breaker = makeBreaker(options);
    this.#policy = circuitBreaker(handleWhen(isStoreFailure), {
      halfOpenAfter: this.#halfOpenAfterMs,
      breaker: this.#breaker,
    });
    this.#policy.onBreak(() => {
      this.#openedAt = Date.now();
      this.#opens++;
    });
    this.#policy.onFailure(({ handled }) => {
      if (handled) this.#failures++;
    });
  }

  get breakerState(): BreakerState {
    return stateName(this.#policy.state);
  }

  onStateChange(listener: (state: BreakerState) => void): () => void {
    const subscription = this.#policy.onStateChange((state) => listener(stateName(state)));
    return () => subscription.dispose();
  }

  breakerFigures(): BreakerFigures {
    return {
      state: this.breakerState,
      opens: this.#opens,
      rejected: this.#rejected,
      failures: this.#failures,
    };
  }

  /** As `put`; while the circuit is closed, without a promise (see `#closed`). */
  override putTo<C>(
    snapshot: SnapshotInput,
    options: PutOptions | undefined,
    receiver: PutReceiver<C>,
    context: C,
  ): void {
    if (this.#policy.state !== CircuitState.Closed) {
      putByPromise(this, snapshot, options, receiver, context);
      return;
    }
    const put: GuardedPut = { receiver: receiver as PutReceiver<unknown>, context };
    putVia(this.inner, snapshot, options, this.#closedPut, put);
  }

  protected override around<A, B, T>(
    _request: StoreRequest,
    call: StoreCall<A, B, T>,
    a: A,
    b: B,
  ): Promise<T> {
    if (this.#policy.state === CircuitState.Closed) return this.#closed(call, a, b);
    return this.#guarded(() => call(this.inner, a, b));
  }

  /**
   * A call while the circuit is closed, without `policy.execute`: cockatiel's executor made a
   * fifth of the server's heap allocation per publish (heap sampling of the 1 -> 1 benchmark).
   * A success is told to the breaker as cockatiel tells it; a store failure is handed to the
   * policy, which counts it and opens the circuit when the breaker says so.
   */
  #closed<A, B, T>(call: StoreCall<A, B, T>, a: A, b: B): Promise<T> {
    return this.callInner(call, a, b).then(
      (value) => {
        this.#breaker.success(CircuitState.Closed);
        return value;
      },
      (err: unknown) => this.#closedFailure(err),
    );
  }

  async #closedFailure<T>(err: unknown): Promise<T> {
    if (!isStoreFailure(err)) throw err;
    await this.#countFailure(err);
    throw err;
  }

  /** Hands a store failure of a call made while closed to the policy, which counts it. */
  #countFailure(err: unknown): Promise<void> {
    // The policy rethrows `err` once counted, or refuses the replay when the circuit opened
    // meanwhile (another call's failure); either way the call failed for its own reason.
    return this.#policy
      .execute(() => Promise.reject(err))
      .then(
        () => undefined,
        () => undefined,
      );
  }

  async #guarded<T>(call: () => Promise<T>): Promise<T> {
    // cockatiel queues calls behind a running half-open probe; refuse them instead, so that a
    // slow probe against a sick store cannot collect a crowd of waiting requests.
    if (this.#policy.state === CircuitState.HalfOpen) throw this.#refusal();
    try {
      return await this.#policy.execute(call);
    } catch (err) {
      if (isBrokenCircuitError(err)) throw this.#refusal();
      throw err;
    }
  }

  #refusal(): SbmpError {
    this.#rejected++;
    const state = this.breakerState;
    const retryAfterMs = Math.max(100, this.#openedAt + this.#halfOpenAfterMs - Date.now());
    const last = this.#policy.lastFailure;
    const cause = last !== undefined && 'error' in last ? last.error : undefined;
    const because = cause instanceof Error ? `: ${cause.message}` : '';
    return new SbmpError(
      'unavailable',
      `the ${this.inner.kind} store is failing and its circuit breaker is ${state}; retry in ${retryAfterMs} ms${because}`,
      { cause, details: { breaker: state, retryAfterMs } },
    );
  }
}

function makeBreaker(options: StoreBreakerOptions): IBreaker {
  if (options.consecutiveFailures !== undefined) {
    for (const rateOption of ['threshold', 'durationMs', 'minimumRps'] as const) {
      if (options[rateOption] !== undefined) {
        throw badOption(rateOption, 'cannot be combined with options.consecutiveFailures');
      }
    }
    return new ConsecutiveBreaker(checkInteger(options.consecutiveFailures, 'consecutiveFailures', 1));
  }
  const threshold = checkFraction(options.threshold ?? DEFAULT_STORE_BREAKER.threshold, 'threshold');
  if (threshold >= 1) throw badOption('threshold', `must be below 1, got ${threshold}`);
  return new SamplingBreaker({
    threshold,
    duration: checkInteger(options.durationMs ?? DEFAULT_STORE_BREAKER.durationMs, 'durationMs', 1),
    minimumRps: checkPositive(options.minimumRps ?? DEFAULT_STORE_BREAKER.minimumRps, 'minimumRps'),
  });
}

function stateName(state: CircuitState): BreakerState {
  switch (state) {
    case CircuitState.Closed:
      return 'closed';
    case CircuitState.Open:
      return 'open';
    case CircuitState.HalfOpen:
      return 'half-open';
    case CircuitState.Isolated:
      return 'isolated';
  }
}
