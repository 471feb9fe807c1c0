import { DEV_MODE } from '../core/env.js';
import { SbmpError } from '../core/errors.js';
import { Arena, type ArenaOptions, type BufferLender } from './arena.js';
import { coarseNow, type PoolClock } from './clock.js';
import { type FreeList, GenerationalFreeList } from './free-list.js';
import { subscribeToGcAging } from './generations.js';
import { defaultRegistry, type PoolRegistry } from './registry.js';
import type { PoolStats } from './stats.js';
import { poolMisuse, requireFunctionOption, requireIntegerOption } from './validate.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Default size classes: 64 B, 256 B, 1 KiB, 4 KiB, 16 KiB, 64 KiB, 256 KiB, 1 MiB. */
export const DEFAULT_BUFFER_CLASSES: readonly number[] = Object.freeze([
  64,
  256,
  KiB,
  4 * KiB,
  16 * KiB,
  64 * KiB,
  256 * KiB,
  MiB,
]);
/** Largest accepted size class. */
export const MAX_BUFFER_CLASS = 1 << 30;
/** Default for `BufferPoolOptions.maxBytesPerClass`. */
export const DEFAULT_MAX_BYTES_PER_CLASS = 4 * MiB;
/** Default for `BufferPoolOptions.maxAcquireBytes`. */
export const DEFAULT_MAX_ACQUIRE_BYTES = 256 * MiB;

/** Byte written over every leased buffer in debug mode, so reading bytes never written shows. */
export const DEBUG_FILL_BYTE = 0xa5;

/** Class index of a request larger than every class. */
const OVERSIZE = -1;

export interface BufferPoolOptions {
  /** A name registered in `registry` before construction (`pool_unregistered` otherwise). */
  name: string;
  /** Where the name is registered; default `defaultRegistry`. */
  registry?: PoolRegistry;
  /** Ascending distinct sizes in bytes, 1..2^30; default `DEFAULT_BUFFER_CLASSES`. */
  classes?: readonly number[];
  /**
   * Bytes kept per size class, both generations together; a class keeps
   * floor(maxBytesPerClass / size) buffers (so 4 of 1 MiB by default). Default 4 MiB.
   */
  maxBytesPerClass?: number;
  /** Largest `acquire`; larger throws `too_large`. Default 256 MiB. */
  maxAcquireBytes?: number;
  /** Misuse detection (double release, use after release); default `DEV_MODE`. */
  debug?: boolean;
  /** Age the generations on every major GC; default true. Off only for tests of the logic. */
  gcAging?: boolean;
  /** Clock for item ages in ms; default a monotonic clock read once per event-loop turn. */
  now?: PoolClock;
}

/** One size class as `classStats()` reports it. */
export interface BufferClassStats {
  readonly size: number;
  /** Buffers pooled now. */
  readonly liveItems: number;
  /** Most buffers the class keeps. */
  readonly capacity: number;
}

/**
 * Byte buffers in slab-style size classes for the encoding path.
 *
 * Each pooled buffer owns a whole ArrayBuffer of exactly its class size (never a slice of
 * Node's shared 8 KiB pool). `acquire(n)` returns a view of length n at offset 0 of it; the
 * pool keeps a WeakMap from each backing store it made to its whole-class Buffer, so `release`
 * finds what to pool with one lookup and needs no table of leases. A buffer from anywhere else
 * is refused with `pool_misuse` ('not_from_pool') rather than recycled.
 *
 * Ownership: the caller owns the buffer from `acquire` until `release`, and must release
 * exactly the Buffer it got (not a subarray, not twice) and keep no view of it afterwards;
 * a consumer that needs the bytes longer copies them. Contents of an acquired buffer are
 * unspecified, as with `Buffer.allocUnsafe`.
 *
 * Debug mode checks each release against the view that was handed out ('double_release',
 * 'not_the_acquired_view'), detaches the released backing store by transferring it, so every
 * stale view becomes length 0 (reads give undefined, bounds-checked accessors throw) instead
 * of seeing the next owner's bytes, and fills each leased buffer with DEBUG_FILL_BYTE. In
 * production a double release is not detected.
 *
 * Requests larger than the largest class are allocated directly, counted as `oversize`, and
 * never pooled. After `close()`, `acquire` throws `pool_misuse` ('closed'); `release` still
 * accepts buffers and discards them.
 */
