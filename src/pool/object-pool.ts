import { DEV_MODE } from '../core/env.js';
import { SbmpError } from '../core/errors.js';
import { coarseNow, type PoolClock } from './clock.js';
import { type FreeList, GenerationalFreeList } from './free-list.js';
import { subscribeToGcAging } from './generations.js';
import { Lease } from './guard.js';
import { defaultRegistry, type PoolRegistry } from './registry.js';
import type { PoolStats } from './stats.js';
import { poolMisuse, requireFunctionOption, requireIntegerOption } from './validate.js';

/** Default for `ObjectPoolOptions.maxSize`. */
export const DEFAULT_OBJECT_POOL_MAX_SIZE = 1024;
/** Largest accepted `maxSize`. */
export const MAX_OBJECT_POOL_SIZE = 1 << 24;

export interface ObjectPoolOptions<T extends object> {
  /** A name registered in `registry` before construction (`pool_unregistered` otherwise). */
  name: string;
  /** Makes a new item when the pool is empty. */
  create: () => T;
  /**
   * Returns an item to its just-created state. Mandatory: reuse without reset (the seeds'
   * "zero-value reuse" trap) cannot be written. Runs inside `put`, before the item is stored.
   */
  reset: (item: T) => void;
  /** Where the name is registered; default `defaultRegistry`. */
  registry?: PoolRegistry;
  /** Most items kept, both generations together; further puts are discarded. Default 1024. */
  maxSize?: number;
  /** Misuse detection (double put, use after put); default `DEV_MODE`. */
  debug?: boolean;
  /**
   * How debug mode finds use after put. 'proxy' (default): `get` returns a guarding Proxy, any
   * use after `put` throws. 'track': `get` returns the item itself; only double put, foreign
   * put and `assertOwned` are checked. Use 'track' for items that must pass native brand
   * checks (typed arrays, Buffers) — see guard.ts.
   */
  guard?: 'proxy' | 'track';
  /** Age the generations on every major GC; default true. Off only for tests of the logic. */
  gcAging?: boolean;
  /** Clock for item ages in ms; default a monotonic clock read once per event-loop turn. */
  now?: PoolClock;
}

/** Debug-mode state of an item: handed out, or back in the pool. */
const HELD = 1;
const POOLED = 2;

/**
 * A pool of reusable objects.
 *
 * `reset` runs at put time: a pooled item never holds on to the previous user's data (which
 * would otherwise stay reachable for up to two GC cycles), `get` stays a single pop, and every
 * item `get` returns from the pool has been reset since its last use. If `reset` throws, the
 * item is not pooled and the error propagates from `put`.
 *
 * In production `get`/`put` allocate nothing once warm: a pop or push on a plain array (the
 * age clock adds one setImmediate per event-loop turn, not per call, see clock.ts).
 * Go's sync.Pool keeps one cache per processor; here each thread (the main thread or a
 * worker) has its own heap and its own pools, so a pool is already per-thread and needs no
 * locking.
 *
 * After `close()`, `get` throws `pool_misuse` (reason 'closed') and `put` discards the item,
 * so shutdown paths can still give items back.
 */
export class ObjectPool<T extends object> {
  readonly name: string;
  readonly #create: () => T;
  readonly #reset: (item: T) => void;
  readonly #maxSize: number;
  readonly #debug: boolean;
  readonly #useProxy: boolean;
  readonly #now: PoolClock;
  readonly #free: FreeList<T> = new GenerationalFreeList<T>();
  readonly #unbind: () => void;
  readonly #unsubscribe: (() => void) | undefined;
  #closed = false;
  /** Debug: proxy handed out -> its lease. */
  readonly #leases = new WeakMap<object, Lease<T>>();
  /** Debug: item -> HELD or POOLED ('track' mode; POOLED in 'proxy' mode too). */
  readonly #states = new WeakMap<object, number>();
  #hits = 0;
  #victimHits = 0;
  #misses = 0;
  #puts = 0;
  #overflow = 0;
  #dropped = 0;

