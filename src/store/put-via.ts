import type { PutOptions, PutOutcome, PutReceiver, SnapshotInput, Store } from './types.js';

/**
 * `store.putTo(...)` where the store has it; otherwise `store.put(...)`, its promise settled
 * into `receiver`. Never throws: a synchronous throw of `put` reaches `putFailed` too.
 */
export function putVia<C>(
  store: Store,
  snapshot: SnapshotInput,
  options: PutOptions | undefined,
  receiver: PutReceiver<C>,
  context: C,
): void {
  if (store.putTo !== undefined) store.putTo(snapshot, options, receiver, context);
  else putByPromise(store, snapshot, options, receiver, context);
}

/** `store.put(...)`, its promise (or a synchronous throw) settled into `receiver`. */
export function putByPromise<C>(
  store: Store,
  snapshot: SnapshotInput,
  options: PutOptions | undefined,
  receiver: PutReceiver<C>,
  context: C,
): void {
  let pending: Promise<PutOutcome>;
  try {
    pending = store.put(snapshot, options);
  } catch (err) {
    receiver.putFailed(err, context);
    return;
  }
  settleInto(pending, receiver, context);
}

/** Hands the outcome or failure of `pending` to `receiver`. */
export function settleInto<C>(pending: Promise<PutOutcome>, receiver: PutReceiver<C>, context: C): void {
  pending.then(
    (outcome) => receiver.putDone(outcome, context),
    (err: unknown) => receiver.putFailed(err, context),
  );
}

interface PromiseSettlers {
  readonly resolve: (outcome: PutOutcome) => void;
  readonly reject: (err: unknown) => void;
}

const SETTLE_PROMISE: PutReceiver<PromiseSettlers> = {
  putDone: (outcome, settlers) => settlers.resolve(outcome),
  putFailed: (err, settlers) => settlers.reject(err),
};

/** The promise of a callback-style put: what `put` returns for a store that implements `putTo`. */
export function promisePut(
  start: (receiver: PutReceiver<PromiseSettlers>, settlers: PromiseSettlers) => void,
): Promise<PutOutcome> {
  return new Promise((resolve, reject) => start(SETTLE_PROMISE, { resolve, reject }));
}
