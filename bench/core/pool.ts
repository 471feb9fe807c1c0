import { ObjectPool, PoolRegistry } from '../../src/index.js';
import { measureSyncRate } from '../lib/measure.js';
import type { Row } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';

/**
 * Items in flight: each step takes a fresh item into one of these slots and lets go of the
 * one it held (put back, or left to the garbage collector), so items live a little while as
 * they do in a real pipeline, and the allocation cannot be optimised away.
 */
const IN_FLIGHT = 64;
const POOL_NAME = 'sbmp.bench.record.v1';

/** A ten-field record, the size of a decoded frame header or a delivery bookkeeping entry. */
interface MutableRecord {
  key: string;
  version: number;
  revision: number;
  ts: number;
  source: string;
  deleted: boolean;
  contentType: string;
  size: number;
  attempts: number;
  next: MutableRecord | null;
}

function emptyRecord(): MutableRecord {
  return {
    key: '',
    version: 0,
    revision: 0,
    ts: 0,
    source: '',
    deleted: false,
    contentType: '',
    size: 0,
    attempts: 0,
    next: null,
  };
}

function resetRecord(record: MutableRecord): void {
  record.key = '';
  record.version = 0;
  record.revision = 0;
  record.ts = 0;
  record.source = '';
  record.deleted = false;
  record.contentType = '';
  record.size = 0;
  record.attempts = 0;
  record.next = null;
}

/**
 * ObjectPool get+put (production settings: no misuse detection, GC aging on) against
 * allocating the same ten-field object literal, with 64 items in flight in both.
 */
export const poolScenario: Scenario = {
  name: 'pool',
  description: 'ObjectPool get+put vs allocating a ten-field object',
  async run(): Promise<Row[]> {
    const registry = new PoolRegistry();
    registry.registerPool({ name: POOL_NAME, description: 'benchmark records' });
    const pool = new ObjectPool<MutableRecord>({
      name: POOL_NAME,
      registry,
      create: emptyRecord,
      reset: resetRecord,
      debug: false,
    });
    const pooledSlots: (MutableRecord | undefined)[] = new Array(IN_FLIGHT).fill(undefined);
    const pooled = measureSyncRate((i) => {
      const slot = i & (IN_FLIGHT - 1);
      const previous = pooledSlots[slot];
      if (previous !== undefined) pool.put(previous);
      const record = pool.get();
      record.key = 'orders/eu/10042';
      record.version = i;
      record.revision = i;
      record.ts = i;
      record.source = 'bench';
      record.deleted = false;
      record.contentType = 'application/json';
      record.size = 128;
      record.attempts = 1;
      record.next = null;
      pooledSlots[slot] = record;
    });
    const stats = pool.stats();
    pool.close();
    if (stats.reuses === 0) throw new Error('the pool never reused an item');

    const allocatedSlots: (MutableRecord | undefined)[] = new Array(IN_FLIGHT).fill(undefined);
    const allocated = measureSyncRate((i) => {
      const slot = i & (IN_FLIGHT - 1);
      allocatedSlots[slot] = {
        key: 'orders/eu/10042',
        version: i,
        revision: i,
        ts: i,
        source: 'bench',
        deleted: false,
        contentType: 'application/json',
        size: 128,
        attempts: 1,
        next: null,
      };
    });

    return [
      {
        scenario: 'pool',
        subject: 'sbmp ObjectPool get+put',
        metric: 'objects/s',
        unit: 'ops/s',
        figure: pooled,
        better: 'higher',
        baseline: 'object literal {...10 fields}',
      },
      {
        scenario: 'pool',
        subject: 'object literal {...10 fields}',
        metric: 'objects/s',
        unit: 'ops/s',
        figure: allocated,
        better: 'higher',
      },
    ];
  },
};
