import { BufferPool, PoolRegistry } from '../../src/index.js';
import type { Figure } from '../lib/measure.js';
import { measureSyncRate } from '../lib/measure.js';
import type { Row } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';

/**
 * Buffers in flight: each step takes a fresh buffer into one of these slots and lets go of
 * the one it held (released, or left to the garbage collector), as an encoder's output
 * waits a little for the socket.
 */
const IN_FLIGHT = 16;
const POOL_NAME = 'sbmp.bench.bytes.v1';
const SIZES: readonly [label: string, bytes: number][] = [
  ['256 B', 256],
  ['4 KiB', 4 * 1024],
  ['64 KiB', 64 * 1024],
];
/** Shorter runs than the default: six subjects share the scenario's ~10 s. */
const RATE_OPTIONS = { batch: 256, runMs: 200, runs: 5, warmupMs: 150 } as const;

/** Writes the first and the last byte, as an encoder at least does, so the memory is touched. */
function touch(buffer: Buffer, i: number): void {
  buffer[0] = i;
  buffer[buffer.length - 1] = i;
}

function measurePool(pool: BufferPool, size: number): Figure {
  const slots: (Buffer | undefined)[] = new Array(IN_FLIGHT).fill(undefined);
  const figure = measureSyncRate((i) => {
    const slot = i & (IN_FLIGHT - 1);
    const previous = slots[slot];
    if (previous !== undefined) pool.release(previous);
    const buffer = pool.acquire(size);
    touch(buffer, i);
    slots[slot] = buffer;
  }, RATE_OPTIONS);
  for (const buffer of slots) if (buffer !== undefined) pool.release(buffer);
  return figure;
}

function measureAllocUnsafe(size: number): Figure {
  const slots: (Buffer | undefined)[] = new Array(IN_FLIGHT).fill(undefined);
  return measureSyncRate((i) => {
    const buffer = Buffer.allocUnsafe(size);
    touch(buffer, i);
    slots[i & (IN_FLIGHT - 1)] = buffer;
  }, RATE_OPTIONS);
}

/**
 * BufferPool acquire+release (production settings: default size classes, no misuse
 * detection, GC aging on) against Buffer.allocUnsafe, at 256 B (which Node slices from its
 * shared 8 KiB pool), 4 KiB and 64 KiB (each its own allocation), 16 buffers in flight.
 */
export const bufferPoolScenario: Scenario = {
  name: 'buffer-pool',
  description: 'BufferPool acquire+release vs Buffer.allocUnsafe at 256 B, 4 KiB, 64 KiB',
  async run(): Promise<Row[]> {
    const registry = new PoolRegistry();
    registry.registerPool({ name: POOL_NAME, description: 'benchmark encode buffers' });
    const pool = new BufferPool({ name: POOL_NAME, registry, debug: false });
    const rows: Row[] = [];
    try {
      for (const [label, size] of SIZES) {
        const metric = `buffers/s ${label}`;
        const pooled = measurePool(pool, size);
        const allocated = measureAllocUnsafe(size);
        rows.push(
          {
            scenario: 'buffer-pool',
            subject: 'sbmp BufferPool acquire+release',
            metric,
            unit: 'ops/s',
            figure: pooled,
            better: 'higher',
            baseline: 'Buffer.allocUnsafe',
          },
          {
            scenario: 'buffer-pool',
            subject: 'Buffer.allocUnsafe',
            metric,
            unit: 'ops/s',
            figure: allocated,
            better: 'higher',
          },
        );
      }
      if (pool.stats().reuses === 0) throw new Error('the pool never reused a buffer');
    } finally {
      pool.close();
    }
    return rows;
  },
};
