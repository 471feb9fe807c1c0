import type { LmdbEnv } from './lmdb-env.js';
import { decodeRecord } from './lmdb-record.js';
import type { ResolvedRetention } from './retention.js';
import { tombstoneExpired } from './retention.js';
import type { CompactOutcome } from './types.js';

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
): CompactOutcome {
  const { snapshots, revisions, tombstones, meta, file } = env;
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
  let removed = 0;
  for (const { revision, key } of expired) {
    tombstones.removeSync(revision);
    if (key === '') continue;
    snapshots.removeSync(key);
    revisions.removeSync(revision);
    compacted = Math.max(compacted, revision);
    removed++;
  }
  meta.putSync('compacted', compacted);
  return { removedTombstones: removed, removedRevisions: removed, compactedRevision: compacted };
}
