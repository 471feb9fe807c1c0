import type { LmdbEnv } from './lmdb-env.js';
import { decodeRecord } from './lmdb-record.js';
import type { ResolvedRetention } from './retention.js';
import { tombstoneExpired } from './retention.js';
import type { CompactOutcome } from './types.js';

/** What a compaction decided: the outcome, and the tombstones removed (for the in-memory index). */
export interface CompactDecision {
  readonly outcome: CompactOutcome;
  readonly removed: readonly { readonly key: string; readonly revision: number }[];
}

/**
 * Inside a write transaction: removes tombstones past `policy` at time `now`, with their index
 * entries, and raises the compacted revision. Tombstones above `floor` stay whatever their age:
 * a watch still reading its backlog has not reached them yet. A stale tombstone index entry
 * (its key rewritten since) is dropped too.
 */
export function compactInTransaction(
  env: LmdbEnv,
  policy: ResolvedRetention,
  now: number,
  floor: number,
): CompactDecision {
  const { snapshots, tombstones, meta, file } = env;
  const current = meta.get('revision') ?? 0;
  let compacted = meta.get('compacted') ?? 0;
  const expired: { revision: number; key: string }[] = [];
  for (const { key: revision, value: key } of tombstones.getRange(
    floor === Infinity ? {} : { end: floor + 1 },
  )) {
    const bytes = snapshots.get(key);
    const record = bytes === undefined ? undefined : decodeRecord(bytes, key, file);
    if (record === undefined || record.revision !== revision || !record.deleted) {
      expired.push({ revision, key: '' });
      continue;
    }
    if (tombstoneExpired(record.storedAt, revision, now, current, policy)) expired.push({ revision, key });
  }
  const removed: { key: string; revision: number }[] = [];
  for (const entry of expired) {
    tombstones.removeSync(entry.revision);
    if (entry.key === '') continue;
    snapshots.removeSync(entry.key);
    compacted = Math.max(compacted, entry.revision);
    removed.push(entry);
  }
  meta.putSync('compacted', compacted);
  return {
    outcome: {
      removedTombstones: removed.length,
      removedRevisions: removed.length,
      compactedRevision: compacted,
    },
    removed,
  };
}
