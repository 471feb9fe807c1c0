import { SbmpError } from './errors.js';
import type { Snapshot } from './snapshot.js';

/**
 * What `offer` did:
 * - `queued`: the key had nothing pending; it now waits at the back of the queue.
 * - `conflated`: a pending snapshot of the key was replaced in place by this newer one.
 * - `stale`: a pending snapshot of the key is as new or newer; this one was dropped.
 * - `overflow`: the key had nothing pending and `maxKeys` keys are already pending; nothing
 *   was queued. The owner decides what a consumer this far behind gets (e.g. a full resync).
 */
export type OfferResult = 'queued' | 'conflated' | 'stale' | 'overflow';

export interface ConflatingMailboxOptions {
  /**
   * Most keys pending at once; default unlimited (`Infinity`). Must be a positive integer.
   * Since each key holds at most one snapshot, this bounds the mailbox's memory.
   */
  maxKeys?: number;
}

/** One pending key. Slots are reused, so replacing or re-queuing a key does not allocate. */
interface Slot<S> {
  key: string;
  /** undefined once removed; the queue skips such a slot when it reaches it. */
  snapshot: S | undefined;
}

/** Initial queue capacity; a power of two so the ring index is a mask, doubled when full. */
const INITIAL_CAPACITY = 16;
/** Free slots kept for reuse; beyond this they are left to the garbage collector. */
const MAX_FREE_SLOTS = 256;
/** Removed slots tolerated in the ring before it is compacted (and at most as many as live ones). */
const COMPACT_DEAD_SLOTS = 32;

/**
 * A per-consumer queue that holds at most one snapshot per key, always the newest offered.
 * A slow consumer therefore costs one pending snapshot per key, never a backlog, and what it
 * takes next is the newest version it has not seen (guarantee 4).
 *
 *   byKey: Map<key, Slot>          Slot objects           ring: Slot[] (FIFO by first arrival)
 *                                                            index = (head + i) & mask
 *     'a' ──────────────────►  { key 'a', snapshot v7  }  ◄──  [head]      taken next
 *     'c' ──────────────────►  { key 'c', snapshot v3  }  ◄──  [head+1]
 *     'b' ──────────────────►  { key 'b', snapshot v12 }  ◄──  [head+2]    arrived last
 *                                                              [ ... ]     free capacity
 *
 * `offer` of a pending key finds its slot through `byKey` and overwrites `slot.snapshot` in
 * place: the key keeps its queue position, and nothing is allocated. `take` pops the slot at
 * `head`, forgets the key, and returns the slot to a free list. `remove` blanks a slot where it
 * stands; `take` skips blank slots, and the ring is compacted when too many pile up.
 *
 * The mailbox keeps no memory of keys once taken: ordering against what the consumer already
 * holds is the consumer's replica's job (the apply rules).
 */
export class ConflatingMailbox<S extends Snapshot = Snapshot> {
  readonly #maxKeys: number;
  readonly #byKey = new Map<string, Slot<S>>();
  #ring: (Slot<S> | undefined)[] = new Array(INITIAL_CAPACITY);
  #mask = INITIAL_CAPACITY - 1;
  #head = 0;
  /** Slots in the ring, live and removed. */
  #length = 0;
  /** Removed slots still in the ring. */
  #dead = 0;
  readonly #free: Slot<S>[] = [];
  #conflated = 0;
  #dropped = 0;
  #overflowed = 0;
  #highWater = 0;

  constructor(options: ConflatingMailboxOptions = {}) {
    const maxKeys = options.maxKeys ?? Number.POSITIVE_INFINITY;
    if (maxKeys !== Number.POSITIVE_INFINITY && !(Number.isSafeInteger(maxKeys) && maxKeys > 0)) {
      throw new SbmpError('bad_config', `options.maxKeys must be a positive integer, got ${String(maxKeys)}`);
    }
    this.#maxKeys = maxKeys;
  }

  /** Keys pending. */
  get size(): number {
    return this.#byKey.size;
  }

  /** The largest `size` ever reached. */
  get highWater(): number {
    return this.#highWater;
  }

  /** Offers that replaced a pending snapshot of the same key. */
  get conflated(): number {
    return this.#conflated;
  }