export class BufferPool implements BufferLender {
  readonly name: string;
  readonly #classes: readonly number[];
  readonly #lists: FreeList<Buffer>[];
  readonly #capacities: number[];
  readonly #maxAcquire: number;
  readonly #debug: boolean;
  readonly #now: PoolClock;
  /** Backing stores of this pool's class buffers -> the whole-class Buffer over each. */
  readonly #owned = new WeakMap<ArrayBuffer, Buffer>();
  /** Backing stores of oversize buffers, which are leased but never pooled. */
  readonly #oversized = new WeakSet<ArrayBuffer>();
  /** Debug: backing store -> the view currently leased on it. */
  readonly #leases = new WeakMap<ArrayBuffer, Uint8Array>();
  readonly #unbind: () => void;
  readonly #unsubscribe: (() => void) | undefined;
  #closed = false;
  #hits = 0;
  #victimHits = 0;
  #misses = 0;
  #oversize = 0;
  #puts = 0;
  #overflow = 0;
  #dropped = 0;

  constructor(options: BufferPoolOptions) {
    this.#classes = validateClasses(options?.classes ?? DEFAULT_BUFFER_CLASSES);
    const perClass = requireIntegerOption(
      'maxBytesPerClass',
      options.maxBytesPerClass ?? DEFAULT_MAX_BYTES_PER_CLASS,
      0,
      Number.MAX_SAFE_INTEGER,
    );
    this.#maxAcquire = requireIntegerOption(
      'maxAcquireBytes',
      options.maxAcquireBytes ?? DEFAULT_MAX_ACQUIRE_BYTES,
      0,
      Number.MAX_SAFE_INTEGER,
    );
    this.#capacities = this.#classes.map((size) => Math.floor(perClass / size));
    this.#lists = this.#classes.map(() => new GenerationalFreeList<Buffer>());
    this.#debug = options.debug ?? DEV_MODE;
    this.#now = options.now === undefined ? coarseNow : requireFunctionOption('now', options.now);
    this.name = options.name;
    this.#unbind = (options.registry ?? defaultRegistry).bind(options.name, this);
    this.#unsubscribe = options.gcAging === false ? undefined : subscribeToGcAging(this);
  }

  /** The size classes in use, ascending. */
  get classes(): readonly number[] {
    return this.#classes;
  }

  /**
   * A Buffer of exactly `size` bytes (0..maxAcquireBytes), backed by a pooled buffer of the
   * smallest class that fits, or allocated directly when larger than every class.
   */
  acquire(size: number): Buffer {
    if (this.#closed) throw poolMisuse(this.name, 'closed', 'acquire() after close()');
    const classIndex = this.#classIndexFor(size);
    if (classIndex === OVERSIZE) {
      this.#oversize++;
      const direct = Buffer.allocUnsafeSlow(size);
      this.#oversized.add(direct.buffer as ArrayBuffer);
      if (this.#debug) this.#startLease(direct, direct);
      return direct;
    }
    const list = this.#lists[classIndex]!;
    let whole = list.popPrimary();
    if (whole !== undefined) {
      this.#hits++;
    } else {
      whole = list.popVictim();
      if (whole !== undefined) {
        this.#victimHits++;
      } else {
        this.#misses++;
        whole = this.#own(Buffer.allocUnsafeSlow(this.#classes[classIndex]!).buffer as ArrayBuffer);
      }
    }
    // A subarray of a kept whole-class Buffer is the cheapest way to make a Buffer view.
    const view = whole.subarray(0, size);
    if (this.#debug) this.#startLease(whole, view);
    return view;
  }

  /** Gives back a buffer from `acquire`; see the class comment for what must hold. */
  release(buffer: Uint8Array): void {
    const backing = buffer.buffer as ArrayBuffer;
    let whole = this.#owned.get(backing);
    if (whole === undefined) {
      if (!this.#oversized.has(backing)) {
        throw poolMisuse(this.name, 'not_from_pool', 'release() of a buffer this pool did not lease');
      }
      if (this.#debug) this.#endLease(buffer, backing);
      return;
    }
    if (this.#debug) {
      whole = this.#own(this.#endLease(buffer, backing));
    } else if (buffer.byteOffset !== 0) {
      throw poolMisuse(
        this.name,
        'not_the_acquired_view',
        'release() of a view that does not start at the lease',
      );
    }
    this.#puts++;
    if (this.#closed) return;
    const classIndex = this.#classIndexOfWhole(whole.length);
    const list = this.#lists[classIndex]!;
    if (list.size >= this.#capacities[classIndex]!) {
      this.#overflow++;
      return;
    }
    list.push(whole, this.#now());
  }

  /** A per-connection arena leasing from this pool; `releaseAll()` it when the connection closes. */
  arena(options?: ArenaOptions): Arena {
    return new Arena(this, options);
  }

  /** Bytes a lease of `size` holds: its class size, or `size` itself when oversize. */
  footprint(size: number): number {
    const classIndex = this.#classIndexFor(size);
    return classIndex === OVERSIZE ? size : this.#classes[classIndex]!;
  }

  /** One generation step in every class, as on a major GC (see ObjectPool.age). */
  age(): void {
    for (const list of this.#lists) this.#dropped += list.age();
  }

  stats(): PoolStats {
    const now = this.#now();
    let liveItems = 0;
    let liveBytes = 0;
    let ageSum = 0;
    for (let i = 0; i < this.#lists.length; i++) {
      const list = this.#lists[i]!;
      liveItems += list.size;
      liveBytes += list.size * this.#classes[i]!;
      ageSum += list.meanAge(now) * list.size;
    }
    return {
      name: this.name,
      hits: this.#hits,
      victimHits: this.#victimHits,
      reuses: this.#hits + this.#victimHits,
      misses: this.#misses,
      allocations: this.#misses + this.#oversize,
      puts: this.#puts,
      overflow: this.#overflow,
      dropped: this.#dropped,
      oversize: this.#oversize,
      liveItems,
      liveBytes,
      meanItemAgeMs: liveItems === 0 ? 0 : ageSum / liveItems,
    };
  }

  classStats(): BufferClassStats[] {
    return this.#classes.map((size, i) => ({
      size,
      liveItems: this.#lists[i]!.size,
      capacity: this.#capacities[i]!,
    }));
  }

  /** Drops the pooled buffers, stops GC aging and frees the name in the registry. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const list of this.#lists) this.#dropped += list.clear();
    this.#unsubscribe?.();
    this.#unbind();
  }

  get closed(): boolean {
    return this.#closed;
  }

  #classIndexFor(size: number): number {
    if (!(Number.isInteger(size) && size >= 0)) {
      throw poolMisuse(this.name, 'bad_size', `acquire() size must be a non-negative integer, got ${size}`);
    }
    if (size > this.#maxAcquire) {
      throw new SbmpError(
        'too_large',
        `pool ${this.name}: acquire(${size}) exceeds maxAcquireBytes ${this.#maxAcquire}`,
        {
          details: { pool: this.name, limit: this.#maxAcquire, requested: size },
        },
      );
    }
    const classes = this.#classes;
    for (let i = 0; i < classes.length; i++) if (size <= classes[i]!) return i;
    return OVERSIZE;
  }

  /** Records the backing store of a new class buffer and returns a whole-class view of it. */
  #own(backing: ArrayBuffer): Buffer {
    const whole = Buffer.from(backing);
    this.#owned.set(backing, whole);
    return whole;
  }

  #classIndexOfWhole(length: number): number {
    const classes = this.#classes;
    let i = 0;
    while (classes[i] !== length) i++;
    return i;
  }

  #startLease(whole: Buffer, view: Buffer): void {
    this.#leases.set(whole.buffer as ArrayBuffer, view);
    view.fill(DEBUG_FILL_BYTE);
  }

  /**
   * Debug-mode release: the buffer must be the view leased on its backing store. Detaches the
   * backing store so stale views go dead, and returns a fresh store holding the same memory.
   */
  #endLease(buffer: Uint8Array, backing: ArrayBuffer): ArrayBuffer {
    const leased = this.#leases.get(backing);
    if (leased === undefined)
      throw poolMisuse(this.name, 'double_release', 'release() of a buffer already released');
    if (leased !== buffer) {
      throw poolMisuse(
        this.name,
        'not_the_acquired_view',
        'release() of a view other than the one acquire() returned',
      );
    }
    this.#leases.delete(backing);
    return structuredClone(backing, { transfer: [backing] });
  }
}

function validateClasses(classes: readonly number[]): readonly number[] {
  if (!Array.isArray(classes) || classes.length === 0) {
    throw new SbmpError('bad_config', 'options.classes must be a non-empty array of sizes', {
      details: { option: 'classes' },
    });
  }
  let previous = 0;
  for (const size of classes) {
    requireIntegerOption('classes[]', size, 1, MAX_BUFFER_CLASS);
    if (size <= previous) {
      throw new SbmpError('bad_config', 'options.classes must be ascending and distinct', {
        details: { option: 'classes', value: size },
      });
    }
    previous = size;
  }
  return Object.freeze([...classes]);
}
