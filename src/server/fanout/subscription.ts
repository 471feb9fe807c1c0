import { isSbmpError, SbmpError } from '../../core/errors.js';
import type { KeyPattern } from '../../core/key.js';
import { ConflatingMailbox } from '../../core/mailbox.js';
import type { Store, Watch, WatchEvent } from '../../store/types.js';
import type { ServerMetrics } from '../metrics.js';
import type { OutboundCache, OutboundSnapshot } from './outbound.js';

/** What a subscription needs of the hub that feeds it live changes. */
export interface LiveFeed {
  /** Revision of the last change the feed has offered to every matching subscription. */
  readonly revision: number;
  readonly cache: OutboundCache;
  add(subscription: Subscription): void;
  remove(subscription: Subscription): void;
}

/** The connection (or SSE stream) a subscription writes through. */
export interface SubscriptionOwner {
  /** The subscription has something to write. Called synchronously; the owner batches per turn. */
  wake(subscription: Subscription): void;
  /** More than `maxPendingKeys` keys are pending: the consumer is too slow to keep. */
  overflow(subscription: Subscription): void;
  /** The subscription's backlog failed; it is closed. */
  failed(subscription: Subscription, error: SbmpError): void;
}

/** One write's worth of a subscription: entries and the markers that go with them. */
export interface Batch {
  readonly entries: readonly OutboundSnapshot[];
  /** First batch of a full resync: the consumer drops keys not delivered before `synced`. */
  readonly resync: boolean;
  /** The backlog is complete after this batch. */
  readonly synced: boolean;
  /** `revision` before this batch. */
  readonly previousRevision: number | undefined;
  /**
   * The resume point after this batch: every matching change at or below it has been
   * delivered, or superseded by a newer version of its key that a resume from here will get.
   * Undefined while a full sync is in progress (there is no point to resume from yet).
   */
  readonly revision: number | undefined;
  /** Every entry is a live change (in the order the live stream offered them). */
  readonly live: boolean;
}

/**
 * Phases: `starting` until the backlog's first event (nothing is written, so a resync flag is
 * always first); `backlog` while the store's backlog is read; `settling` once it is read, until
 * the entries queued by then are written (then the synced marker goes out); `live` after.
 */
export type SubscriptionPhase = 'starting' | 'backlog' | 'settling' | 'live' | 'closed';

export interface SubscriptionOptions {
  readonly id: number;
  readonly pattern: KeyPattern;
  /** Resume after this revision; undefined: the current state of every matching key first. */
  readonly sinceRevision: number | undefined;
  readonly maxPendingKeys: number;
  readonly store: Store;
  readonly feed: LiveFeed;
  readonly owner: SubscriptionOwner;
  readonly metrics: ServerMetrics;
}

/** The backlog reader pauses at this many pending keys, so a large initial sync is paced by the consumer. */
const BACKLOG_PAUSE_KEYS = 4096;

/**
 * One subscription: a pattern, a conflating mailbox, and the seam between the store's backlog
 * and the hub's live stream.
 *
 *   hub (live, revision order) ──offerLive──┐
 *                                           ├──► mailbox (one pending snapshot per key) ──takeBatch──► owner
 *   store.watch(pattern, since) ─offerBacklog┘     (backlog stops at `synced`)
 *
 * The subscription joins the hub before its backlog starts, so no change falls between them.
 * Both sources may offer the same key: while the backlog runs, `#seen` remembers the newest
 * version offered per key, so a delivery never goes back even after the mailbox forgot the key.
 * After `synced` at revision R, live changes at or below R were covered by the backlog and are
 * dropped; later ones are newer than anything the backlog had.
 */
export class Subscription {
  readonly id: number;
  readonly pattern: KeyPattern;
  readonly #mailbox: ConflatingMailbox<OutboundSnapshot>;
  readonly #store: Store;
  readonly #feed: LiveFeed;
  readonly #owner: SubscriptionOwner;
  readonly #metrics: ServerMetrics;
  readonly #backlogPauseKeys: number;
  #phase: SubscriptionPhase = 'starting';
  #watch: Watch | undefined;
  /** Newest version offered per key while the backlog runs (both sources). */
  #seen: Map<string, number> | undefined = new Map();
  /** After `synced`: live changes at or below this were in the backlog. */
  #floor = 0;
  #syncedRevision = 0;
  /** While settling: entries queued before `synced` that are still to be taken. */
  #untilSynced = 0;
  #resyncPending = false;
  #resumePoint: number | undefined;
  /** An entry taken that did not fit the last batch; it leads the next one. */
  #carry: OutboundSnapshot | undefined;
  #roomWaiter: (() => void) | undefined;
  #delivered = 0;
  #carryConflated = 0;

