import type { Logger } from 'pino';
import { isSbmpError, SbmpError } from '../../core/errors.js';
import type { StoredSnapshot } from '../../core/snapshot.js';
import type { Store, Watch } from '../../store/types.js';
import { OutboundCache, OutboundSnapshot } from './outbound.js';
import type { LiveFeed, Subscription } from './subscription.js';

/** Pattern that matches every key: the hub watches the whole store once. */
const EVERY_KEY = '>';
/** Delay before the hub re-opens a live watch that failed; doubles up to the maximum. */
const RESTART_DELAY_MS = 100;
const RESTART_DELAY_MAX_MS = 5000;

export interface HubStats {
  readonly revision: number;
  readonly subscriptions: number;
  readonly exactKeys: number;
  readonly wildcardPatterns: number;
  readonly dispatched: number;
  readonly live: boolean;
}

/** Subscriptions sharing one wildcard pattern: the pattern is tested once per change for all of them. */
interface PatternGroup {
  readonly pattern: Subscription['pattern'];
  readonly subscriptions: Set<Subscription>;
}

/**
 * The server's one live watch on the store, and the index that routes each applied change to
 * the subscriptions it matches.
 *
 *   store.watch('>').listen ──► dispatch(snapshot) ──► OutboundSnapshot (encoded lazily, once per format,
 *                               │                shared by every matching subscription)
 *                               │
 *          exact: Map<key, Set<Subscription>>            one Map lookup
 *          wildcard: Map<literal prefix, Map<pattern, group>>
 *                 probed with each segment prefix of the key ('', 'a/', 'a/b/', ...),
 *                 so the cost grows with the key's depth, not with the number of patterns
 *
 * Dispatch is synchronous: by the time `revision` says R, every change up to R has been offered
 * to every subscription that matched it. Subscriptions use that to know their resume point.
 */
export class Hub implements LiveFeed {
  readonly cache = new OutboundCache();
  readonly #store: Store;
  readonly #logger: Logger | undefined;
  readonly #exact = new Map<string, Set<Subscription>>();
  readonly #wildcard = new Map<string, Map<string, PatternGroup>>();
  #subscriptionCount = 0;
  #wildcardCount = 0;
  #revision = 0;
  #dispatched = 0;
  #watch: Watch | undefined;
  #live = false;
  #stopped = false;
  #restartTimer: NodeJS.Timeout | undefined;

  constructor(store: Store, logger: Logger | undefined) {
    this.#store = store;
    this.#logger = logger;
  }

  get revision(): number {
    return this.#revision;
  }

  /** True while the live watch is caught up; readiness depends on it. */
  get live(): boolean {
    return this.#live;
  }

  get subscriptionCount(): number {
    return this.#subscriptionCount;
  }

