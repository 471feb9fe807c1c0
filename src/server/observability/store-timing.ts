import type { Registry } from 'prom-client';
import { putVia } from '../../store/put-via.js';
import type { PutOptions, PutOutcome, PutReceiver, SnapshotInput, Store } from '../../store/types.js';
import type { StoreCall, StoreRequest } from '../../store/wrapper.js';
import { StoreWrapper } from '../../store/wrapper.js';
import type { HistogramCell } from './local-metrics.js';
import { LocalHistogram } from './local-metrics.js';

/** The store calls that are timed: the request-shaped ones. */
export type StoreOperation = StoreRequest;
/** `error`: the call threw (bad input refused by the store counts too); `ok` otherwise, whatever the apply result. */
export type StoreCallOutcome = 'ok' | 'error';

export type StoreOperationHistogram = LocalHistogram<'operation' | 'outcome'>;

/** `sbmp_store_operation_seconds{operation, outcome}`: from 50 µs (a memory store) to 2.5 s (a struggling cluster). */
export function storeOperationHistogram(registry: Registry): StoreOperationHistogram {
  return new LocalHistogram({
    name: 'sbmp_store_operation_seconds',
    help: 'Time of each store call (put, get, list, compact) from the call to its result or failure',
    labelNames: ['operation', 'outcome'],
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5],
    registers: [registry],
  });
}

/**
 * `store` with its `put`, `get`, `list` and `compact` calls timed into `histogram`; `watch`,
 * `currentRevision` and `close` pass straight through (a watch is long-lived, the other two
 * are not I/O). Wrap the real store, inside any circuit breaker, so that the figures are the
 * store's own latency and not that of refusals that never reached it.
 */
export function timeStore(store: Store, histogram: StoreOperationHistogram): Store {
  return new TimedStore(store, histogram);
}

/** One timed `putTo`: what its result is reported to, and when it started. */
interface TimedPut {
  readonly cells: Record<StoreCallOutcome, HistogramCell>;
  readonly started: number;
  readonly receiver: PutReceiver<unknown>;
  readonly context: unknown;
}

const TIME_PUT: PutReceiver<TimedPut> = {
  putDone(outcome: PutOutcome, put: TimedPut): void {
    put.cells.ok.observe((performance.now() - put.started) / 1000);
    put.receiver.putDone(outcome, put.context);
  },
  putFailed(err: unknown, put: TimedPut): void {
    put.cells.error.observe((performance.now() - put.started) / 1000);
    put.receiver.putFailed(err, put.context);
  },
};

class TimedStore extends StoreWrapper {
  readonly #histogram: StoreOperationHistogram;
  /** Cells by operation, then outcome, resolved on first use. */
  readonly #cells = new Map<StoreOperation, Record<StoreCallOutcome, HistogramCell>>();

  constructor(store: Store, histogram: StoreOperationHistogram) {
    super(store);
    this.#histogram = histogram;
  }

  #cellsOf(operation: StoreOperation): Record<StoreCallOutcome, HistogramCell> {
    let cells = this.#cells.get(operation);
    if (cells === undefined) {
      cells = {
        ok: this.#histogram.cell({ operation, outcome: 'ok' }),
        error: this.#histogram.cell({ operation, outcome: 'error' }),
      };
      this.#cells.set(operation, cells);
    }
    return cells;
  }

  /** Timed like `put`, with one small record per call instead of a promise and two closures. */
  override putTo<C>(
    snapshot: SnapshotInput,
    options: PutOptions | undefined,
    receiver: PutReceiver<C>,
    context: C,
  ): void {
    const put: TimedPut = {
      cells: this.#cellsOf('put'),
      started: performance.now(),
      receiver: receiver as PutReceiver<unknown>,
      context,
    };
    putVia(this.inner, snapshot, options, TIME_PUT, put);
  }

  protected override around<A, B, T>(
    operation: StoreOperation,
    call: StoreCall<A, B, T>,
    a: A,
    b: B,
  ): Promise<T> {
    const cells = this.#cellsOf(operation);
    const started = performance.now();
    // One reaction on the store's promise rather than an async frame around it: this runs on
    // every publish.
    return this.callInner(call, a, b).then(
      (result) => {
        cells.ok.observe((performance.now() - started) / 1000);
        return result;
      },
      (err: unknown) => {
        cells.error.observe((performance.now() - started) / 1000);
        throw err;
      },
    );
  }
}