  constructor(options: SubscriptionOptions) {
    this.id = options.id;
    this.pattern = options.pattern;
    this.#store = options.store;
    this.#feed = options.feed;
    this.#owner = options.owner;
    this.#metrics = options.metrics;
    this.#resumePoint = options.sinceRevision;
    this.#mailbox = new ConflatingMailbox({ maxKeys: options.maxPendingKeys });
    this.#backlogPauseKeys = Math.max(
      1,
      Math.min(BACKLOG_PAUSE_KEYS, Math.floor(options.maxPendingKeys / 2)),
    );
    this.#feed.add(this);
    void this.#runBacklog(options.sinceRevision);
  }

  get phase(): SubscriptionPhase {
    return this.#phase;
  }

  /** Keys waiting to be written. */
  get pendingKeys(): number {
    return this.#mailbox.size + (this.#carry === undefined ? 0 : 1);
  }

  get conflated(): number {
    return this.#mailbox.conflated + this.#carryConflated;
  }

  get delivered(): number {
    return this.#delivered;
  }

  get resumePoint(): number | undefined {
    return this.#resumePoint;
  }

  /** True when `takeBatch` would return something. */
  get writable(): boolean {
    if (this.#phase === 'starting' || this.#phase === 'closed') return false;
    return (
      this.#mailbox.size > 0 ||
      this.#carry !== undefined ||
      this.#resyncPending ||
      (this.#phase === 'settling' && this.#untilSynced === 0)
    );
  }

  /** A live change matching the pattern, from the hub (in revision order). */
  offerLive(out: OutboundSnapshot): void {
    switch (this.#phase) {
      case 'closed':
        return;
      case 'settling':
      case 'live':
        if (out.revision <= this.#floor) {
          this.#metrics.staleInFanout.inc();
          return;
        }
        this.#offer(out, true);
        return;
      default:
        if (this.#isSeen(out)) return;
        this.#seen!.set(out.key, out.version);
        this.#offer(out, true);
    }
  }

  /**
   * Takes what fits in `budgetBytes` (at least one entry), measured by `sizeOf`, and the
   * markers due with it. Undefined when there is nothing to write.
   */
  takeBatch(sizeOf: (out: OutboundSnapshot) => number, budgetBytes: number): Batch | undefined {
    if (this.#phase === 'starting' || this.#phase === 'closed') return undefined;
    const previousRevision = this.#resumePoint;
    const live = this.#phase === 'live';
    const entries: OutboundSnapshot[] = [];
    let bytes = 0;
    for (;;) {
      if (this.#phase === 'settling' && this.#untilSynced === 0 && this.#carry === undefined) break;
      let next = this.#carry;
      if (next === undefined) {
        next = this.#mailbox.take();
        if (next === undefined) break;
        if (this.#phase === 'settling') this.#untilSynced--;
      } else this.#carry = undefined;
      const size = sizeOf(next);
      if (entries.length > 0 && bytes + size > budgetBytes) {
        this.#carry = next;
        break;
      }
      entries.push(next);
      bytes += size;
    }
    let synced = false;
    if (this.#phase === 'settling' && this.#untilSynced === 0 && this.#carry === undefined) {
      synced = true;
      this.#phase = 'live';
      this.#resumePoint = Math.max(this.#resumePoint ?? 0, this.#syncedRevision);
    }
    if (this.#phase === 'live' && this.#mailbox.size === 0 && this.#carry === undefined) {
      this.#resumePoint = Math.max(this.#resumePoint ?? 0, this.#floor, this.#feed.revision);
    }
    const resync = this.#resyncPending;
    this.#resyncPending = false;
    if (this.#roomWaiter !== undefined && this.#mailbox.size <= this.#backlogPauseKeys / 2) {
      const wake = this.#roomWaiter;
      this.#roomWaiter = undefined;
      wake();
    }
    if (entries.length === 0 && !resync && !synced) return undefined;
    this.#delivered += entries.length;
    return { entries, resync, synced, previousRevision, revision: this.#resumePoint, live };
  }

  /**
   * Ends the subscription with `error` (told to its owner, which answers the consumer), e.g.
   * when the live feed lost changes it can no longer deliver. Idempotent.
   */
  interrupt(error: SbmpError): void {
    this.#fail(error);
  }

  /** Stops the backlog, leaves the hub and drops everything pending. Idempotent. */
  close(): void {
    if (this.#phase === 'closed') return;
    this.#phase = 'closed';
    this.#feed.remove(this);
    this.#watch?.stop();
    this.#mailbox.clear();
    this.#carry = undefined;
    this.#seen = undefined;
    const wake = this.#roomWaiter;
    this.#roomWaiter = undefined;
    wake?.();
  }

  #isSeen(out: OutboundSnapshot): boolean {
    const seen = this.#seen?.get(out.key);
    if (seen === undefined || out.version > seen) return false;
    this.#metrics.staleInFanout.inc();
    return true;
  }

  #offerBacklog(out: OutboundSnapshot): void {
    if (this.#isSeen(out)) return;
    // The hub can only offer an older version of this key later if it has not reached this
    // revision yet; otherwise there is nothing to remember (keeps #seen small on big syncs).
    if (out.revision > this.#feed.revision) this.#seen!.set(out.key, out.version);
    this.#offer(out, false);
  }

  #offer(out: OutboundSnapshot, live: boolean): void {
    const carry = this.#carry;
    if (carry !== undefined && carry.key === out.key) {
      // The carried entry is this key's pending snapshot: replace it there, keeping one per key.
      if (out.version > carry.version) {
        this.#carry = out;
        this.#carryConflated++;
        this.#metrics.conflatedCell.inc();
      } else this.#metrics.staleInFanout.inc();
      return;
    }
    const idle = this.#mailbox.size === 0 && carry === undefined;
    switch (this.#mailbox.offer(out)) {
      case 'queued':
        // The live stream is in revision order: with nothing pending, every earlier change
        // matching this subscription has been written, so the resume point moves up to here.
        if (live && idle && this.#phase === 'live') {
          this.#resumePoint = Math.max(this.#resumePoint ?? 0, out.revision - 1);
        }
        if (this.#phase !== 'starting') this.#owner.wake(this);
        return;
      case 'conflated':
        this.#metrics.conflatedCell.inc();
        return;
      case 'stale':
        this.#metrics.staleInFanout.inc();
        return;
      case 'overflow':
        this.#owner.overflow(this);
        return;
    }
  }

  async #runBacklog(sinceRevision: number | undefined): Promise<void> {
    let watch: Watch;
    try {
      watch = this.#store.watch(this.pattern.source, sinceRevision === undefined ? {} : { sinceRevision });
    } catch (err) {
      this.#fail(err);
      return;
    }
    this.#watch = watch;
    const events = watch[Symbol.asyncIterator]();
    try {
      while (this.#phase === 'starting' || this.#phase === 'backlog') {
        if (this.#mailbox.size >= this.#backlogPauseKeys) {
          await new Promise<void>((resolve) => {
            this.#roomWaiter = resolve;
          });
          continue;
        }
        const next = await events.next();
        // close() may have run while waiting.
        if ((this.#phase as SubscriptionPhase) === 'closed') return;
        if (next.done === true) {
          this.#fail(new SbmpError('unavailable', `the store ended the backlog of '${this.pattern.source}'`));
          return;
        }
        this.#onBacklogEvent(next.value);
      }
    } catch (err) {
      this.#fail(err);
    } finally {
      watch.stop();
    }
  }

  #onBacklogEvent(event: WatchEvent): void {
    const starting = this.#phase === 'starting';
    if (starting) this.#phase = 'backlog';
    switch (event.kind) {
      case 'resync':
        this.#resyncPending = true;
        this.#resumePoint = undefined;
        break;
      case 'snapshot':
        this.#offerBacklog(this.#feed.cache.get(event.snapshot));
        break;
      case 'synced':
        this.#phase = 'settling';
        this.#syncedRevision = event.revision;
        this.#floor = event.revision;
        this.#untilSynced = this.#mailbox.size;
        this.#seen = undefined;
        this.#owner.wake(this);
        return;
    }
    if (starting && this.writable) this.#owner.wake(this);
  }

  #fail(err: unknown): void {
    if (this.#phase === 'closed') return;
    const error = isSbmpError(err)
      ? err
      : new SbmpError('unavailable', `reading the backlog of '${this.pattern.source}' failed`, {
          cause: err,
        });
    this.close();
    this.#owner.failed(this, error);
  }
}
