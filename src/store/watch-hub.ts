import { SbmpError } from '../core/errors.js';
import type { KeyPattern } from '../core/key.js';
import { compilePattern } from '../core/key.js';
import type { StoredSnapshot } from '../core/snapshot.js';
import type { Watch, WatchEvent, WatchListener, WatchOptions } from './types.js';
import { validateSinceRevision } from './validate.js';

/** Index entries examined per backlog read: bounds the work of one `next()` and the memory of a page. */
export const WATCH_PAGE_ENTRIES = 256;

/** Events a listening watch delivers in one turn of the event loop while it catches up. */
export const LISTEN_SLICE_EVENTS = 4096;

/** One read of a store's revision index. */
export interface IndexPage {
  /** Current snapshots of matching keys whose latest change is in the range, in revision order. */
  readonly items: readonly StoredSnapshot[];
  /** Highest revision this read covers; the next read starts after it. */
  readonly scannedTo: number;
  /** True when the read reached the newest committed revision. */
  readonly end: boolean;
}

/**
 * What a store shows the watch machinery. Reads are synchronous, so a watch moves from its
 * backlog to live changes inside one turn of the event loop and no change slips between them.
 * The revision index holds one entry per stored key: the revision of its latest change.
 */
export interface WatchSource {
  /**
   * Examines up to `maxEntries` index entries with revision > `after`, in revision order, and
   * returns the snapshots of those whose key `matches`. At the end of the index, `scannedTo` is
   * at least the highest revision committed when the read was made.
   */
  readIndex(after: number, maxEntries: number, matches: (key: string) => boolean): IndexPage;
  /** The current snapshot of one key (tombstones included), for single-key watches. */
  readKey(key: string): StoredSnapshot | undefined;
  /** Highest revision known committed; never above what a read made now would see. */
  committedRevision(): number;
  /** Resuming from below this revision needs a full resync. */
  compactedRevision(): number;
}

/**
 * Fans changes out to the watches of one store and serves their backlogs.
 * The store calls `publish` once per applied change, after it is committed, in revision order.
 */
export class WatchHub {
  readonly #source: WatchSource;
  readonly #watches = new Set<StoreWatch>();
  #closed = false;

  constructor(source: WatchSource) {
    this.#source = source;
  }

