import type { LmdbEnv } from './lmdb-env.js';
import { corrupt, storedEntries } from './lmdb-env.js';
import { readRecordHead } from './lmdb-record.js';
import { RevisionLog } from './revision-log.js';

/**
 * Rebuilds the revision index of an LMDB store from its records, at open: every record carries
 * its revision, so the index needs no writes of its own (one write per put instead of three).
 * Reads every record once; a record beyond the revision counter, two records at one revision,
 * or fewer records readable than LMDB counts, is `corrupt_store` naming the file. Costs about
 * 100 bytes of memory per key (docs/STORAGE.md gives the measured open time).
 */
export function loadRevisionLog(env: LmdbEnv, counter: number): RevisionLog {
  const { snapshots, file } = env;
  const keys: string[] = [];
  const revisions: number[] = [];
  let skipped = 0;
  for (const { key, value } of snapshots.getRange({})) {
    let revision: number;
    try {
      revision = readRecordHead(value, key, file).revision;
    } catch {
      skipped++;
      // A damaged record stays out of the index and fails every read and put of its key with
      // `corrupt_store`, as before; the other keys stay usable (`verify: 'full'` reports it).
      continue;
    }
    if (!Number.isSafeInteger(revision) || revision < 1 || revision > counter) {
      throw corrupt(
        file,
        `has '${key}' at revision ${revision}, outside 1..${counter} (its revision counter)`,
      );
    }
    keys.push(key);
    revisions.push(revision);
  }
  // A damaged branch page can end a scan early without an error; LMDB's own count tells.
  const stored = storedEntries(snapshots);
  if (keys.length + skipped !== stored) {
    throw corrupt(file, `holds ${stored} records, but only ${keys.length + skipped} can be read`);
  }
  const order = Uint32Array.from(keys, (_, i) => i).sort((a, b) => revisions[a]! - revisions[b]!);
  const log = new RevisionLog();
  for (let j = 0; j < order.length; j++) {
    const i = order[j]!;
    const revision = revisions[i]!;
    if (j > 0 && revisions[order[j - 1]!] === revision) {
      const other = keys[order[j - 1]!];
      throw corrupt(file, `has two records at revision ${revision} ('${other}' and '${keys[i]}')`);
    }
    log.append(keys[i]!, revision);
  }
  return log;
}
