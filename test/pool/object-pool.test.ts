import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isSbmpError } from '../../src/core/errors.js';
import {
  DEFAULT_OBJECT_POOL_MAX_SIZE,
  ObjectPool,
  type ObjectPoolOptions,
} from '../../src/pool/object-pool.js';
import { PoolRegistry } from '../../src/pool/registry.js';

const NAME = 'sbmp.test.items.v1';

/** Asserts the code and, when given, `details.reason`. */
function throwsCode(fn: () => unknown, code: string, reason?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isSbmpError(err), `expected SbmpError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (reason !== undefined) assert.equal(err.details?.reason, reason);
    return true;
  });
}

interface Item {
  readonly id: number;
  dirty: boolean;
  payload: number[];
}

type Mode = 'production' | 'proxy' | 'track';
const MODES: readonly Mode[] = ['production', 'proxy', 'track'];

/** A pool of `Item`s in its own registry, GC aging off so only the test moves generations. */
function itemPool(mode: Mode, extra: Partial<ObjectPoolOptions<Item>> = {}): ObjectPool<Item> {
  const registry = new PoolRegistry();
  registry.registerPool({ name: NAME });
  let nextId = 0;
  return new ObjectPool<Item>({
    name: NAME,
    registry,
    create: () => ({ id: nextId++, dirty: false, payload: [] }),
    reset: (item) => {
      item.dirty = false;
      item.payload.length = 0;
    },
    debug: mode !== 'production',
    guard: mode === 'track' ? 'track' : 'proxy',
    gcAging: false,
    ...extra,
  });
}

/** Random pool operations: get, put the held item at an index, or one aging step. */
type Op = { kind: 'get' } | { kind: 'put'; index: number } | { kind: 'age' };
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.constant<Op>({ kind: 'get' }) },
  { weight: 5, arbitrary: fc.nat(1000).map<Op>((index) => ({ kind: 'put', index })) },
  { weight: 1, arbitrary: fc.constant<Op>({ kind: 'age' }) },
);

describe('ObjectPool: reset before reuse', () => {
  for (const mode of MODES) {
    it(`every item get() returns is clean, for random get/put/age sequences (${mode})`, () => {
      fc.assert(
        fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
          const pool = itemPool(mode);
          const held: Item[] = [];
          for (const o of ops) {
            if (o.kind === 'get') {
              const item = pool.get();
              assert.equal(item.dirty, false, `item ${item.id} handed out without reset`);
              assert.equal(item.payload.length, 0);
              item.dirty = true;
              item.payload.push(item.id, 1, 2);
              held.push(item);
            } else if (o.kind === 'put') {
              if (held.length === 0) continue;
              const [item] = held.splice(o.index % held.length, 1);
              pool.put(item!);
            } else {
              pool.age();
            }
          }
          const { reuses } = pool.stats();
          pool.close();
          return reuses >= 0;
        }),
        { numRuns: 150 },
      );
    });
  }

  it('does not pool an item whose reset throws, and propagates the error', () => {
    const registry = new PoolRegistry();
    registry.registerPool({ name: NAME });
    const failure = new Error('reset failed');
    const pool = new ObjectPool<{ bad: boolean }>({
      name: NAME,
      registry,
      create: () => ({ bad: false }),
      reset: (item) => {
        if (item.bad) throw failure;
      },
      debug: false,
      gcAging: false,
    });
    const item = pool.get();
    item.bad = true;
    assert.throws(
      () => pool.put(item),
      (err) => err === failure,
    );
    assert.equal(pool.stats().liveItems, 0);
    assert.notEqual(pool.get(), item);
  });
});

interface Model {
  primary: Array<{ id: number; stamp: number }>;
  victim: Array<{ id: number; stamp: number }>;
  hits: number;
  victimHits: number;
  misses: number;
  puts: number;
  overflow: number;
  dropped: number;
}

describe('ObjectPool: counters', () => {
  it('match a model exactly for random sequences, including LIFO order, maxSize and ages', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(op, fc.integer({ min: 0, max: 50 })), { maxLength: 100 }),
        fc.integer({ min: 0, max: 6 }),
        (steps, maxSize) => {
          let clock = 1000;
          const pool = itemPool('production', { maxSize, now: () => clock });
          const model: Model = {
            primary: [],
            victim: [],
            hits: 0,
            victimHits: 0,
            misses: 0,
            puts: 0,
            overflow: 0,
            dropped: 0,
          };
          const held: Item[] = [];
          let created = 0;
          for (const [o, dt] of steps) {
            clock += dt;
            if (o.kind === 'get') {
              const fromPrimary = model.primary.pop();
              const fromVictim = fromPrimary === undefined ? model.victim.pop() : undefined;
              const item = pool.get();
              if (fromPrimary !== undefined) {
                model.hits++;
                assert.equal(item.id, fromPrimary.id);
              } else if (fromVictim !== undefined) {
                model.victimHits++;
                assert.equal(item.id, fromVictim.id);
              } else {
                model.misses++;
                assert.equal(item.id, created++);
              }
              held.push(item);
            } else if (o.kind === 'put') {
              if (held.length === 0) continue;
              const [item] = held.splice(o.index % held.length, 1);
              pool.put(item!);
              model.puts++;
              if (model.primary.length + model.victim.length >= maxSize) model.overflow++;
              else model.primary.push({ id: item!.id, stamp: clock });
            } else {
              pool.age();
              model.dropped += model.victim.length;
              model.victim = model.primary;
              model.primary = [];
            }
            const live = [...model.primary, ...model.victim];
            const meanAge =
              live.length === 0 ? 0 : live.reduce((sum, e) => sum + (clock - e.stamp), 0) / live.length;
            const stats = pool.stats();
            assert.deepEqual(
              { ...stats, meanItemAgeMs: 0 },
              {
                name: NAME,
                hits: model.hits,
                victimHits: model.victimHits,
                reuses: model.hits + model.victimHits,
                misses: model.misses,
                allocations: model.misses,
                puts: model.puts,
                overflow: model.overflow,
                dropped: model.dropped,
                oversize: 0,
                liveItems: live.length,
                liveBytes: 0,
                meanItemAgeMs: 0,
              },
            );
            assert.ok(Math.abs(stats.meanItemAgeMs - meanAge) < 1e-9, `${stats.meanItemAgeMs} vs ${meanAge}`);
          }
          pool.close();
          assert.equal(pool.stats().dropped, model.dropped + model.primary.length + model.victim.length);
          assert.equal(pool.stats().liveItems, 0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it(`keeps at most ${DEFAULT_OBJECT_POOL_MAX_SIZE} items by default`, () => {
    const pool = itemPool('production');
    const items = Array.from({ length: DEFAULT_OBJECT_POOL_MAX_SIZE + 5 }, () => pool.get());
    for (const item of items) pool.put(item);
    assert.equal(pool.stats().liveItems, DEFAULT_OBJECT_POOL_MAX_SIZE);
    assert.equal(pool.stats().overflow, 5);
    pool.close();
  });
});

describe('ObjectPool: debug mode', () => {
  for (const mode of ['proxy', 'track'] as const) {
    it(`detects a double put (${mode})`, () => {
      const pool = itemPool(mode);
      const item = pool.get();
      pool.put(item);
      throwsCode(() => pool.put(item), 'pool_misuse', 'double_put');
      assert.equal(pool.stats().liveItems, 1, 'the second put did not pool the item twice');
      const again = pool.get();
      if (mode === 'proxy') {
        // A new lease: the stale handle stays dead even though its item is out again.
        throwsCode(() => pool.put(item), 'pool_misuse', 'double_put');
      } else {
        // 'track' hands out the item itself, so a stale reference is the current one.
        assert.equal(again, item);
      }
      pool.put(again);
      pool.close();
    });

    it(`refuses an item it did not hand out (${mode})`, () => {
      const pool = itemPool(mode);
      throwsCode(() => pool.put({ id: -1, dirty: false, payload: [] }), 'pool_misuse', 'not_from_pool');
      throwsCode(
        () => pool.assertOwned({ id: -1, dirty: false, payload: [] }),
        'pool_misuse',
        'not_from_pool',
      );
      pool.close();
    });

    it(`assertOwned passes while held and throws after put (${mode})`, () => {
      const pool = itemPool(mode);
      const item = pool.get();
      pool.assertOwned(item);
      pool.put(item);
      throwsCode(() => pool.assertOwned(item), 'pool_misuse', 'use_after_put');
      pool.close();
    });
  }

  it('proxy guard: any use of an item after put throws use_after_put', () => {
    const pool = itemPool('proxy');
    const item = pool.get();
    item.payload.push(1);
    const stale = item;
    pool.put(item);
    const uses: Array<() => unknown> = [
      () => stale.id,
      () => {
        stale.dirty = true;
      },
      () => 'dirty' in stale,
      () => Object.keys(stale),
      () => delete (stale as { payload?: unknown }).payload,
      () => Object.getPrototypeOf(stale),
      () => JSON.stringify(stale),
    ];
    for (const use of uses) throwsCode(use, 'pool_misuse', 'use_after_put');
    const next = pool.get();
    assert.equal(next.dirty, false);
    assert.equal(next.payload.length, 0);
    pool.put(next);
    pool.close();
  });

  it('proxy guard: works for classes with #private fields, Maps and fluent methods', () => {
    class Counter {
      #count = 0;
      bump(): this {
        this.#count++;
        return this;
      }
      get count(): number {
        return this.#count;
      }
      clear(): void {
        this.#count = 0;
      }
    }
    const registry = new PoolRegistry();
    registry.registerPool({ name: 'sbmp.test.counters.v1' });
    registry.registerPool({ name: 'sbmp.test.maps.v1' });
    const counters = new ObjectPool({
      name: 'sbmp.test.counters.v1',
      registry,
      create: () => new Counter(),
      reset: (c) => c.clear(),
      debug: true,
      gcAging: false,
    });
    const counter = counters.get();
    assert.equal(counter.bump().bump().count, 2);
    assert.equal(counter.bump(), counter, 'a method returning this returns the guarded item');
    assert.ok(counter instanceof Counter);
    assert.equal(counter.constructor, Counter);
    const bump = counter.bump;
    counters.put(counter);
    throwsCode(() => counter.count, 'pool_misuse', 'use_after_put');
    throwsCode(() => bump.call(counter), 'pool_misuse', 'use_after_put');
    assert.equal(counters.get().count, 0);

    const maps = new ObjectPool({
      name: 'sbmp.test.maps.v1',
      registry,
      create: () => new Map<string, number>(),
      reset: (m) => m.clear(),
      debug: true,
      gcAging: false,
    });
    const map = maps.get();
    map.set('a', 1);
    assert.equal(map.get('a'), 1);
    assert.equal(map.size, 1);
    assert.deepEqual([...map], [['a', 1]]);
    maps.put(map);
    throwsCode(() => map.get('a'), 'pool_misuse', 'use_after_put');
    assert.equal(maps.get().size, 0);
    counters.close();
    maps.close();
  });

  it('production mode hands out the items themselves and checks nothing', () => {
    const pool = itemPool('production');
    const item = pool.get();
    pool.put(item);
    assert.equal(pool.get(), item, 'same object, no proxy');
    pool.assertOwned({ id: -1, dirty: false, payload: [] });
    pool.close();
  });
});

describe('ObjectPool: options and lifecycle', () => {
  const registry = new PoolRegistry();
  registry.registerPool({ name: NAME });

  it('refuses a missing reset or create, a bad maxSize or guard with bad_config', () => {
    const create = () => ({ n: 0 });
    const reset = (o: { n: number }) => {
      o.n = 0;
    };
    // @ts-expect-error reset is required by the type as well
    throwsCode(() => new ObjectPool({ name: NAME, registry, create }), 'bad_config');
    // @ts-expect-error create is required by the type as well
    throwsCode(() => new ObjectPool({ name: NAME, registry, reset }), 'bad_config');
    for (const maxSize of [-1, 1.5, Number.NaN, 2 ** 25]) {
      throwsCode(() => new ObjectPool({ name: NAME, registry, create, reset, maxSize }), 'bad_config');
    }
    // @ts-expect-error only 'proxy' and 'track' exist
    throwsCode(() => new ObjectPool({ name: NAME, registry, create, reset, guard: 'poison' }), 'bad_config');
    // None of the refused constructions bound the name.
    new ObjectPool({ name: NAME, registry, create, reset, gcAging: false }).close();
  });

  it('after close(), get throws pool_misuse and put discards', () => {
    const pool = itemPool('proxy');
    const held = pool.get();
    pool.put(pool.get());
    pool.close();
    assert.ok(pool.closed);
    assert.equal(pool.stats().dropped, 1);
    throwsCode(() => pool.get(), 'pool_misuse', 'closed');
    pool.put(held);
    assert.equal(pool.stats().liveItems, 0);
    pool.close();
  });
});
