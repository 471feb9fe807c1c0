import { SbmpError } from '../core/errors.js';
import { validateKey } from '../core/key.js';
import type { StoredSnapshot } from '../core/snapshot.js';
import { freezeSnapshot } from '../core/snapshot.js';
import { decodeListCursor, encodeListCursor, validateListLimit, validatePrefix } from './list-page.js';
import type { PendingPut } from './lmdb-apply.js';
import { applyPutsInTransaction } from './lmdb-apply.js';
import type { CompactDecision } from './lmdb-compact.js';
import { compactInTransaction } from './lmdb-compact.js';
import type { LmdbEnv } from './lmdb-env.js';
import { closeLmdbEnv, dataFileOf, openLmdbEnv, storeError } from './lmdb-env.js';
import { checkDataFile } from './lmdb-file-check.js';
import { CommittedHeads, DEFAULT_CACHED_HEADS } from './lmdb-heads.js';
import { decodeRecord, recordToSnapshot } from './lmdb-record.js';
import { loadRevisionLog } from './lmdb-revision-index.js';
import { verifyInChildProcess } from './lmdb-verify.js';
import { promisePut } from './put-via.js';
import type { ResolvedRetention } from './retention.js';
import { DEFAULT_MAX_REVISIONS, DEFAULT_TOMBSTONE_MS, resolveRetention } from './retention.js';
import type { RevisionLog } from './revision-log.js';
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
import type { InputDefaults, PreparedPut } from './validate.js';
import { DEFAULT_MAX_STATE_BYTES, preparePut } from './validate.js';
import type { IndexPage } from './watch-hub.js';
import { WatchHub } from './watch-hub.js';

export interface LmdbStoreOptions {
  /** Directory of the store; created when absent. The data file is `<path>/data.mdb`. */
  readonly path: string;
  /**
   * `false` (default): a put is acknowledged once committed to the OS; survives `kill -9`, not
   * power loss. `true`: once flushed to disk too; survives power loss, at a lower put rate
   * (see docs/STORAGE.md for measured rates).
   */
  readonly sync?: boolean;
  /** `source` of snapshots put without one. Default `'sbmp'`. */
  readonly source?: string;
  /** Wall clock in ms: default `ts` of puts and the age of tombstones. Default `Date.now`. */
  readonly clock?: () => number;
  /** Largest state in bytes. Default 1 MiB; larger states are `too_large`. */
  readonly maxStateBytes?: number;
  /**
   * How many keys' record heads (version, revision, tombstone flag) to keep in memory, so that
   * a put to such a key decides without reading its record. Default 1,000,000, about 80 bytes
   * each; 0 turns it off. Keys beyond it are read from the file on each put, as before.
   */
  readonly cachedHeads?: number;
  /** What `compact()` without a policy keeps. Defaults: tombstones 24 h, 1,000,000 revisions. */
  readonly retention?: RetentionPolicy;
  /**
   * How much of an existing data file to check before use. `'header'` (default): its LMDB meta
   * pages and our format marker, which catches truncated and foreign files at no cost.
   * `'full'`: also read every record and index entry, in a child process (a damaged page can
   * crash LMDB), which catches damage inside the file; costs a read of the whole store.
   */
  readonly verify?: 'header' | 'full';
}

/** Opens the embedded store in `options.path`. Fails with `corrupt_store` or `bad_config`, naming the file. */
export async function openLmdbStore(options: LmdbStoreOptions): Promise<LmdbStore> {
  if (
    options === null ||
    typeof options !== 'object' ||
    typeof options.path !== 'string' ||
    options.path === ''
  ) {
    throw new SbmpError('bad_config', 'options.path must be a non-empty directory path');
  }
  const maxStateBytes = options.maxStateBytes ?? DEFAULT_MAX_STATE_BYTES;
  if (!Number.isSafeInteger(maxStateBytes) || maxStateBytes < 1) {
    throw new SbmpError('bad_config', 'options.maxStateBytes must be a positive integer');
  }
  const clock = options.clock ?? Date.now;
  const retention = resolveRetention(options.retention, {
    tombstoneMs: DEFAULT_TOMBSTONE_MS,
    maxRevisions: DEFAULT_MAX_REVISIONS,
  });
  const sync = options.sync ?? false;
  const cachedHeads = options.cachedHeads ?? DEFAULT_CACHED_HEADS;
  if (!Number.isSafeInteger(cachedHeads) || cachedHeads < 0) {
    throw new SbmpError(
      'bad_config',
      `options.cachedHeads must be an integer >= 0, got ${String(cachedHeads)}`,
    );
  }
  const verify = options.verify ?? 'header';
  if (verify !== 'header' && verify !== 'full') {
    throw new SbmpError('bad_config', `options.verify must be 'header' or 'full', got ${String(verify)}`);
  }
  if (verify === 'full' && checkDataFile(dataFileOf(options.path)) === 'ok') {
    await verifyInChildProcess(options.path, dataFileOf(options.path));
  }
  const env = openLmdbEnv(options.path, sync);
  let log: RevisionLog;
  try {
    log = loadRevisionLog(env, env.meta.get('revision') ?? 0);
  } catch (err) {
    await closeLmdbEnv(env);
    throw storeError(env.file, err);
  }
  const inputDefaults = { maxStateBytes, source: options.source ?? 'sbmp', clock };
  return new LmdbStore(env, log, sync, inputDefaults, retention, cachedHeads);
}

