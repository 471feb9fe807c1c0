import type { Snapshot, StoredSnapshot } from '../core/snapshot.js';
import { sameState } from '../core/snapshot.js';
import type { LmdbEnv } from './lmdb-env.js';
import { storeError } from './lmdb-env.js';
import type { CommittedHeads } from './lmdb-heads.js';
import type { RecordHead, StoredRecord } from './lmdb-record.js';
import { decodeRecord, decodeRecordState, encodeRecordTransient, readRecordHead } from './lmdb-record.js';
import type { PutOutcome, PutReceiver } from './types.js';
import type { PreparedPut } from './validate.js';
import { decidePut, toStoredSnapshot } from './validate.js';

/** A put waiting for its write transaction, then for the commit. */
export interface PendingPut {
  readonly prepared: PreparedPut;
  readonly receiver: PutReceiver<unknown>;
  readonly context: unknown;
  outcome?: PutOutcome;
  error?: unknown;
  /** Set when applied: what watchers receive once the batch is committed. */
  applied?: StoredSnapshot;
}

/** What the apply step needs of the store beyond its files. */
export interface ApplyContext {
  readonly heads: CommittedHeads;
  /** The highest revision acknowledged so far: a record above it still waits for its commit. */
  readonly committedRevision: number;
  /** `storedAt` of the records written. */
  readonly storedAt: number;
}

/**
 * Decides and writes `puts` in order, inside the caller's write transaction, so each decision
 * sees every write before it and the revision counter advances atomically with the data.
 * A put refused by the rules, or whose current record is unreadable, gets its outcome or error
 * and writes nothing; a failing write throws (the caller's child transaction then aborts).
 * A key's head comes from `context.heads` when it has it, from its record otherwise; every
 * applied key is marked there as waiting for the commit. Returns the revision counter afterwards.
 */
export function applyPutsInTransaction(
  env: LmdbEnv,
  puts: readonly PendingPut[],
  context: ApplyContext,
): number {
  const { snapshots, tombstones, meta, file } = env;
  const { heads, storedAt } = context;
  let revision = meta.get('revision') ?? 0;
  for (const put of puts) {
    const { prepared } = put;
    let current: RecordHead | undefined;
    let decision: ReturnType<typeof decidePut>;
    try {
      const cached = heads.usable(prepared.key);
      const bytes = cached === undefined ? snapshots.get(prepared.key) : undefined;
      current = cached ?? (bytes === undefined ? undefined : readRecordHead(bytes, prepared.key, file));
      if (cached === undefined && current !== undefined) {
        heads.learned(prepared.key, current, context.committedRevision);
      }
      // Decided before the next read reuses `bytes`; the whole record is decoded (borrowing its
      // state) only for an equal version, read then if the head came from `heads`.
      decision = decidePut(current, prepared, (_current, incoming) =>
        sameRecordContent(
          bytes === undefined
            ? readWholeRecord(env, prepared.key)
            : decodeRecord(bytes, prepared.key, file, true),
          incoming,
          prepared,
          file,
        ),
      );
    } catch (err) {
      put.error = storeError(file, err);
      continue;
    }
    if (decision.result !== 'applied') {
      put.outcome = {
        result: decision.result,
        version: decision.version,
        revision: current?.revision ?? 0,
      };
      continue;
    }
    revision++;
    const record: StoredRecord = {
      version: decision.version,
      revision,
      ts: prepared.ts,
      source: prepared.source,
      deleted: prepared.deleted,
      contentType: prepared.contentType,
      trace: prepared.trace,
      storedAt,
      rawBytes: prepared.state instanceof Uint8Array,
      stateBytes: prepared.stateBytes,
    };
    snapshots.putSync(prepared.key, encodeRecordTransient(record));
    if (current?.deleted) tombstones.removeSync(current.revision);
    if (prepared.deleted) tombstones.putSync(revision, prepared.key);
    heads.applied(prepared.key, revision);
    put.outcome = { result: 'applied', version: decision.version, revision };
    put.applied = toStoredSnapshot(prepared, decision.version, revision);
  }
  meta.putSync('revision', revision);
  return revision;
}

/** The whole current record of `key`, which the transaction's heads say exists. */
function readWholeRecord(env: LmdbEnv, key: string): StoredRecord {
  const bytes = env.snapshots.get(key);
  if (bytes === undefined) throw new Error(`record '${key}' vanished from under its cached head`);
  return decodeRecord(bytes, key, env.file, true);
}

/**
 * Same content as `sameContent`, cheaply: equal encoded bytes are equal states; different
 * bytes may still be an equal state (object keys in another order), so then decode and compare.
 */
function sameRecordContent(
  current: StoredRecord,
  incoming: Snapshot,
  prepared: PreparedPut,
  file: string,
): boolean {
  if ((current.deleted ?? false) !== (incoming.deleted ?? false)) return false;
  if ((current.contentType ?? '') !== (incoming.contentType ?? '')) return false;
  if (current.rawBytes !== prepared.state instanceof Uint8Array) return false;
  if (Buffer.compare(current.stateBytes, prepared.stateBytes) === 0) return true;
  if (current.rawBytes) return false;
  return sameState(decodeRecordState(current, prepared.key, file), prepared.state);
}
