import { performance } from 'node:perf_hooks';

/**
 * A clock for item ages that reads the real clock at most once per event-loop turn.
 *
 * Reading `performance.now()` costs tens of nanoseconds, far more than a pooled `get`/`put`,
 * so puts stamp items with this cached value instead. Within one turn every put gets the
 * same stamp; ages are therefore exact to the length of a turn, which is what an age metric
 * needs. The cache expires on the next turn through `setImmediate`, so an idle process does
 * no work for it.
 */
let cached = -1;

function expire(): void {
  cached = -1;
}

export function coarseNow(): number {
  if (cached < 0) {
    cached = performance.now();
    setImmediate(expire);
  }
  return cached;
}

/** A source of milliseconds on a monotonic clock; pools accept one so tests can drive time. */
export type PoolClock = () => number;