/**
 * Most puts in one transaction. A client's window of 256 puts arriving in one message becomes
 * two transactions, and the acknowledgements of the first half are on their way while the
 * second half is applied, so the client refills its window while the server works. 256 puts
 * in flight over WebSocket (interleaved runs): 69,000 to 80,000 puts/s in one transaction,
 * 82,000 to 109,000 in halves of 128, about the same in quarters of 64; called directly, the
 * store's rate stayed within noise (175,000 to 187,000 puts/s).
 */
const MAX_BATCH = 128;

/** Up to `MAX_BATCH` puts of one event-loop turn: decided in one write transaction, acknowledged together. */
interface Batch {
  readonly puts: PendingPut[];
  /** The revision counter after the batch's transaction. */
  revision: number;
  settled: boolean;
  failure?: unknown;
}

/**
 * The embedded store on LMDB. Puts issued in one event-loop turn are applied in one write
 * transaction (up to `MAX_BATCH` each), each decided inside that transaction, so concurrent
 * puts to one key are serialized and `next` versions and revisions are assigned atomically.
 * A put resolves only after its transaction commits. Reads are synchronous LMDB reads of
 * committed data. One process at a time should use a data directory.
 */
export class LmdbStore implements Store {
  readonly kind = 'lmdb';
  readonly capabilities: StoreCapabilities;
  /** The data file, `<path>/data.mdb`. */
  readonly file: string;
  /** Written into `meta` when the data file is created, so it survives restarts on the same data. */
  readonly epoch: string;
  /** How many keys' record heads this store keeps in memory at most (`LmdbStoreOptions.cachedHeads`). */
  readonly cachedHeads: number;
  readonly #env: LmdbEnv;
  readonly #hub: WatchHub;
  /** Committed changes by revision, one live entry per key; updated as batches are acknowledged. */
  readonly #log: RevisionLog;
  readonly #inputDefaults: InputDefaults;
  readonly #retention: ResolvedRetention;
  readonly #heads: CommittedHeads;
  readonly #sync: boolean;
  /** Batches in transaction order; settled ones leave from the front, so watchers see revision order. */
  readonly #inFlight: Batch[] = [];
  #openBatch: Batch | undefined;
  #lastCommit: Promise<unknown> = Promise.resolve();
  #committedRevision: number;
  #compactedRevision: number;
  /** Raised as soon as a compaction decides, before it commits, so a new watch resyncs rather than miss a delete. */
  #compactingRevision = 0;
  #closed = false;
  #closing: Promise<void> | undefined;

