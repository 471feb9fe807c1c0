import {
  Channel,
  canRecvNow,
  canSendNow,
  forgetReceiver,
  forgetSender,
  type RecvCase,
  type SendCase,
  waitToRecv,
  waitToSend,
} from './channel.js';
import type { Waiter } from './channel-waiters.js';
import { SbmpError } from './errors.js';

/** A case of `select`: `channel.recvCase()` or `channel.sendCase(value)`. */
export type SelectCase = RecvCase<unknown> | SendCase<unknown>;

/** Largest `timeoutMs`: 2^31-1 ms (about 24.8 days), the most a timer can wait. */
export const MAX_SELECT_TIMEOUT_MS = 2 ** 31 - 1;

export interface SelectOptions {
  /**
   * Give up after this many milliseconds (0 to 2^31-1) and resolve
   * `{ index: -1, kind: 'timeout' }`, like Go's `case <-time.After(d)`. Cases ready when
   * `select` is called win even with 0. Default: wait without limit.
   */
  timeoutMs?: number;
  /** Aborting rejects the select with `aborted` (the reason as `cause`) and withdraws its cases. */
  signal?: AbortSignal;
  /**
   * When no case is ready, resolve `{ index: -1, kind: 'default' }` at once instead of
   * waiting, like Go's `default:` case. Default false; cannot be combined with `timeoutMs`.
   */
  nonBlocking?: boolean;
}

/** A receive case fired: the value, or `ok: false` because the channel is closed and drained. */
export type RecvOutcome<T, I extends number = number> =
  | { readonly index: I; readonly kind: 'recv'; readonly value: T; readonly ok: true }
  | { readonly index: I; readonly kind: 'recv'; readonly value: undefined; readonly ok: false };

/** A send case fired: its value was taken by a receiver or buffered. */
export interface SendOutcome<I extends number = number> {
  readonly index: I;
  readonly kind: 'send';
}

/** `timeoutMs` passed with no case firing. */
export interface TimeoutOutcome {
  readonly index: -1;
  readonly kind: 'timeout';
}

/** `nonBlocking` and no case was ready. */
export interface DefaultOutcome {
  readonly index: -1;
  readonly kind: 'default';
}

type IndexOf<K> = K extends `${infer N extends number}` ? N : number;
type OutcomeOf<C, I extends number> =
  C extends RecvCase<infer T> ? RecvOutcome<T, I> : C extends SendCase<unknown> ? SendOutcome<I> : never;

/** The outcome of one of `Cases`; with a tuple of cases, `index` narrows `value`'s type. */
export type CaseOutcome<Cases extends readonly SelectCase[]> = {
  [K in keyof Cases]: OutcomeOf<Cases[K], IndexOf<K>>;
}[number];

const TIMEOUT_OUTCOME: TimeoutOutcome = Object.freeze({ index: -1, kind: 'timeout' });
const DEFAULT_OUTCOME: DefaultOutcome = Object.freeze({ index: -1, kind: 'default' });

/**
 * Waits until exactly one of `cases` can proceed and performs it, in the manner of Go's
 * `select`:
 *
 * - If cases are ready at once, one of them is chosen uniformly at random (so no channel
 *   starves) and performed.
 * - Otherwise every case waits on its channel; the first to be matched is performed and the
 *   others are withdrawn. Exactly one operation is committed: a losing receive case never
 *   takes a value, and a losing send case's value is never delivered.
 * - A receive case on a closed, drained channel is ready with `ok: false`.
 * - A send case on a closed channel rejects the select with `closed` (where Go panics), also
 *   when the channel closes while the select waits; `details.index` names the case.
 * - `timeoutMs` resolves `{ index: -1, kind: 'timeout' }`; `nonBlocking` resolves
 *   `{ index: -1, kind: 'default' }`; an aborted `signal` rejects with `aborted`. In each
 *   case no operation was committed and no waiter is left on any channel.
 *
 * Bad arguments reject with `bad_request`, as does a select with no cases that could never
 * finish (no `timeoutMs`, `signal` or `nonBlocking`).
 */