  /** Starts a watch; `bad_pattern` / `bad_request` for bad arguments, `closed` after `close`. */
  open(pattern: string, options: WatchOptions | undefined): Watch {
    if (this.#closed) throw new SbmpError('closed', 'the store is closed');
    const compiled = compilePattern(pattern);
    const since = validateSinceRevision(options?.sinceRevision);
    const watch = new StoreWatch(this.#source, compiled, since, (w) => this.#watches.delete(w));
    this.#watches.add(watch);
    return watch;
  }

  publish(snapshot: StoredSnapshot): void {
    for (const watch of this.#watches) watch.offer(snapshot);
  }

  /**
   * The lowest revision a watch still catching up has reached (Infinity when none is).
   * Compaction keeps tombstones above it, so such a watch cannot miss a delete.
   */
  backlogFloor(): number {
    let floor = Number.POSITIVE_INFINITY;
    for (const watch of this.#watches) floor = Math.min(floor, watch.backlogCursor());
    return floor;
  }

  get size(): number {
    return this.#watches.size;
  }

  /** Ends every watch; later `open` calls fail with `closed`. */
  close(): void {
    this.#closed = true;
    for (const watch of [...this.#watches]) watch.stop();
  }
}

type Phase = 'backlog' | 'live' | 'done';
type Waiter = { resolve: (result: IteratorResult<WatchEvent>) => void; reject: (err: unknown) => void };

/**
 * One watch. Before `synced` it pages through the store's revision index while live changes
 * collect in `#live`; after it, live changes flow through `#live` alone.
 *
 *   index pages (revision > cursor) ──► #ready ──► consumer
 *   hub.publish ──► #live (one entry per key, newest last) ──┘  (after #ready is empty and synced)
 *
 * `#live` keeps only the newest change of a key, moved to the end when replaced, so it stays in
 * revision order and a slow consumer costs at most one pending snapshot per key. `#cursor` is the
 * highest revision the consumer has (or will have from `#ready`); live changes at or below it
 * were already covered by the backlog and are dropped, so the seam has no duplicate.
 */
class StoreWatch implements Watch, AsyncIterator<WatchEvent> {
  readonly #source: WatchSource;
  readonly #pattern: KeyPattern;
  readonly #onEnd: (watch: StoreWatch) => void;
  readonly #ready: WatchEvent[] = [];
  readonly #live = new Map<string, StoredSnapshot>();
  readonly #waiters: Waiter[] = [];
  readonly #since: number;
  readonly #everything: boolean;
  #phase: Phase = 'backlog';
  #cursor: number;
  /** How the watch is consumed: set by the first `next()` or by `listen`. */
  #consumer: 'iterator' | 'listener' | undefined;
  #listener: WatchListener | undefined;
  #listening: { resolve: () => void; reject: (err: unknown) => void } | undefined;
  /** True while `#pump` runs: a change offered meanwhile queues behind what it is delivering. */
  #pumping = false;
  #nextSlice: NodeJS.Immediate | undefined;

  constructor(
    source: WatchSource,
    pattern: KeyPattern,
    since: number | undefined,
    onEnd: (w: StoreWatch) => void,
  ) {
    this.#source = source;
    this.#pattern = pattern;
    this.#onEnd = onEnd;
    const compacted = source.compactedRevision();
    // A resume point the store cannot serve (history compacted past it, or a revision this
    // store never reached, e.g. after its data was replaced) gets the full current state.
    const resync = since !== undefined && (since < compacted || since > source.committedRevision());
    if (resync) this.#ready.push({ kind: 'resync', compactedRevision: compacted });
    this.#everything = since === undefined || resync;
    this.#since = this.#everything ? 0 : (since ?? 0);
    this.#cursor = this.#since;
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    return this;
  }

  next(): Promise<IteratorResult<WatchEvent>> {
    if (this.#consumer === 'listener') return Promise.reject(mixedConsumers());
    this.#consumer = 'iterator';
    try {
      const event = this.#take();
      if (event !== undefined) return Promise.resolve({ value: event, done: false });
    } catch (err) {
      this.stop();
      return Promise.reject(err);
    }
    if (this.#phase === 'done') return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<WatchEvent>> {
    this.stop();
    return Promise.resolve({ value: undefined, done: true });
  }

  stop(): void {
    if (this.#phase === 'done') return;
    this.#phase = 'done';
    this.#ready.length = 0;
    this.#live.clear();
    clearImmediate(this.#nextSlice);
    this.#onEnd(this);
    for (const waiter of this.#waiters.splice(0)) waiter.resolve({ value: undefined, done: true });
    const listening = this.#listening;
    this.#listening = undefined;
    listening?.resolve();
  }

  listen(listener: WatchListener): Promise<void> {
    if (this.#consumer !== undefined) return Promise.reject(mixedConsumers());
    this.#consumer = 'listener';
    if (this.#phase === 'done') return Promise.resolve();
    this.#listener = listener;
    const ended = new Promise<void>((resolve, reject) => {
      this.#listening = { resolve, reject };
    });
    queueMicrotask(() => this.#pump());
    return ended;
  }

  /**
   * Delivers what is ready to the listener, up to `LISTEN_SLICE_EVENTS` per turn; once caught up,
   * changes reach the listener straight from `offer`.
   */
  #pump(): void {
    if (this.#pumping || this.#phase === 'done') return;
    this.#pumping = true;
    try {
      for (let delivered = 0; delivered < LISTEN_SLICE_EVENTS; delivered++) {
        const event = this.#take();
        if (event === undefined) return;
        if (event.kind === 'snapshot') this.#listener!.onSnapshot(event.snapshot);
        else this.#listener!.onEvent(event);
        // The listener may have stopped the watch.
        if ((this.#phase as Phase) === 'done') return;
      }
      clearImmediate(this.#nextSlice);
      this.#nextSlice = setImmediate(() => this.#pump());
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#pumping = false;
    }
  }

  /** Ends a listening watch with `err`. */
  #fail(err: unknown): void {
    const listening = this.#listening;
    this.#listening = undefined;
    this.stop();
    listening?.reject(err);
  }

  /** The revision this watch's backlog has reached, or Infinity once it is live. */
  backlogCursor(): number {
    return this.#phase === 'backlog' ? this.#cursor : Number.POSITIVE_INFINITY;
  }

  /** Called by the hub for every committed change. */
  offer(snapshot: StoredSnapshot): void {
    if (this.#phase === 'done' || !this.#pattern.matches(snapshot.key)) return;
    if (this.#phase === 'live') {
      if (snapshot.revision <= this.#cursor) return;
      // A consumer that keeps up, with nothing queued, takes the change directly: no trip
      // through `#live`, and for a listener no object at all.
      if (this.#live.size === 0 && this.#ready.length === 0) {
        if (this.#listener !== undefined && !this.#pumping) {
          this.#cursor = snapshot.revision;
          try {
            this.#listener.onSnapshot(snapshot);
          } catch (err) {
            this.#fail(err);
          }
          return;
        }
        if (this.#waiters.length > 0) {
          this.#cursor = snapshot.revision;
          this.#waiters.shift()!.resolve({ value: { kind: 'snapshot', snapshot }, done: false });
          return;
        }
      }
    }
    this.#live.delete(snapshot.key);
    this.#live.set(snapshot.key, snapshot);
    if (this.#phase === 'live') {
      if (this.#listener !== undefined) this.#pump();
      else this.#wake();
    }
  }

  #wake(): void {
    while (this.#waiters.length > 0) {
      let event: WatchEvent | undefined;
      try {
        event = this.#take();
      } catch (err) {
        const waiters = this.#waiters.splice(0);
        this.stop();
        for (const waiter of waiters) waiter.reject(err);
        return;
      }
      if (event === undefined) return;
      this.#waiters.shift()!.resolve({ value: event, done: false });
    }
  }

  /** The next event available without waiting, reading the backlog as needed. */
  #take(): WatchEvent | undefined {
    for (;;) {
      const ready = this.#ready.shift();
      if (ready !== undefined) return ready;
      if (this.#phase === 'backlog') {
        this.#readBacklog();
        continue;
      }
      if (this.#phase !== 'live') return undefined;
      const first = this.#live.values().next();
      if (first.done) return undefined;
      const snapshot = first.value;
      this.#live.delete(snapshot.key);
      this.#cursor = snapshot.revision;
      return { kind: 'snapshot', snapshot };
    }
  }

  #readBacklog(): void {
    const page = this.#pattern.exact ? this.#readOneKey() : this.#readPage();
    for (const snapshot of page.items) this.#ready.push({ kind: 'snapshot', snapshot });
    this.#cursor = Math.max(this.#cursor, page.scannedTo);
    if (!page.end) return;
    for (const [key, snapshot] of this.#live) {
      if (snapshot.revision <= this.#cursor) this.#live.delete(key);
    }
    this.#ready.push({ kind: 'synced', revision: this.#cursor });
    this.#phase = 'live';
  }

  #readPage(): IndexPage {
    return this.#source.readIndex(this.#cursor, WATCH_PAGE_ENTRIES, this.#pattern.matches);
  }

  #readOneKey(): IndexPage {
    const committed = this.#source.committedRevision();
    const snapshot = this.#source.readKey(this.#pattern.source);
    const scannedTo = Math.max(committed, snapshot?.revision ?? 0);
    const wanted = snapshot !== undefined && (this.#everything || snapshot.revision > this.#since);
    return { items: wanted ? [snapshot] : [], scannedTo, end: true };
  }
}

function mixedConsumers(): SbmpError {
  return new SbmpError('bad_request', 'a watch is consumed one way: by listen() once, or by iteration');
}