  /**
   * Opens the live watch from the store's current revision and resolves once it is caught up,
   * so that everything published after `start` resolves reaches subscribers. Rejects (naming
   * the cause) when the store cannot be watched within `timeoutMs`.
   */
  async start(timeoutMs: number): Promise<void> {
    this.#revision = this.#store.currentRevision();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new SbmpError('unavailable', `the store's watch did not catch up within ${timeoutMs} ms`, {
            details: { store: this.#store.kind },
          }),
        );
      }, timeoutMs);
      this.#run(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (err) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  add(subscription: Subscription): void {
    const pattern = subscription.pattern;
    if (pattern.exact) {
      let set = this.#exact.get(pattern.source);
      if (set === undefined) {
        set = new Set();
        this.#exact.set(pattern.source, set);
      }
      set.add(subscription);
    } else {
      let groups = this.#wildcard.get(pattern.prefix);
      if (groups === undefined) {
        groups = new Map();
        this.#wildcard.set(pattern.prefix, groups);
      }
      let group = groups.get(pattern.source);
      if (group === undefined) {
        group = { pattern, subscriptions: new Set() };
        groups.set(pattern.source, group);
        this.#wildcardCount++;
      }
      group.subscriptions.add(subscription);
    }
    this.#subscriptionCount++;
  }

  remove(subscription: Subscription): void {
    const pattern = subscription.pattern;
    if (pattern.exact) {
      const set = this.#exact.get(pattern.source);
      if (set === undefined || !set.delete(subscription)) return;
      if (set.size === 0) this.#exact.delete(pattern.source);
    } else {
      const groups = this.#wildcard.get(pattern.prefix);
      const group = groups?.get(pattern.source);
      if (group === undefined || !group.subscriptions.delete(subscription)) return;
      if (group.subscriptions.size === 0) {
        groups!.delete(pattern.source);
        this.#wildcardCount--;
        if (groups!.size === 0) this.#wildcard.delete(pattern.prefix);
      }
    }
    this.#subscriptionCount--;
  }

  stats(): HubStats {
    return {
      revision: this.#revision,
      subscriptions: this.#subscriptionCount,
      exactKeys: this.#exact.size,
      wildcardPatterns: this.#wildcardCount,
      dispatched: this.#dispatched,
      live: this.#live,
    };
  }

  /** Ends the live watch. Subscriptions are closed by their connections. Idempotent. */
  stop(): void {
    this.#stopped = true;
    this.#live = false;
    clearTimeout(this.#restartTimer);
    this.#watch?.stop();
    this.cache.clear();
  }

  /** Offers one applied change to every matching subscription. */
  dispatch(snapshot: StoredSnapshot): void {
    // A re-opened watch may repeat changes it already delivered.
    if (snapshot.revision <= this.#revision) return;
    this.#dispatched++;
    if (this.#subscriptionCount > 0) {
      // Not through the cache: a backlog reading this revision later finds it already offered
      // and drops its copy, so sharing with backlogs would save nothing.
      const out = new OutboundSnapshot(snapshot);
      const key = snapshot.key;
      const exact = this.#exact.get(key);
      if (exact !== undefined) for (const subscription of exact) subscription.offerLive(out);
      if (this.#wildcard.size > 0) this.#dispatchWildcard(key, out);
    }
    this.#revision = snapshot.revision;
  }

  #dispatchWildcard(key: string, out: Parameters<Subscription['offerLive']>[0]): void {
    let from = 0;
    for (;;) {
      const prefix = from === 0 ? '' : key.slice(0, from);
      const groups = this.#wildcard.get(prefix);
      if (groups !== undefined) {
        for (const group of groups.values()) {
          if (!group.pattern.matches(key)) continue;
          for (const subscription of group.subscriptions) subscription.offerLive(out);
        }
      }
      const slash = key.indexOf('/', from);
      if (slash < 0) return;
      from = slash + 1;
    }
  }

  /** Reads the live watch until it ends; re-opens it (from the last revision) when it fails. */
  #run(onLive: () => void, onFirstError: (err: unknown) => void, attempt = 0): void {
    let watch: Watch;
    try {
      watch = this.#store.watch(EVERY_KEY, { sinceRevision: this.#revision });
    } catch (err) {
      if (attempt === 0) onFirstError(err);
      else if (isSbmpError(err, 'closed'))
        this.#logger?.error({ err }, 'store closed under the server; live fan-out stopped');
      else this.#restart(onLive, onFirstError, attempt);
      return;
    }
    this.#watch = watch;
    let resynced = false;
    // Listened to, not iterated: each change reaches `dispatch` synchronously as the store
    // commits it, with no promise or event object per change.
    watch
      .listen({
        onSnapshot: (snapshot) => this.dispatch(snapshot),
        onEvent: (event) => {
          if (event.kind === 'synced') {
            // After a resync the snapshots came in key order, and compacted deletes not at all.
            if (resynced && event.revision > this.#revision) this.#revision = event.revision;
            this.#live = true;
            attempt = 0;
            onLive();
          } else {
            resynced = true;
            this.#interruptAll(event.compactedRevision);
          }
        },
      })
      .then(() => {
        if (!this.#stopped) throw new SbmpError('unavailable', 'the store ended its live watch');
      })
      .catch((err: unknown) => {
        this.#live = false;
        if (this.#stopped) return;
        if (isSbmpError(err, 'closed')) {
          this.#logger?.error({ err }, 'store closed under the server; live fan-out stopped');
          return;
        }
        this.#logger?.error({ err }, 'live watch failed; re-opening');
        this.#restart(onLive, onFirstError, attempt + 1);
      });
  }

  /**
   * The re-opened watch started below the store's compacted revision: changes in the gap
   * (deletes among them) are gone and can no longer be offered live. Every subscription ends
   * with a retryable `unavailable`; its consumer resumes from its own last revision and, being
   * below the compacted one too, gets a full resync, so no replica keeps a key deleted meanwhile.
   */
  #interruptAll(compactedRevision: number): void {
    if (this.#subscriptionCount === 0) return;
    const subscriptions: Subscription[] = [];
    for (const set of this.#exact.values()) subscriptions.push(...set);
    for (const groups of this.#wildcard.values()) {
      for (const group of groups.values()) subscriptions.push(...group.subscriptions);
    }
    this.#logger?.warn(
      { subscriptions: subscriptions.length, revision: this.#revision, compactedRevision },
      'live watch resumed below the compacted revision; ending every subscription so it resyncs',
    );
    const error = new SbmpError(
      'unavailable',
      'the live feed missed compacted changes; resubscribe from the last revision seen',
      { details: { compactedRevision } },
    );
    for (const subscription of subscriptions) subscription.interrupt(error);
  }

  #restart(onLive: () => void, onFirstError: (err: unknown) => void, attempt: number): void {
    if (this.#stopped) return;
    const delay = Math.min(RESTART_DELAY_MAX_MS, RESTART_DELAY_MS * 2 ** Math.min(attempt, 10));
    this.#restartTimer = setTimeout(() => this.#run(onLive, onFirstError, attempt), delay);
    this.#restartTimer.unref();
  }
}