export function select<const Cases extends readonly SelectCase[]>(
  cases: Cases,
  options?: { signal?: AbortSignal; nonBlocking?: false },
): Promise<CaseOutcome<Cases>>;
export function select<const Cases extends readonly SelectCase[]>(
  cases: Cases,
  options: { timeoutMs: number; signal?: AbortSignal; nonBlocking?: false },
): Promise<CaseOutcome<Cases> | TimeoutOutcome>;
export function select<const Cases extends readonly SelectCase[]>(
  cases: Cases,
  options: { nonBlocking: true; signal?: AbortSignal },
): Promise<CaseOutcome<Cases> | DefaultOutcome>;
export function select<const Cases extends readonly SelectCase[]>(
  cases: Cases,
  options?: SelectOptions,
): Promise<CaseOutcome<Cases> | TimeoutOutcome | DefaultOutcome>;
export function select(
  cases: readonly SelectCase[],
  options: SelectOptions = {},
): Promise<CaseOutcome<readonly SelectCase[]> | TimeoutOutcome | DefaultOutcome> {
  const { timeoutMs, signal, nonBlocking = false } = options;
  const badOptions = checkOptions(cases, timeoutMs, signal, nonBlocking);
  if (badOptions !== undefined) return Promise.reject(badOptions);
  if (signal?.aborted) return Promise.reject(abortedError(signal));

  let ready = 0;
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i];
    if (!isSelectCase(c)) {
      return Promise.reject(
        new SbmpError('bad_request', `select case ${i} must come from recvCase() or sendCase()`, {
          details: { index: i },
        }),
      );
    }
    if (c.kind === 'recv') {
      if (c.channel[canRecvNow]()) ready++;
    } else {
      if (c.channel.closed) return Promise.reject(sendOnClosedError(i));
      if (c.channel[canSendNow]()) ready++;
    }
  }
  if (ready > 0) return Promise.resolve(performReady(cases, Math.floor(Math.random() * ready)));
  if (nonBlocking) return Promise.resolve(DEFAULT_OUTCOME);
  return new Promise((resolve, reject) => {
    new PendingSelect(cases, resolve, reject, timeoutMs, signal);
  });
}

/** Performs the `chosen`-th ready case (counting from 0 in case order). */
function performReady(cases: readonly SelectCase[], chosen: number): CaseOutcome<readonly SelectCase[]> {
  let seen = 0;
  for (let index = 0; index < cases.length; index++) {
    const c = cases[index] as SelectCase;
    if (c.kind === 'recv') {
      if (!c.channel[canRecvNow]() || seen++ !== chosen) continue;
      const result = c.channel.tryRecv()!;
      return result.ok
        ? { index, kind: 'recv', value: result.value, ok: true }
        : { index, kind: 'recv', value: undefined, ok: false };
    }
    if (!c.channel[canSendNow]() || seen++ !== chosen) continue;
    c.channel.trySend(c.value);
    return { index, kind: 'send' };
  }
  // Readiness was counted synchronously just before, with nothing able to run in between.
  throw new SbmpError('internal', 'select lost track of its ready cases');
}

type Outcome = CaseOutcome<readonly SelectCase[]> | TimeoutOutcome;

/** A select whose cases all wait on their channels until one fires, the timer fires, or the signal aborts. */
class PendingSelect {
  /** Once true, every case's waiter is dead: no channel can commit through it any more. */
  done = false;
  readonly #cases: readonly SelectCase[];
  readonly #resolve: (outcome: Outcome) => void;
  readonly #reject: (err: SbmpError) => void;
  readonly #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort: (() => void) | undefined;

