import { SbmpError } from '../core/errors.js';
import { validateKey } from '../core/key.js';
import type { StoredSnapshot } from '../core/snapshot.js';
import { freezeSnapshot, sameContent } from '../core/snapshot.js';
import { encodeListCursor, listStartIndex, validateListLimit, validatePrefix } from './list-page.js';
import { putByPromise } from './put-via.js';
import type { ResolvedRetention } from './retention.js';
import {
  DEFAULT_MAX_REVISIONS,
  DEFAULT_TOMBSTONE_MS,
  resolveRetention,
  tombstoneExpired,
} from './retention.js';
import { RevisionLog } from './revision-log.js';
import type {
  CompactOutcome,
  ListOptions,
  ListPage,
  PutOptions,
  PutOutcome,
  PutReceiver,
  RetentionPolicy,
  SnapshotInput,
  Store,
  StoreCapabilities,
  Watch,
  WatchOptions,
} from './types.js';
import type { InputDefaults } from './validate.js';
import { DEFAULT_MAX_STATE_BYTES, decidePut, preparePut, toStoredSnapshot } from './validate.js';
import type { IndexPage } from './watch-hub.js';
import { WatchHub } from './watch-hub.js';

export interface MemoryStoreOptions {
  /** `source` of snapshots put without one. Default `'sbmp'`. */
  readonly source?: string;
  /** Wall clock in ms: default `ts` of puts and the age of tombstones. Default `Date.now`. */
  readonly clock?: () => number;
  /** Largest state in bytes (see `preparePut`). Default 1 MiB; larger states are `too_large`. */
  readonly maxStateBytes?: number;
  /** What `compact()` without a policy keeps. Defaults: tombstones 24 h, 1,000,000 revisions. */
  readonly retention?: RetentionPolicy;
}

const CAPABILITIES: StoreCapabilities = Object.freeze({
  durable: false,
  syncedToDisk: false,
  replicated: false,
});

/**
 * A store in process memory, for tests and ephemeral use: the same rules as the durable
 * stores, nothing survives the process. A put is applied synchronously and its promise
 * resolves right after. States are kept as given, deep-frozen in development mode
 * (byte states are copied on put, since typed arrays cannot be frozen).
 */
