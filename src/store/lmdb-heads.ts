import type { RecordHead } from './lmdb-record.js';

/** One key's committed head, and the revision of a write to it still waiting for its commit (0: none). */
interface CachedHead {
  version: number;
  revision: number;
  deleted: boolean;
  pending: number;
}

/** How many keys' heads an LMDB store keeps by default: about 80 bytes each. */
export const DEFAULT_CACHED_HEADS = 1_000_000;

/**
 * The heads (version, revision, tombstone flag) of committed records, kept in memory so that a
 * put decides without reading and checksumming its key's record: measured on 256 puts in
 * flight over 10,000 keys, reading the record was about a fifth of the put's time.
 *
 * A head is only ever handed out while no write to its key waits for a commit, so it is what
 * the write transaction would read, and a batch that fails leaves nothing wrong behind:
 *
 * - `applied` marks a key as written in a transaction not yet committed; until `committed`
 *   for that same write, puts to the key read its record in the transaction instead;
 * - `failed` drops the key's head, so the next put reads the record again;
 * - `forget` (a compaction removed the record) drops it too.
 *
 * Keys are added lazily, from reads, up to `capacity`; beyond it a key is read each time.
 */
export class CommittedHeads {
  readonly #heads = new Map<string, CachedHead>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#heads.size;
  }

  /** The committed head of `key` when no write to it is in flight; undefined: read the record. */
  usable(key: string): RecordHead | undefined {
    const head = this.#heads.get(key);
    return head !== undefined && head.pending === 0 ? head : undefined;
  }

  /**
   * The head just read from `key`'s record inside the write transaction. A record newer than
   * `committedRevision` is itself waiting for its commit, and is kept as pending.
   */
  learned(key: string, head: RecordHead, committedRevision: number): void {
    if (this.#heads.has(key) || this.#heads.size >= this.#capacity) return;
    this.#heads.set(key, {
      version: head.version,
      revision: head.revision,
      deleted: head.deleted,
      pending: head.revision > committedRevision ? head.revision : 0,
    });
  }

  /** `key` was written at `revision` in a transaction that has not committed yet. */
  applied(key: string, revision: number): void {
    const head = this.#heads.get(key);
    if (head !== undefined) head.pending = revision;
    else if (this.#heads.size < this.#capacity) {
      this.#heads.set(key, { version: 0, revision: 0, deleted: false, pending: revision });
    }
  }

  /** The write of `key` at `revision` committed; a later write still in flight keeps the key pending. */
  committed(key: string, version: number, revision: number, deleted: boolean): void {
    const cached = this.#heads.get(key);
    if (cached === undefined || cached.pending !== revision) return;
    cached.version = version;
    cached.revision = revision;
    cached.deleted = deleted;
    cached.pending = 0;
  }

  /** The write of `key` at `revision` did not commit. */
  failed(key: string, revision: number): void {
    if (this.#heads.get(key)?.pending === revision) this.#heads.delete(key);
  }

  forget(key: string): void {
    this.#heads.delete(key);
  }
}