  constructor(
    cases: readonly SelectCase[],
    resolve: (outcome: Outcome) => void,
    reject: (err: SbmpError) => void,
    timeoutMs: number | undefined,
    signal: AbortSignal | undefined,
  ) {
    this.#cases = cases;
    this.#resolve = resolve;
    this.#reject = reject;
    for (let index = 0; index < cases.length; index++) {
      const c = cases[index] as SelectCase;
      if (c.kind === 'recv') c.channel[waitToRecv](new CaseWaiter(this, index, undefined));
      else c.channel[waitToSend](new CaseWaiter(this, index, c.value));
    }
    this.#timer = timeoutMs === undefined ? undefined : setTimeout(() => this.#timedOut(), timeoutMs);
    this.#signal = signal;
    if (signal !== undefined) {
      this.#onAbort = () => this.#aborted(signal);
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  /** Case `index` was matched by its channel, which has already dequeued its waiter. */
  caseCompleted(index: number, value: unknown, ok: boolean): void {
    this.#finish(index);
    if (this.#cases[index]?.kind === 'send') this.#resolve({ index, kind: 'send' });
    else if (ok) this.#resolve({ index, kind: 'recv', value, ok: true });
    else this.#resolve({ index, kind: 'recv', value: undefined, ok: false });
  }

  /** Send case `index`'s channel closed under it. */
  caseFailed(index: number): void {
    this.#finish(index);
    this.#reject(sendOnClosedError(index));
  }

  #timedOut(): void {
    if (this.done) return;
    this.#finish(-1);
    this.#resolve(TIMEOUT_OUTCOME);
  }

  #aborted(signal: AbortSignal): void {
    if (this.done) return;
    this.#finish(-1);
    this.#reject(abortedError(signal));
  }

  /** Marks every waiter dead and tells each channel, except the winner's, which already dequeued it. */
  #finish(winner: number): void {
    this.done = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#onAbort !== undefined) this.#signal?.removeEventListener('abort', this.#onAbort);
    for (let index = 0; index < this.#cases.length; index++) {
      if (index === winner) continue;
      const c = this.#cases[index] as SelectCase;
      if (c.kind === 'recv') c.channel[forgetReceiver]();
      else c.channel[forgetSender]();
    }
  }
}

/** One case of a pending select, queued on its channel; pending as long as the select is. */
class CaseWaiter implements Waiter<unknown> {
  readonly #select: PendingSelect;
  readonly #index: number;
  readonly value: unknown;

  constructor(select: PendingSelect, index: number, value: unknown) {
    this.#select = select;
    this.#index = index;
    this.value = value;
  }

  get pending(): boolean {
    return !this.#select.done;
  }

  complete(value: unknown, ok: boolean): void {
    this.#select.caseCompleted(this.#index, value, ok);
  }

  fail(): void {
    this.#select.caseFailed(this.#index);
  }
}

function checkOptions(
  cases: readonly SelectCase[],
  timeoutMs: number | undefined,
  signal: AbortSignal | undefined,
  nonBlocking: boolean,
): SbmpError | undefined {
  if (!Array.isArray(cases)) return badOption('cases', 'must be an array of select cases');
  if (
    timeoutMs !== undefined &&
    (typeof timeoutMs !== 'number' || !(timeoutMs >= 0) || timeoutMs > MAX_SELECT_TIMEOUT_MS)
  ) {
    return badOption('timeoutMs', `must be a number from 0 to ${MAX_SELECT_TIMEOUT_MS}`, timeoutMs);
  }
  if (typeof nonBlocking !== 'boolean') return badOption('nonBlocking', 'must be a boolean', nonBlocking);
  if (nonBlocking && timeoutMs !== undefined) {
    return badOption('timeoutMs', 'cannot be combined with nonBlocking', timeoutMs);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    return badOption('signal', 'must be an AbortSignal', String(signal));
  }
  if (cases.length === 0 && timeoutMs === undefined && signal === undefined && !nonBlocking) {
    return badOption(
      'cases',
      'is empty, and without timeoutMs, signal or nonBlocking the select could never finish',
    );
  }
  return undefined;
}

function badOption(option: string, problem: string, value?: unknown): SbmpError {
  return new SbmpError('bad_request', `select ${option} ${problem}`, {
    details: value === undefined ? { option } : { option, value },
  });
}

function isSelectCase(c: unknown): c is SelectCase {
  if (typeof c !== 'object' || c === null) return false;
  const { kind, channel } = c as { kind?: unknown; channel?: unknown };
  return (kind === 'recv' || kind === 'send') && channel instanceof Channel;
}

function sendOnClosedError(index: number): SbmpError {
  return new SbmpError('closed', `select case ${index} sends on a closed channel`, { details: { index } });
}

function abortedError(signal: AbortSignal): SbmpError {
  return new SbmpError('aborted', 'select aborted', { cause: signal.reason });
}
