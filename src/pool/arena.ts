import { SbmpError } from '../core/errors.js';
import { poolMisuse, requireIntegerOption } from './validate.js';

/** Default for `ArenaOptions.maxBytes`: what one connection may hold at once. */
export const DEFAULT_ARENA_MAX_BYTES = 64 * 1024 * 1024;

/** The pool side an arena needs (a BufferPool). */
export interface BufferLender {
  readonly name: string;
  acquire(size: number): Buffer;
  release(buffer: Uint8Array): void;
  /** Bytes a lease of `size` really holds (its size class, or `size` when oversize). */
  footprint(size: number): number;
}

export interface ArenaOptions {
  /** Most bytes (counted by size class) leased at once; more throws `limit_exceeded`. Default 64 MiB. */
  maxBytes?: number;
}

/**
 * The buffers one connection has leased, returned together when it closes.
 *
 * `acquire` leases from the pool and remembers the buffer; `release` returns one early (for
 * long-lived connections, so the arena does not grow without bound); `releaseAll` returns
 * everything and retires the arena: any later `acquire`/`release` throws `pool_misuse`
 * (reason 'arena_released'). `releaseAll` itself may be called again (close paths often run
 * twice) and then does nothing.
 */
export class Arena {
  readonly #pool: BufferLender;
  readonly #maxBytes: number;
  readonly #leases: Buffer[] = [];
  /** Footprint of each lease, parallel to #leases. */
  readonly #costs: number[] = [];
  #leasedBytes = 0;
  #released = false;

  constructor(pool: BufferLender, options: ArenaOptions = {}) {
    this.#pool = pool;
    this.#maxBytes = requireIntegerOption(
      'maxBytes',
      options.maxBytes ?? DEFAULT_ARENA_MAX_BYTES,
      0,
      Number.MAX_SAFE_INTEGER,
    );
  }

  /** A buffer of exactly `size` bytes, owned by this arena until released. */
  acquire(size: number): Buffer {
    this.#assertOpen('acquire');
    const cost = this.#pool.footprint(size);
    if (this.#leasedBytes + cost > this.#maxBytes) {
      throw new SbmpError(
        'limit_exceeded',
        `arena of pool ${this.#pool.name}: leasing ${cost} more bytes would exceed maxBytes ${this.#maxBytes}`,
        {
          details: {
            pool: this.#pool.name,
            limit: this.#maxBytes,
            leasedBytes: this.#leasedBytes,
            requested: cost,
          },
        },
      );
    }
    const buffer = this.#pool.acquire(size);
    this.#leases.push(buffer);
    this.#costs.push(cost);
    this.#leasedBytes += cost;
    return buffer;
  }

  /** Returns one buffer this arena leased; `pool_misuse` ('not_from_arena') for any other. */
  release(buffer: Buffer): void {
    this.#assertOpen('release');
    // Recent leases are the likeliest to be returned early, so search from the end.
    const index = this.#leases.lastIndexOf(buffer);
    if (index < 0)
      throw poolMisuse(this.#pool.name, 'not_from_arena', 'release() of a buffer this arena did not lease');
    this.#leasedBytes -= this.#costs[index]!;
    const last = this.#leases.pop()!;
    const lastCost = this.#costs.pop()!;
    if (index < this.#leases.length) {
      this.#leases[index] = last;
      this.#costs[index] = lastCost;
    }
    this.#pool.release(buffer);
  }

  /**
   * Returns every leased buffer to the pool and retires the arena. If a release fails (say a
   * buffer was already released through the pool directly), the others are still returned
   * and the first error is thrown afterwards.
   */
  releaseAll(): void {
    if (this.#released) return;
    this.#released = true;
    let failure: unknown;
    for (const buffer of this.#leases) {
      try {
        this.#pool.release(buffer);
      } catch (err) {
        failure ??= err;
      }
    }
    this.#leases.length = 0;
    this.#costs.length = 0;
    this.#leasedBytes = 0;
    if (failure !== undefined) throw failure;
  }

  /** Buffers leased now. */
  get leasedCount(): number {
    return this.#leases.length;
  }

  /** Bytes leased now, counted by size class. */
  get leasedBytes(): number {
    return this.#leasedBytes;
  }

  get released(): boolean {
    return this.#released;
  }

  #assertOpen(operation: string): void {
    if (this.#released)
      throw poolMisuse(this.#pool.name, 'arena_released', `arena ${operation}() after releaseAll()`);
  }
}
