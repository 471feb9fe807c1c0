/**
 * What every pool reports. All counters start at 0 when the pool is constructed and only grow;
 * `liveItems` and `meanItemAgeMs` describe the pool right now. Plain data, safe to serialize.
 *
 * Invariants (tested against a model):
 *   gets        = reuses + misses            (BufferPool: + oversize)
 *   reuses      = hits + victimHits
 *   allocations = misses                     (BufferPool: + oversize)
 *   liveItems   = puts - overflow - reuses - dropped   (while the pool is open)
 */
export interface PoolStats {
  readonly name: string;
  /** Gets served by an item from the primary (youngest) generation. */
  readonly hits: number;
  /** Gets served by an item from the victim generation: it had survived one major GC. */
  readonly victimHits: number;
  /** Gets served by a pooled item of either generation (`hits + victimHits`). */
  readonly reuses: number;
  /** Gets that found the pool empty and had to allocate. */
  readonly misses: number;
  /** Items created: `create()` calls, or buffers allocated. */
  readonly allocations: number;
  /** Items given back with `put`/`release` (including ones then discarded as overflow). */
  readonly puts: number;
  /** Puts discarded because the pool was already holding its maximum. */
  readonly overflow: number;
  /** Items discarded by generation aging (unused through two major GCs) or by `close()`. */
  readonly dropped: number;
  /** Requests larger than the largest size class, allocated directly and never pooled. */
  readonly oversize: number;
  /** Items in the pool now, both generations. */
  readonly liveItems: number;
  /** Bytes held by pooled items now (BufferPool; 0 for object pools, whose sizes are unknown). */
  readonly liveBytes: number;
  /** Mean time the pooled items have spent in the pool, in ms; 0 when empty. */
  readonly meanItemAgeMs: number;
}

/** Anything a registry can ask for stats: every pool. */
export interface PoolStatsSource {
  stats(): PoolStats;
}
