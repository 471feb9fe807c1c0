import type { ApplyResult } from './apply.js';
import { SbmpError } from './errors.js';
import { sameState } from './snapshot.js';

/**
 * A version vector for a key written by several writers: writer id -> how many updates of
 * that writer the state includes. A missing writer counts as 0. Vectors are immutable: every
 * function here returns a new frozen vector.
 */
export type VersionVector = Readonly<Record<string, number>>;

/** How `a` relates to `b`: `before` = b has seen everything a has and more. */
export type VectorOrder = 'before' | 'after' | 'equal' | 'concurrent';

/** A state written under a version vector, with what last-writer-wins needs to pick one. */
export interface VectorState<T = unknown> {
  readonly vector: VersionVector;
  readonly state: T;
  /** Producer's wall clock, ms since the epoch. */
  readonly ts: number;
  /** The producer's id; breaks ties between equal `ts`. */
  readonly source: string;
}

/**
 * What to do with two concurrent updates (neither vector includes the other):
 * - `'reject'`: the incoming update is a `conflict`; the current one stays.
 * - `'last-writer-wins'`: the larger `(ts, source)` wins; the same pair always picks the same
 *   winner on every replica, whichever arrived first.
 * - `{ merge }`: the state is `merge(current, incoming)`; deterministic when `merge` is commutative.
 * Either way the resolved value carries the merged vector, so it supersedes both updates.
 */
export type ConcurrentPolicy<S extends VectorState = VectorState> =
  | 'reject'
  | 'last-writer-wins'
  | { readonly merge: (current: S, incoming: S) => S['state'] };

export type VectorResolution<S extends VectorState> =
  /** The policy refused the incoming update; `value` is the current one, unchanged. */
  | { readonly result: 'conflict'; readonly value: S }
  /** `value` replaces the current one; `winner` tells where its state came from. */
  | { readonly result: 'applied'; readonly value: S; readonly winner: 'current' | 'incoming' | 'merged' };

export interface VectorApplyDecision<S extends VectorState> {
  readonly result: ApplyResult;
  /** What the holder keeps afterwards (the current value unless `result` is `applied`). */
  readonly value: S | undefined;
}

const EMPTY: VersionVector = Object.freeze({});

function counter(vector: VersionVector, writer: string): number {
  return Object.hasOwn(vector, writer) ? vector[writer]! : 0;
}

/**
 * Returns `vector` when it is an object of writer id (non-empty string) -> integer counter
 * in 0..2^53-1; otherwise throws `bad_version`. Use it on vectors that arrive from outside.
 */
export function validateVector(vector: unknown): VersionVector {
  if (vector === null || typeof vector !== 'object' || Array.isArray(vector)) {
    throw new SbmpError('bad_version', 'a version vector must be an object of writer id -> counter');
  }
  for (const [writer, count] of Object.entries(vector)) {
    if (writer.length === 0 || !Number.isSafeInteger(count) || (count as number) < 0) {
      throw new SbmpError(
        'bad_version',
        `version vector entry ${JSON.stringify(writer)} must map a non-empty writer id to an integer from 0 to ${Number.MAX_SAFE_INTEGER}, got ${String(count)}`,
        { details: { writer } },
      );
    }
  }
  return vector as VersionVector;
}

/** Compares two vectors entry by entry (a missing writer is 0). */
export function compareVectors(a: VersionVector, b: VersionVector): VectorOrder {
  let aAhead = false;
  let bAhead = false;
  for (const writer of Object.keys(a)) {
    const x = a[writer]!;
    const y = counter(b, writer);
    if (x > y) aAhead = true;
    else if (x < y) bAhead = true;
  }
  for (const writer of Object.keys(b)) {
    if (Object.hasOwn(a, writer)) continue;
    if (b[writer]! > 0) bAhead = true;
  }
  if (aAhead) return bAhead ? 'concurrent' : 'after';
  return bAhead ? 'before' : 'equal';
}

