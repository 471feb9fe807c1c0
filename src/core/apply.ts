import type { Snapshot } from './snapshot.js';
import { sameContent } from './snapshot.js';

/**
 * The outcome of applying a snapshot. These are values, not exceptions:
 *
 * | incoming vs current                  | result      |
 * |--------------------------------------|-------------|
 * | no current, or version > current     | `applied`   |
 * | equal version, same content          | `duplicate` |
 * | equal version, different content     | `conflict`  |
 * | version < current                    | `stale`     |
 * | `ifVersion: n` and current != n      | `conflict`  |
 */
export type ApplyResult = 'applied' | 'duplicate' | 'conflict' | 'stale';

export interface ApplyOptions {
  /**
   * Compare-and-set: apply only when the current version is exactly this.
   * `0` means "only if the key has never been written".
   */
  ifVersion?: number;
}

/**
 * Decides what applying `incoming` over `current` does. Pure: no allocation, no I/O.
 * `compareContent` lets a store compare encoded bytes instead of decoded states.
 */
export function decideApply(
  current: Snapshot | undefined,
  incoming: Snapshot,
  options?: ApplyOptions,
  compareContent: (a: Snapshot, b: Snapshot) => boolean = sameContent,
): ApplyResult {
  const currentVersion = current === undefined ? 0 : current.version;
  const ifVersion = options?.ifVersion;
  if (ifVersion !== undefined && ifVersion !== currentVersion) return 'conflict';
  if (current === undefined || incoming.version > currentVersion) return 'applied';
  if (incoming.version < currentVersion) return 'stale';
  return compareContent(current, incoming) ? 'duplicate' : 'conflict';
}