  /** Use `openLmdbStore`. */
  constructor(
    env: LmdbEnv,
    log: RevisionLog,
    sync: boolean,
    inputDefaults: InputDefaults,
    retention: ResolvedRetention,
    cachedHeads: number,
  ) {
    this.#heads = new CommittedHeads(cachedHeads);
    this.cachedHeads = cachedHeads;
    this.#sync = sync;
    this.#env = env;
    this.#log = log;
    this.file = env.file;
    this.epoch = env.epoch;
    this.capabilities = { durable: true, syncedToDisk: sync, replicated: false };
    this.#inputDefaults = inputDefaults;
    this.#retention = retention;
    this.#committedRevision = env.meta.get('revision') ?? 0;
    this.#compactedRevision = env.meta.get('compacted') ?? 0;
    this.#hub = new WatchHub({
      readIndex: (after, maxEntries, matches) => this.#readIndex(after, maxEntries, matches),
      readKey: (key) => this.#read(key),
      committedRevision: () => this.#committedRevision,
      compactedRevision: () => Math.max(this.#compactedRevision, this.#compactingRevision),
    });
  }

  put(input: SnapshotInput, options?: PutOptions): Promise<PutOutcome> {
    return promisePut((receiver, settlers) => this.putTo(input, options, receiver, settlers));
  }

  /** Calls `receiver` once the put's transaction has committed (or failed). */
  putTo<C>(
    input: SnapshotInput,
    options: PutOptions | undefined,
    receiver: PutReceiver<C>,
    context: C,
  ): void {
    let prepared: PreparedPut;
    try {
      this.#checkOpen();
      prepared = preparePut(input, options, this.#inputDefaults);
    } catch (err) {
      receiver.putFailed(err, context);
      return;
    }
    this.#enqueue({ prepared, receiver: receiver as PutReceiver<unknown>, context });
  }

  async get(key: string): Promise<StoredSnapshot | undefined> {
    this.#checkOpen();
    return this.#read(validateKey(key));
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    this.#checkOpen();
    validatePrefix(prefix);
    const limit = validateListLimit(options.limit);
    const after = options.cursor === undefined ? undefined : decodeListCursor(options.cursor, prefix);
    try {
      return this.#listFrom(prefix, after, limit, options.includeDeleted ?? false);
    } catch (err) {
      throw storeError(this.file, err);
    }
  }

  #listFrom(prefix: string, after: string | undefined, limit: number, includeDeleted: boolean): ListPage {
    const items: StoredSnapshot[] = [];
    let more = false;
    for (const { key, value } of this.#env.snapshots.getRange({ start: after ?? prefix })) {
      if (key === after) continue;
      if (!key.startsWith(prefix)) break;
      const record = decodeRecord(value, key, this.file);
      if (record.deleted && !includeDeleted) continue;
      if (items.length === limit) {
        more = true;
        break;
      }
      items.push(recordToSnapshot(key, record, this.file));
    }
    return more ? { items, cursor: encodeListCursor(items[items.length - 1]!.key) } : { items };
  }

  watch(pattern: string, options?: WatchOptions): Watch {
    this.#checkOpen();
    return this.#hub.open(pattern, options);
  }

  async compact(retention?: RetentionPolicy): Promise<CompactOutcome> {
    this.#checkOpen();
    const policy = resolveRetention(retention, this.#retention);
    let decision: CompactDecision;
    try {
      decision = await this.#env.root.childTransaction(() => {
        // Decided on the main thread inside the transaction: the floor is read at the same moment.
        const decided = compactInTransaction(
          this.#env,
          policy,
          this.#inputDefaults.clock(),
          this.#hub.backlogFloor(),
        );
        this.#compactingRevision = Math.max(this.#compactingRevision, decided.outcome.compactedRevision);
        // Before any later put decides: those keys now have no record.
        for (const { key } of decided.removed) this.#heads.forget(key);
        return decided;
      });
    } catch (err) {
      throw storeError(this.file, err);
    }
    const { outcome, removed } = decision;
    for (const { key, revision } of removed) this.#log.remove(key, revision);
    this.#compactedRevision = Math.max(this.#compactedRevision, outcome.compactedRevision);
    return outcome;
  }

  currentRevision(): number {
    this.#checkOpen();
    return this.#committedRevision;
  }

  /** Waits for puts in flight to be acknowledged, ends watches, flushes and closes the file. */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#closed = true;
      this.#closing = (async () => {
        await this.#lastCommit.catch(() => {});
        this.#hub.close();
        await closeLmdbEnv(this.#env);
      })();
    }
    return this.#closing;
  }

  #checkOpen(): void {
    if (this.#closed) throw new SbmpError('closed', `the store at ${this.file} is closed`);
  }

  #read(key: string): StoredSnapshot | undefined {
    const bytes = this.#env.snapshots.get(key);
    return bytes === undefined
      ? undefined
      : recordToSnapshot(key, decodeRecord(bytes, key, this.file), this.file);
  }

  #enqueue(put: PendingPut): void {
    let batch = this.#openBatch;
    if (batch === undefined || batch.puts.length >= MAX_BATCH) {
      const created: Batch = { puts: [], revision: 0, settled: false };
      batch = created;
      this.#openBatch = created;
      this.#inFlight.push(created);
      this.#lastCommit = this.#sync ? this.#commitInWriterThread(created) : this.#commitAfterTurn(created);
    }
    batch.puts.push(put);
  }

  /**
   * Applies and commits `batch` on the main thread once the turn's I/O has been read
   * (`setImmediate`), so a put's acknowledgement waits for no hand-over to lmdb-js's writer
   * thread and back: without a flush to disk the commit itself is short. Against a child of
   * lmdb-js's asynchronous transaction (interleaved `npm run bench -- durable` runs), puts one at
   * a time went from 10,900 to 35,000/s, and 256 in flight from 153,000-156,000 to 178,000/s.
   */
  #commitAfterTurn(batch: Batch): Promise<void> {
    return new Promise((resolve) => {
      setImmediate(() => {
        let failure: unknown;
        try {
          // If anything native fails mid-batch, the transaction aborts: none of its writes commit.
          this.#env.root.transactionSync(() => this.#applyBatch(batch));
        } catch (err) {
          failure = err;
        }
        this.#settle(batch, failure);
        resolve();
      });
    });
  }

  /** With `sync`, the flush to disk stays off the main thread: the batch is a child of lmdb-js's next write transaction. */
  #commitInWriterThread(batch: Batch): Promise<void> {
    // A child transaction: if anything native fails mid-batch, none of its writes commit.
    const committed = this.#env.root.childTransaction(() => this.#applyBatch(batch));
    return committed.then(
      () => this.#settle(batch, undefined),
      (err: unknown) => this.#settle(batch, err),
    );
  }

  /** Runs inside the write transaction; the batch takes no more puts from here on. */
  #applyBatch(batch: Batch): void {
    if (this.#openBatch === batch) this.#openBatch = undefined;
    batch.revision = applyPutsInTransaction(this.#env, batch.puts, {
      heads: this.#heads,
      committedRevision: this.#committedRevision,
      storedAt: this.#inputDefaults.clock(),
    });
  }

  #settle(batch: Batch, failure: unknown): void {
    batch.settled = true;
    batch.failure = failure;
    while (this.#inFlight.length > 0 && this.#inFlight[0]!.settled) {
      const done = this.#inFlight.shift()!;
      if (done.failure === undefined) this.#acknowledge(done);
      else this.#fail(done);
    }
  }

  #acknowledge(batch: Batch): void {
    this.#committedRevision = Math.max(this.#committedRevision, batch.revision);
    for (const put of batch.puts) {
      const applied = put.applied;
      if (applied === undefined) continue;
      this.#log.append(applied.key, applied.revision);
      this.#heads.committed(applied.key, applied.version, applied.revision, applied.deleted === true);
      this.#hub.publish(freezeSnapshot(applied));
    }
    for (const put of batch.puts) tellReceiver(put, put.error);
  }

  #fail(batch: Batch): void {
    const error =
      batch.failure instanceof SbmpError
        ? batch.failure
        : new SbmpError('unavailable', `writing to ${this.file} failed: ${String(batch.failure)}`, {
            cause: batch.failure,
            details: { file: this.file },
          });
    for (const put of batch.puts) {
      if (put.applied !== undefined) this.#heads.failed(put.applied.key, put.applied.revision);
    }
    for (const put of batch.puts) tellReceiver(put, error);
  }

  /**
   * Reads the records of the index entries after `after`. The index holds acknowledged changes;
   * a record committed since (not yet acknowledged) has a newer revision than its entry and is
   * skipped here: the hub delivers it when its batch is acknowledged, above this read's end.
   */
  #readIndex(after: number, maxEntries: number, matches: (key: string) => boolean): IndexPage {
    const { root, snapshots } = this.#env;
    const transaction = root.useReadTransaction();
    try {
      const items: StoredSnapshot[] = [];
      const { scannedTo, end } = this.#log.scan(after, maxEntries, (key, revision) => {
        if (!matches(key)) return;
        const bytes = snapshots.get(key, { transaction });
        if (bytes === undefined) return;
        const record = decodeRecord(bytes, key, this.file);
        if (record.revision === revision) items.push(recordToSnapshot(key, record, this.file));
      });
      return { items, scannedTo: end ? Math.max(scannedTo, this.#committedRevision) : scannedTo, end };
    } catch (err) {
      throw storeError(this.file, err);
    } finally {
      transaction.done();
    }
  }
}

/**
 * Hands one put of a settled batch its outcome, or `error`. A receiver that throws must not
 * keep the rest of the batch from hearing of theirs: its error is rethrown on its own, as a
 * throwing promise reaction would have surfaced as an unhandled rejection.
 */
function tellReceiver(put: PendingPut, error: unknown): void {
  try {
    if (error !== undefined) put.receiver.putFailed(error, put.context);
    else put.receiver.putDone(put.outcome!, put.context);
  } catch (err) {
    queueMicrotask(() => {
      throw err;
    });
  }
}
