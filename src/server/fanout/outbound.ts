import type { SnapshotEntry, StateEncoding } from '../../codec/frame-types.js';
import { encodeSnapshotEntry } from '../../codec/frames.js';
import { encodeState } from '../../codec/state.js';
import type { Snapshot, StoredSnapshot } from '../../core/snapshot.js';
import { snapshotJsonText } from '../snapshot-json.js';

/** Content type given to a byte state stored without one, so receivers never mistake it for MessagePack. */
const DEFAULT_BYTES_CONTENT_TYPE = 'application/octet-stream';

/**
 * One applied snapshot on its way to subscribers, encoded at most once per wire format and
 * shared: the hub creates one per change and offers the same object to every matching
 * mailbox, so N subscribers cost one encoding, not N. Encodings are made lazily, on the first
 * delivery in that format, because most deployments use only one of them.
 *
 * The cached bytes are owned by this object and never change once made; transports only read
 * them (`encodeSnapshotsFrame` copies them into each frame).
 */
export class OutboundSnapshot implements Snapshot {
  readonly snapshot: StoredSnapshot;
  readonly key: string;
  readonly version: number;
  readonly revision: number;
  readonly ts: number;
  readonly source: string;
  readonly state: unknown;
  #msgpackEntry: Uint8Array | undefined;
  #jsonEntry: Uint8Array | undefined;
  #sseData: string | undefined;

  constructor(snapshot: StoredSnapshot) {
    this.snapshot = snapshot;
    this.key = snapshot.key;
    this.version = snapshot.version;
    this.revision = snapshot.revision;
    this.ts = snapshot.ts;
    this.source = snapshot.source;
    this.state = snapshot.state;
  }

  /** The encoded SNAPSHOTS entry for connections using `encoding`. */
  entry(encoding: StateEncoding): Uint8Array {
    if (encoding === 'msgpack') {
      this.#msgpackEntry ??= encodeSnapshotEntry(this.#toEntry(encoding));
      return this.#msgpackEntry;
    }
    this.#jsonEntry ??= encodeSnapshotEntry(this.#toEntry(encoding));
    return this.#jsonEntry;
  }

  /** The SSE `data:` line of this snapshot, newline-terminated (the event's blank line is the writer's). */
  sseData(): string {
    this.#sseData ??= `data: ${snapshotJsonText(this.snapshot)}\n`;
    return this.#sseData;
  }

  #toEntry(encoding: StateEncoding): SnapshotEntry {
    const s = this.snapshot;
    const bytes = s.state instanceof Uint8Array;
    // Bytes with their content type are already an entry's fields: encoded from the stored
    // snapshot itself, without an entry object per change. Not when the object carries a
    // publisher id (a store of someone else's making might): only the server sets that field.
    if (bytes && s.contentType !== undefined && (s as SnapshotEntry).publisherId === undefined) {
      return s as StoredSnapshot<Uint8Array>;
    }
    const entry: { -readonly [K in keyof SnapshotEntry]: SnapshotEntry[K] } = {
      key: s.key,
      version: s.version,
      revision: s.revision,
      ts: s.ts,
      source: s.source,
      state: bytes ? (s.state as Uint8Array) : encodeState(s.state, encoding),
    };
    if (s.deleted === true) entry.deleted = true;
    if (bytes) entry.contentType = s.contentType ?? DEFAULT_BYTES_CONTENT_TYPE;
    if (s.trace !== undefined) entry.trace = s.trace;
    return entry;
  }
}

/**
 * Outbound snapshots currently alive, by revision, so that subscriptions reading the same
 * backlog at the same time (many clients resuming at once after a restart) share one object
 * and its encodings. Held weakly: the cache never keeps a snapshot alive by itself, so its
 * memory is bounded by what mailboxes and backlogs hold anyway, whatever the state sizes.
 */
export class OutboundCache {
  readonly #byRevision = new Map<number, WeakRef<OutboundSnapshot>>();
  readonly #cleanup = new FinalizationRegistry<number>((revision) => {
    if (this.#byRevision.get(revision)?.deref() === undefined) this.#byRevision.delete(revision);
  });

  /** The shared outbound snapshot of `snapshot` (same revision), creating it when needed. */
  get(snapshot: StoredSnapshot): OutboundSnapshot {
    const cached = this.#byRevision.get(snapshot.revision)?.deref();
    if (cached !== undefined && cached.key === snapshot.key && cached.version === snapshot.version)
      return cached;
    const created = new OutboundSnapshot(snapshot);
    this.#byRevision.set(snapshot.revision, new WeakRef(created));
    this.#cleanup.register(created, snapshot.revision);
    return created;
  }

  /** Entries, live or awaiting cleanup. */
  get size(): number {
    return this.#byRevision.size;
  }

  clear(): void {
    this.#byRevision.clear();
  }
}
