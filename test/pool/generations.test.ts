import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { BufferPool } from '../../src/pool/buffer-pool.js';
import { agingSubscriberCount, majorGcCount, onMajorGc } from '../../src/pool/generations.js';
import { ObjectPool } from '../../src/pool/object-pool.js';
import { PoolRegistry } from '../../src/pool/registry.js';

// `npm test` runs without --expose-gc; the flag can still be set at run time, and a new
// context created afterwards gets the `gc` function.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const WAIT_MS = 10_000;

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`)), WAIT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Runs one full GC and waits until the pools' observer has handled its notification (the
 * 'gc' entries arrive asynchronously). Returns how many major GCs the observer saw meanwhile.
 */
async function majorGc(): Promise<number> {
  const before = majorGcCount();
  let unsubscribe = (): void => {};
  const seen = new Promise<number>((resolve) => {
    unsubscribe = onMajorGc((count) => resolve(count));
  });
  gc();
  try {
    return (await withTimeout(seen, 'the major GC notification')) - before;
  } finally {
    unsubscribe();
  }
}

interface Item {
  value: number;
}

function registryWith(...names: string[]): PoolRegistry {
  const registry = new PoolRegistry();
  for (const name of names) registry.registerPool({ name });
  return registry;
}

function itemPool(registry: PoolRegistry, gcAging: boolean): ObjectPool<Item> {
  return new ObjectPool<Item>({
    name: 'sbmp.test.items.v1',
    registry,
    create: () => ({ value: 0 }),
    reset: (item) => {
      item.value = 0;
    },
    debug: false,
    gcAging,
  });
}

/** Gets `n` fresh items, puts them back, and returns weak references to them. */
function fill(pool: ObjectPool<Item>, n: number): WeakRef<Item>[] {
  const items = Array.from({ length: n }, () => pool.get());
  for (const item of items) pool.put(item);
  return items.map((item) => new WeakRef(item));
}

describe('generations: the aging logic (manual age())', () => {
  it('an item survives one step as a victim and is dropped after two', () => {
    const pool = itemPool(registryWith('sbmp.test.items.v1'), false);
    fill(pool, 3);
    pool.age();
    assert.equal(pool.stats().liveItems, 3);
    const victim = pool.get();
    assert.deepEqual([pool.stats().hits, pool.stats().victimHits, pool.stats().reuses], [0, 1, 1]);
    pool.put(victim); // back into the primary generation
    pool.age();
    assert.equal(pool.stats().dropped, 2);
    assert.equal(pool.stats().liveItems, 1);
    pool.age();
    assert.equal(pool.stats().dropped, 3);
    assert.equal(pool.stats().liveItems, 0);
    assert.equal(pool.stats().meanItemAgeMs, 0);
    pool.get();
    assert.equal(pool.stats().misses, 4);
    pool.close();
  });

  it('the primary generation is preferred over the victim one', () => {
    const pool = itemPool(registryWith('sbmp.test.items.v1'), false);
    const old = pool.get();
    pool.put(old);
    pool.age();
    const young = pool.get();
    assert.equal(young, old, 'the only item, taken from the victims');
    const fresh = pool.get();
    pool.put(fresh);
    pool.put(young);
    pool.age();
    const extra = pool.get();
    pool.put(extra);
    assert.equal(pool.get(), extra);
    assert.equal(pool.stats().hits, 1);
    pool.close();
  });

  it('a BufferPool ages every size class', () => {
    const pool = new BufferPool({
      name: 'sbmp.test.bytes.v1',
      registry: registryWith('sbmp.test.bytes.v1'),
      gcAging: false,
      debug: false,
    });
    const bufs = [10, 100, 1000].map((n) => pool.acquire(n));
    for (const buf of bufs) pool.release(buf);
    pool.age();
    assert.equal(pool.stats().liveItems, 3);
    pool.age();
    assert.equal(pool.stats().liveItems, 0);
    assert.equal(pool.stats().dropped, 3);
    pool.close();
  });
});

describe('generations: real major GCs', () => {
  it('pooled items survive one major GC as victims and are gone after two', async () => {
    const pool = itemPool(registryWith('sbmp.test.items.v1'), true);
    const refs = fill(pool, 3);
    assert.equal(await majorGc(), 1, 'exactly one major GC');
    let stats = pool.stats();
    assert.deepEqual([stats.liveItems, stats.dropped], [3, 0], 'all three survive the first major GC');
    {
      const victim = pool.get();
      assert.ok(
        refs.some((ref) => ref.deref() === victim),
        'a pooled item, not a new one',
      );
      assert.deepEqual([pool.stats().victimHits, pool.stats().reuses, pool.stats().misses], [1, 1, 3]);
      pool.put(victim);
    }
    assert.equal(await majorGc(), 1, 'exactly one major GC');
    stats = pool.stats();
    assert.deepEqual([stats.liveItems, stats.dropped], [1, 2], 'the two untouched items are dropped');
    assert.equal(await majorGc(), 1, 'exactly one major GC');
    stats = pool.stats();
    assert.deepEqual([stats.liveItems, stats.dropped], [0, 3], 'the re-pooled one follows two GCs later');
    // Nothing holds the dropped items any more: the next collection frees them.
    await majorGc();
    assert.deepEqual(
      refs.map((ref) => ref.deref()),
      [undefined, undefined, undefined],
      'the memory went back to the runtime',
    );
    pool.close();
  });

  it('a BufferPool gives its buffers back after two major GCs', async () => {
    const pool = new BufferPool({
      name: 'sbmp.test.bytes.v1',
      registry: registryWith('sbmp.test.bytes.v1'),
      debug: false,
    });
    const backing = (() => {
      const buffer = pool.acquire(4096);
      const ref = new WeakRef(buffer.buffer);
      pool.release(buffer);
      return ref;
    })();
    assert.equal(await majorGc(), 1);
    assert.equal(pool.stats().liveBytes, 4096);
    assert.equal(await majorGc(), 1);
    assert.equal(pool.stats().liveBytes, 0);
    assert.equal(pool.stats().dropped, 1);
    await majorGc();
    assert.equal(backing.deref(), undefined, 'the 4 KiB backing store was freed');
    pool.close();
  });

  it('a pool left without close() is not kept alive by the GC observer or its registry', async () => {
    const baseline = agingSubscriberCount();
    const registry = registryWith('sbmp.test.items.v1');
    let collected = false;
    let onCollected = (): void => {};
    const finalized = new Promise<void>((resolve) => {
      onCollected = resolve;
    });
    const watcher = new FinalizationRegistry<string>(() => {
      collected = true;
      onCollected();
    });
    // Built in a nested function so no local variable of this test keeps the pool alive.
    (() => {
      const pool = itemPool(registry, true);
      fill(pool, 2);
      watcher.register(pool, 'pool');
    })();
    assert.equal(agingSubscriberCount(), baseline + 1);
    for (let i = 0; i < 20 && !collected; i++) {
      await majorGc();
      await withTimeout(
        Promise.race([finalized, new Promise((resolve) => setImmediate(resolve))]),
        'finalization',
      );
    }
    assert.ok(collected, 'the pool was garbage collected');
    assert.equal(registry.statsOf('sbmp.test.items.v1'), undefined);
    // The dead subscription is removed by the observer's own finalizer, which may run a tick later.
    for (let i = 0; i < 20 && agingSubscriberCount() !== baseline; i++) await majorGc();
    assert.equal(agingSubscriberCount(), baseline);
    // The name is free again for a new pool.
    itemPool(registry, true).close();
  });

  it('close() unsubscribes at once', () => {
    const baseline = agingSubscriberCount();
    const pool = itemPool(registryWith('sbmp.test.items.v1'), true);
    assert.equal(agingSubscriberCount(), baseline + 1);
    pool.close();
    assert.equal(agingSubscriberCount(), baseline);
  });
});