export class MemoryStore implements Store {
  readonly kind = 'memory';
  readonly capabilities = CAPABILITIES;
  /** New for every instance: a memory store's history begins with it. */
  readonly epoch: string = globalThis.crypto.randomUUID();
  readonly #entries = new Map<string, StoredSnapshot>();
  /**
   * Store clock when each held tombstone was applied: retention counts from here, not from the
   * producer's `ts`. Only tombstones need it, so a live put keeps no second object.
   */
  readonly #tombstonedAt = new Map<string, number>();
  readonly #log = new RevisionLog();
  readonly #hub: WatchHub;
  readonly #inputDefaults: InputDefaults;
  readonly #clock: () => number;
  readonly #retention: ResolvedRetention;
  /** Every key in order, rebuilt lazily after keys are added or removed. */
  #sortedKeys: string[] | undefined = [];
  #revision = 0;
  #compactedRevision = 0;
  #closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    const maxStateBytes = options.maxStateBytes ?? DEFAULT_MAX_STATE_BYTES;
    if (!Number.isSafeInteger(maxStateBytes) || maxStateBytes < 1) {
      throw new SbmpError('bad_config', 'options.maxStateBytes must be a positive integer');
    }
    this.#clock = options.clock ?? Date.now;
    this.#inputDefaults = { maxStateBytes, source: options.source ?? 'sbmp', clock: this.#clock };
    this.#retention = resolveRetention(options.retention, {
      tombstoneMs: DEFAULT_TOMBSTONE_MS,
      maxRevisions: DEFAULT_MAX_REVISIONS,
    });
    this.#hub = new WatchHub({
      readIndex: (after, maxEntries, matches) => this.#readIndex(after, maxEntries, matches),
      readKey: (key) => this.#entries.get(key),
      committedRevision: () => this.#revision,
      compactedRevision: () => this.#compactedRevision,
    });
  }

  async put(input: SnapshotInput, options?: PutOptions): Promise<PutOutcome> {
    return this.#apply(input, options);
  }

  /**
   * Calls `receiver` before returning: a memory put is applied synchronously. A subclass that
   * overrides `put` has its `put` called instead, so the override sees every put.
   */
  putTo<C>(
    input: SnapshotInput,
    options: PutOptions | undefined,
    receiver: PutReceiver<C>,
    context: C,
  ): void {
    if (this.put !== MemoryStore.prototype.put) {
      putByPromise(this, input, options, receiver, context);
      return;
    }
    let outcome: PutOutcome;
    try {
      outcome = this.#apply(input, options);
    } catch (err) {
      receiver.putFailed(err, context);
      return;
    }
    receiver.putDone(outcome, context);
  }

  #apply(input: SnapshotInput, options: PutOptions | undefined): PutOutcome {
    this.#checkOpen();
    const prepared = preparePut(input, options, this.#inputDefaults);
    const current = this.#entries.get(prepared.key);
    const { result, version } = decidePut(current, prepared, sameContent);
    if (result !== 'applied') return { result, version, revision: current?.revision ?? 0 };
    const revision = ++this.#revision;
    // A key held already keeps its string: the new version shares it.
    const key = current?.key ?? prepared.key;
    const stored = freezeSnapshot(toStoredSnapshot(prepared, version, revision, key));
    if (current === undefined) this.#sortedKeys = undefined;
    this.#entries.set(key, stored);
    if (stored.deleted === true) this.#tombstonedAt.set(key, this.#clock());
    else if (current?.deleted === true) this.#tombstonedAt.delete(key);
    this.#log.append(key, revision);
    this.#hub.publish(stored);
    return { result, version, revision };
  }

  async get(key: string): Promise<StoredSnapshot | undefined> {
    this.#checkOpen();
    return this.#entries.get(validateKey(key));
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    this.#checkOpen();
    validatePrefix(prefix);
    const limit = validateListLimit(options.limit);
    const keys = this.#keysInOrder();
    let i = listStartIndex(keys, prefix, options.cursor);
    const items: StoredSnapshot[] = [];
    for (; i < keys.length && items.length < limit; i++) {
      const key = keys[i]!;
      if (!key.startsWith(prefix)) break;
      const snapshot = this.#entries.get(key)!;
      if (snapshot.deleted && !options.includeDeleted) continue;
      items.push(snapshot);
    }
    const more = items.length === limit && this.#hasMore(keys, i, prefix, options.includeDeleted ?? false);
    return more ? { items, cursor: encodeCursorOf(items) } : { items };
  }

  watch(pattern: string, options?: WatchOptions): Watch {
    this.#checkOpen();
    return this.#hub.open(pattern, options);
  }

  async compact(retention?: RetentionPolicy): Promise<CompactOutcome> {
    this.#checkOpen();
    const policy = resolveRetention(retention, this.#retention);
    const now = this.#clock();
    // A watch still reading its backlog may not have reached a tombstone yet; keep those.
    const floor = this.#hub.backlogFloor();
    let removed = 0;
    for (const [key, storedAt] of this.#tombstonedAt) {
      const snapshot = this.#entries.get(key)!;
      if (snapshot.revision > floor) continue;
      if (!tombstoneExpired(storedAt, snapshot.revision, now, this.#revision, policy)) continue;
      this.#entries.delete(key);
      this.#tombstonedAt.delete(key);
      this.#log.remove(key);
      this.#compactedRevision = Math.max(this.#compactedRevision, snapshot.revision);
      removed++;
    }
    if (removed > 0) this.#sortedKeys = undefined;
    return {
      removedTombstones: removed,
      removedRevisions: removed,
      compactedRevision: this.#compactedRevision,
    };
  }

  currentRevision(): number {
    this.#checkOpen();
    return this.#revision;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#hub.close();
  }

  #checkOpen(): void {
    if (this.#closed) throw new SbmpError('closed', 'the memory store is closed');
  }

  #keysInOrder(): string[] {
    if (this.#sortedKeys === undefined) this.#sortedKeys = [...this.#entries.keys()].sort();
    return this.#sortedKeys;
  }

  #hasMore(keys: string[], from: number, prefix: string, includeDeleted: boolean): boolean {
    for (let i = from; i < keys.length && keys[i]!.startsWith(prefix); i++) {
      if (includeDeleted || !this.#entries.get(keys[i]!)!.deleted) return true;
    }
    return false;
  }

  #readIndex(after: number, maxEntries: number, matches: (key: string) => boolean): IndexPage {
    const items: StoredSnapshot[] = [];
    const { scannedTo, end } = this.#log.scan(after, maxEntries, (key) => {
      if (matches(key)) items.push(this.#entries.get(key)!);
    });
    return { items, scannedTo: end ? Math.max(scannedTo, this.#revision) : scannedTo, end };
  }
}

function encodeCursorOf(items: readonly StoredSnapshot[]): string {
  return encodeListCursor(items[items.length - 1]!.key);
}