  constructor(options: ObjectPoolOptions<T>) {
    this.#create = requireFunctionOption('create', options?.create);
    this.#reset = requireFunctionOption('reset', options.reset);
    this.#maxSize = requireIntegerOption(
      'maxSize',
      options.maxSize ?? DEFAULT_OBJECT_POOL_MAX_SIZE,
      0,
      MAX_OBJECT_POOL_SIZE,
    );
    const guard = options.guard ?? 'proxy';
    if (guard !== 'proxy' && guard !== 'track') {
      throw new SbmpError('bad_config', "options.guard must be 'proxy' or 'track'", {
        details: { option: 'guard', value: String(guard) },
      });
    }
    this.#debug = options.debug ?? DEV_MODE;
    this.#useProxy = this.#debug && guard === 'proxy';
    this.#now = options.now === undefined ? coarseNow : requireFunctionOption('now', options.now);
    this.name = options.name;
    this.#unbind = (options.registry ?? defaultRegistry).bind(options.name, this);
    this.#unsubscribe = options.gcAging === false ? undefined : subscribeToGcAging(this);
  }

  /** An item: the most recently pooled one (already reset), else a new one from `create`. */
  get(): T {
    if (this.#closed) throw poolMisuse(this.name, 'closed', 'get() after close()');
    let item = this.#free.popPrimary();
    if (item !== undefined) {
      this.#hits++;
    } else {
      item = this.#free.popVictim();
      if (item !== undefined) {
        this.#victimHits++;
      } else {
        this.#misses++;
        item = this.#create();
      }
    }
    if (!this.#debug) return item;
    this.#states.set(item, HELD);
    if (!this.#useProxy) return item;
    const lease = new Lease(item, this.name);
    this.#leases.set(lease.proxy, lease);
    return lease.proxy;
  }

  /**
   * Gives an item back: resets it and keeps it, or discards it when the pool is full or
   * closed. The caller must not touch it afterwards. Debug mode throws `pool_misuse` for a
   * second put of the same item ('double_put') and for an item this pool did not hand out
   * ('not_from_pool').
   */
  put(item: T): void {
    const target = this.#debug ? this.#takeBack(item) : item;
    this.#reset(target);
    this.#puts++;
    if (this.#closed) return;
    if (this.#free.size >= this.#maxSize) {
      this.#overflow++;
      return;
    }
    this.#free.push(target, this.#now());
  }

  /**
   * Debug mode: throws `pool_misuse` unless `item` is currently held by a caller (handed out
   * by `get` and not put back). A no-op in production. With `guard: 'track'` this is the only
   * use-after-put check; call it where a pooled item is used after a hand-off.
   */
  assertOwned(item: T): void {
    if (!this.#debug) return;
    if (this.#useProxy) {
      const lease = this.#leases.get(item);
      if (lease === undefined)
        throw poolMisuse(this.name, 'not_from_pool', 'item was not handed out by this pool');
      lease.check('assertOwned');
      return;
    }
    const state = this.#states.get(item);
    if (state === POOLED) throw poolMisuse(this.name, 'use_after_put', 'item is back in the pool');
    if (state !== HELD) throw poolMisuse(this.name, 'not_from_pool', 'item was not handed out by this pool');
  }

  /**
   * One generation step, as on a major GC: items not taken since the previous step are
   * dropped, the rest become victims. Called by the GC observer; callable directly to shed
   * memory now or to test the aging logic without a GC.
   */
  age(): void {
    this.#dropped += this.#free.age();
  }

  stats(): PoolStats {
    const reuses = this.#hits + this.#victimHits;
    return {
      name: this.name,
      hits: this.#hits,
      victimHits: this.#victimHits,
      reuses,
      misses: this.#misses,
      allocations: this.#misses,
      puts: this.#puts,
      overflow: this.#overflow,
      dropped: this.#dropped,
      oversize: 0,
      liveItems: this.#free.size,
      liveBytes: 0,
      meanItemAgeMs: this.#free.meanAge(this.#now()),
    };
  }

  /** Drops the pooled items, stops GC aging and frees the name in the registry. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#dropped += this.#free.clear();
    this.#unsubscribe?.();
    this.#unbind();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Debug-mode checks of a put; returns the real item behind a lease. */
  #takeBack(item: T): T {
    if (this.#useProxy) {
      const lease = this.#leases.get(item);
      if (lease === undefined) {
        const reason = this.#states.get(item) === POOLED ? 'double_put' : 'not_from_pool';
        throw poolMisuse(
          this.name,
          reason,
          `put() of ${reason === 'double_put' ? 'a pooled item' : 'an item this pool did not hand out'}`,
        );
      }
      if (lease.released) throw poolMisuse(this.name, 'double_put', 'put() of an item already put back');
      lease.released = true;
      this.#states.set(lease.target, POOLED);
      return lease.target;
    }
    const state = this.#states.get(item);
    if (state === POOLED) throw poolMisuse(this.name, 'double_put', 'put() of an item already put back');
    if (state !== HELD)
      throw poolMisuse(this.name, 'not_from_pool', 'put() of an item this pool did not hand out');
    this.#states.set(item, POOLED);
    return item;
  }
}