  /** Offers dropped because a pending snapshot of the key was as new or newer. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Offers refused because `maxKeys` keys were pending. */
  get overflowed(): number {
    return this.#overflowed;
  }

  get maxKeys(): number {
    return this.#maxKeys;
  }

  /** True when a snapshot of `key` is pending. */
  has(key: string): boolean {
    return this.#byKey.has(key);
  }

  /** Queues `snapshot`, or replaces the pending snapshot of its key when it is newer. */
  offer(snapshot: S): OfferResult {
    const slot = this.#byKey.get(snapshot.key);
    if (slot !== undefined) {
      // A pending slot always holds a snapshot; blank slots are no longer in byKey.
      if (snapshot.version > slot.snapshot!.version) {
        slot.snapshot = snapshot;
        this.#conflated++;
        return 'conflated';
      }
      this.#dropped++;
      return 'stale';
    }
    if (this.#byKey.size >= this.#maxKeys) {
      this.#overflowed++;
      return 'overflow';
    }
    const fresh = this.#free.pop() ?? { key: '', snapshot: undefined };
    fresh.key = snapshot.key;
    fresh.snapshot = snapshot;
    this.#byKey.set(snapshot.key, fresh);
    this.#push(fresh);
    if (this.#byKey.size > this.#highWater) this.#highWater = this.#byKey.size;
    return 'queued';
  }

  /** The pending snapshot whose key arrived first, or undefined when nothing is pending. */
  take(): S | undefined {
    while (this.#length > 0) {
      const slot = this.#ring[this.#head]!;
      this.#ring[this.#head] = undefined;
      this.#head = (this.#head + 1) & this.#mask;
      this.#length--;
      const snapshot = slot.snapshot;
      this.#release(slot);
      if (snapshot === undefined) {
        this.#dead--;
        continue;
      }
      this.#byKey.delete(snapshot.key);
      return snapshot;
    }
    return undefined;
  }

  /** Takes up to `max` (default all) pending snapshots in queue order. */
  drain(max = Number.POSITIVE_INFINITY): S[] {
    const out: S[] = [];
    while (out.length < max) {
      const snapshot = this.take();
      if (snapshot === undefined) break;
      out.push(snapshot);
    }
    return out;
  }

  /** Drops the pending snapshot of `key`, if any (e.g. the consumer unsubscribed). */
  remove(key: string): boolean {
    const slot = this.#byKey.get(key);
    if (slot === undefined) return false;
    this.#byKey.delete(key);
    slot.snapshot = undefined;
    this.#dead++;
    if (this.#dead > COMPACT_DEAD_SLOTS && this.#dead > this.#byKey.size) this.#compact();
    return true;
  }

  /** Drops everything pending; counters and `highWater` are kept. */
  clear(): void {
    for (let i = 0; i < this.#length; i++) {
      const at = (this.#head + i) & this.#mask;
      this.#release(this.#ring[at]!);
      this.#ring[at] = undefined;
    }
    this.#byKey.clear();
    this.#head = 0;
    this.#length = 0;
    this.#dead = 0;
  }

  #push(slot: Slot<S>): void {
    if (this.#length === this.#ring.length) this.#grow();
    this.#ring[(this.#head + this.#length) & this.#mask] = slot;
    this.#length++;
  }

  /** Doubles the ring, unrolling it so the queue starts at index 0 again. */
  #grow(): void {
    const old = this.#ring;
    const next: (Slot<S> | undefined)[] = new Array(old.length * 2);
    for (let i = 0; i < this.#length; i++) next[i] = old[(this.#head + i) & this.#mask];
    this.#ring = next;
    this.#mask = next.length - 1;
    this.#head = 0;
  }

  /** Rewrites the ring without removed slots, keeping the order of the live ones. */
  #compact(): void {
    let write = 0;
    for (let i = 0; i < this.#length; i++) {
      const at = (this.#head + i) & this.#mask;
      const slot = this.#ring[at]!;
      this.#ring[at] = undefined;
      if (slot.snapshot === undefined) this.#release(slot);
      else this.#ring[(this.#head + write++) & this.#mask] = slot;
    }
    this.#length = write;
    this.#dead = 0;
  }

  #release(slot: Slot<S>): void {
    slot.snapshot = undefined;
    slot.key = '';
    if (this.#free.length < MAX_FREE_SLOTS) this.#free.push(slot);
  }
}
