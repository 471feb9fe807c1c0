import { SbmpError } from '../core/errors.js';

interface Bucket {
  tokens: number;
  /** ms timestamp of the last refill. */
  refilledAt: number;
}

/** Buckets kept before idle (full) ones are pruned; bounds memory under many distinct identities. */
const PRUNE_ABOVE_BUCKETS = 10_000;

/**
 * A token bucket per identity: `ratePerSecond` tokens a second, holding at most one second's
 * worth (the burst). `take` throws `limit_exceeded` (HTTP 429) with `retryAfterMs` when the
 * identity's bucket is empty. A full bucket is the same as no bucket, so idle identities are
 * forgotten and the map stays small.
 */
export class RateLimiter {
  readonly #rate: number;
  readonly #buckets = new Map<string, Bucket>();
  readonly #clock: () => number;

  constructor(ratePerSecond: number, clock: () => number = () => performance.now()) {
    this.#rate = ratePerSecond;
    this.#clock = clock;
  }

  /** Takes one token for `identity`, or throws `limit_exceeded`. */
  take(identity: string): void {
    const now = this.#clock();
    let bucket = this.#buckets.get(identity);
    if (bucket === undefined) {
      if (this.#buckets.size >= PRUNE_ABOVE_BUCKETS) this.#prune(now);
      bucket = { tokens: this.#rate, refilledAt: now };
      this.#buckets.set(identity, bucket);
    } else {
      bucket.tokens = Math.min(this.#rate, bucket.tokens + ((now - bucket.refilledAt) * this.#rate) / 1000);
      bucket.refilledAt = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return;
    }
    const retryAfterMs = Math.ceil(((1 - bucket.tokens) * 1000) / this.#rate);
    throw new SbmpError(
      'limit_exceeded',
      `publish rate limit of ${this.#rate}/s exceeded; retry after ${retryAfterMs} ms`,
      { details: { limit: this.#rate, retryAfterMs } },
    );
  }

  get size(): number {
    return this.#buckets.size;
  }

  #prune(now: number): void {
    for (const [identity, bucket] of this.#buckets) {
      if (bucket.tokens + ((now - bucket.refilledAt) * this.#rate) / 1000 >= this.#rate) {
        this.#buckets.delete(identity);
      }
    }
  }
}