/** The pointwise maximum: the smallest vector that is `after` or `equal` to both. */
export function mergeVectors(a: VersionVector, b: VersionVector): VersionVector {
  const entries: [string, number][] = [];
  for (const writer of Object.keys(a)) entries.push([writer, Math.max(a[writer]!, counter(b, writer))]);
  for (const writer of Object.keys(b)) if (!Object.hasOwn(a, writer)) entries.push([writer, b[writer]!]);
  // fromEntries defines own properties, so a writer named `__proto__` stays an ordinary entry.
  return Object.freeze(Object.fromEntries(entries));
}

/** `vector` with `writer`'s counter one higher: the vector of `writer`'s next update. */
export function incrementVector(vector: VersionVector, writer: string): VersionVector {
  if (typeof writer !== 'string' || writer.length === 0) {
    throw new SbmpError('bad_request', 'a version vector writer id must be a non-empty string');
  }
  const next = counter(vector, writer) + 1;
  if (!Number.isSafeInteger(next)) {
    throw new SbmpError('bad_version', `writer ${JSON.stringify(writer)} reached the largest counter`, {
      details: { writer },
    });
  }
  const entries = Object.entries(vector).filter(([w]) => w !== writer);
  entries.push([writer, next]);
  return Object.freeze(Object.fromEntries(entries));
}

/** The empty vector: no writer has written yet. */
export function emptyVector(): VersionVector {
  return EMPTY;
}

/** A total order on vectors (sorted entries, then counters), used only to break exact ties. */
function compareCanonical(a: VersionVector, b: VersionVector): number {
  const writers = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const writer of writers) {
    const d = counter(a, writer) - counter(b, writer);
    if (d !== 0) return d;
  }
  return 0;
}

/** >0 when `a` wins last-writer-wins over `b`: larger ts, then larger source (code-unit order). */
function lastWriterOrder(a: VectorState, b: VectorState): number {
  if (a.ts !== b.ts) return a.ts > b.ts ? 1 : -1;
  if (a.source !== b.source) return a.source > b.source ? 1 : -1;
  return compareCanonical(a.vector, b.vector);
}

/**
 * Resolves two concurrent updates of one key under `policy`. The caller has established that
 * the vectors are `concurrent` (see `decideVectorApply`, which does).
 */
export function resolveConcurrent<S extends VectorState>(
  current: S,
  incoming: S,
  policy: ConcurrentPolicy<S>,
): VectorResolution<S> {
  if (policy === 'reject') return { result: 'conflict', value: current };
  const vector = mergeVectors(current.vector, incoming.vector);
  const incomingWins = lastWriterOrder(incoming, current) > 0;
  const winner = incomingWins ? incoming : current;
  if (policy === 'last-writer-wins') {
    return { result: 'applied', value: { ...winner, vector }, winner: incomingWins ? 'incoming' : 'current' };
  }
  if (typeof policy !== 'object' || policy === null || typeof policy.merge !== 'function') {
    throw new SbmpError(
      'bad_config',
      "a concurrent-update policy must be 'reject', 'last-writer-wins' or { merge(current, incoming) }",
    );
  }
  const state = policy.merge(current, incoming);
  // The merged value takes the later timestamp and the last-writer-wins source, so merging
  // the same pair on two replicas gives the same value whatever the arrival order.
  const ts = Math.max(current.ts, incoming.ts);
  return { result: 'applied', value: { ...winner, state, ts, vector }, winner: 'merged' };
}

/**
 * The apply rules for multi-writer keys: an incoming vector `after` the current one replaces
 * it; `equal` is a `duplicate` when the state is the same (else `conflict`); `before` is
 * `stale`; `concurrent` goes to `policy`.
 */
export function decideVectorApply<S extends VectorState>(
  current: S | undefined,
  incoming: S,
  policy: ConcurrentPolicy<S>,
): VectorApplyDecision<S> {
  if (current === undefined) return { result: 'applied', value: incoming };
  switch (compareVectors(incoming.vector, current.vector)) {
    case 'after':
      return { result: 'applied', value: incoming };
    case 'before':
      return { result: 'stale', value: current };
    case 'equal':
      return { result: sameState(current.state, incoming.state) ? 'duplicate' : 'conflict', value: current };
    case 'concurrent': {
      const resolution = resolveConcurrent(current, incoming, policy);
      return { result: resolution.result, value: resolution.value };
    }
  }
}
