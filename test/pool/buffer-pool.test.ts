import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isSbmpError } from '../../src/core/errors.js';
import { DEFAULT_ARENA_MAX_BYTES } from '../../src/pool/arena.js';
import {
  BufferPool,
  type BufferPoolOptions,
  DEBUG_FILL_BYTE,
  DEFAULT_BUFFER_CLASSES,
  DEFAULT_MAX_ACQUIRE_BYTES,
  DEFAULT_MAX_BYTES_PER_CLASS,
} from '../../src/pool/buffer-pool.js';
import { PoolRegistry } from '../../src/pool/registry.js';

const NAME = 'sbmp.test.bytes.v1';
const KiB = 1024;
const MiB = 1024 * KiB;

function throwsCode(fn: () => unknown, code: string, reason?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isSbmpError(err), `expected SbmpError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (reason !== undefined) assert.equal(err.details?.reason, reason);
    return true;
  });
}

function bufferPool(options: Partial<BufferPoolOptions> = {}): BufferPool {
  const registry = new PoolRegistry();
  registry.registerPool({ name: NAME });
  return new BufferPool({ name: NAME, registry, gcAging: false, debug: false, ...options });
}

describe('BufferPool: size classes', () => {
  it('defaults to 64 B .. 1 MiB in steps of 4, 4 MiB per class, 256 MiB per acquire', () => {
    assert.deepEqual(DEFAULT_BUFFER_CLASSES, [64, 256, KiB, 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, MiB]);
    assert.equal(DEFAULT_MAX_BYTES_PER_CLASS, 4 * MiB);
    assert.equal(DEFAULT_MAX_ACQUIRE_BYTES, 256 * MiB);
    const pool = bufferPool();
    assert.deepEqual(pool.classes, DEFAULT_BUFFER_CLASSES);
    assert.deepEqual(
      pool.classStats().map((c) => c.capacity),
      DEFAULT_BUFFER_CLASSES.map((size) => (4 * MiB) / size),
    );
    pool.close();
  });

  it('returns exactly n bytes backed by the smallest class that fits', () => {
    const pool = bufferPool();
    const cases: Array<[number, number]> = [
      [0, 64],
      [1, 64],
      [64, 64],
      [65, 256],
      [1000, KiB],
      [KiB, KiB],
      [KiB + 1, 4 * KiB],
      [MiB - 1, MiB],
      [MiB, MiB],
    ];
    for (const [n, size] of cases) {
      const buf = pool.acquire(n);
      assert.ok(Buffer.isBuffer(buf));
      assert.equal(buf.length, n);
      assert.equal(buf.byteOffset, 0);
      assert.equal(buf.buffer.byteLength, size, `acquire(${n})`);
      assert.equal(pool.footprint(n), size);
      pool.release(buf);
    }
    assert.equal(pool.stats().oversize, 0);
    pool.close();
  });

  it('reuses a released buffer of the same class (same memory, LIFO)', () => {
    const pool = bufferPool();
    const a = pool.acquire(100);
    const b = pool.acquire(200);
    pool.release(a);
    pool.release(b);
    const c = pool.acquire(250);
    assert.equal(c.buffer, b.buffer, 'the last released buffer comes back first');
    const d = pool.acquire(10);
    assert.notEqual(d.buffer, a.buffer, '64-byte class is a different class');
    const e = pool.acquire(256);
    assert.equal(e.buffer, a.buffer);
    const stats = pool.stats();
    assert.equal(stats.hits, 2);
    assert.equal(stats.misses, 3);
    assert.equal(stats.allocations, 3);
    pool.close();
  });

  it('allocates requests above the largest class directly, counts them, never pools them', () => {
    const pool = bufferPool({ classes: [64, 256] });
    const big = pool.acquire(257);
    assert.equal(big.length, 257);
    assert.equal(pool.footprint(257), 257);
    pool.release(big);
    const again = pool.acquire(257);
    assert.notEqual(again.buffer, big.buffer);
    pool.release(again);
    const stats = pool.stats();
    assert.equal(stats.oversize, 2);
    assert.equal(stats.allocations, 2);
    assert.equal(stats.misses, 0);
    assert.equal(stats.puts, 0);
    assert.equal(stats.liveItems, 0);
    pool.close();
  });

  it('keeps at most floor(maxBytesPerClass / size) buffers per class', () => {
    const pool = bufferPool({ classes: [64, 128, 1024], maxBytesPerClass: 256 });
    assert.deepEqual(
      pool.classStats().map((c) => c.capacity),
      [4, 2, 0],
    );
    const bufs = [...Array(5)].map(() => pool.acquire(100));
    for (const buf of bufs) pool.release(buf);
    pool.release(pool.acquire(1000));
    const stats = pool.stats();
    assert.equal(stats.liveItems, 2);
    assert.equal(stats.liveBytes, 256);
    assert.equal(stats.overflow, 4);
    assert.equal(stats.puts, 6);
    pool.close();
  });

  it('refuses bad sizes (pool_misuse), sizes over maxAcquireBytes (too_large)', () => {
    const pool = bufferPool({ maxAcquireBytes: 2 * MiB });
    for (const n of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      throwsCode(() => pool.acquire(n), 'pool_misuse', 'bad_size');
    }
    throwsCode(() => pool.acquire(2 * MiB + 1), 'too_large');
    assert.equal(pool.acquire(2 * MiB).length, 2 * MiB);
    pool.close();
  });

  it('refuses bad options with bad_config', () => {
    const registry = new PoolRegistry();
    registry.registerPool({ name: NAME });
    const bad: Array<Partial<BufferPoolOptions>> = [
      { classes: [] },
      { classes: [64, 64] },
      { classes: [256, 64] },
      { classes: [0, 64] },
      { classes: [1.5] },
      { classes: [2 ** 30 + 1] },
      { maxBytesPerClass: -1 },
      { maxAcquireBytes: 0.5 },
    ];
    for (const options of bad)
      throwsCode(() => new BufferPool({ name: NAME, registry, ...options }), 'bad_config');
    new BufferPool({ name: NAME, registry, classes: [1, 2 ** 30], gcAging: false }).close();
  });

  it('counters and per-class contents match a model for random sequences', () => {
    const classes = [16, 64, 256];
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.integer({ min: 0, max: 300 }).map((size) => ({ kind: 'acquire' as const, size })),
            fc.nat(100).map((index) => ({ kind: 'release' as const, index })),
            fc.constant({ kind: 'age' as const }),
          ),
          { maxLength: 80 },
        ),
        (ops) => {
          const pool = bufferPool({ classes, maxBytesPerClass: 512 });
          const model = classes.map(() => ({ primary: 0, victim: 0 }));
          const expected = {
            hits: 0,
            victimHits: 0,
            misses: 0,
            oversize: 0,
            puts: 0,
            overflow: 0,
            dropped: 0,
          };
          const held: Buffer[] = [];
          for (const o of ops) {
            if (o.kind === 'acquire') {
              const c = classes.findIndex((size) => o.size <= size);
              const buf = pool.acquire(o.size);
              assert.equal(buf.length, o.size);
              held.push(buf);
              const m = model[c];
              if (m === undefined) {
                expected.oversize++;
              } else if (m.primary > 0) {
                m.primary--;
                expected.hits++;
              } else if (m.victim > 0) {
                m.victim--;
                expected.victimHits++;
              } else {
                expected.misses++;
              }
            } else if (o.kind === 'release') {
              if (held.length === 0) continue;
              const [buf] = held.splice(o.index % held.length, 1);
              const c = classes.findIndex((size) => buf!.length <= size);
              pool.release(buf!);
              if (c < 0) continue;
              expected.puts++;
              const m = model[c]!;
              if (m.primary + m.victim >= 512 / classes[c]!) expected.overflow++;
              else m.primary++;
            } else {
              pool.age();
              for (const m of model) {
                expected.dropped += m.victim;
                m.victim = m.primary;
                m.primary = 0;
              }
            }
          }
          const stats = pool.stats();
          assert.deepEqual(
            pool.classStats().map((c) => c.liveItems),
            model.map((m) => m.primary + m.victim),
          );
          assert.deepEqual(
            {
              hits: stats.hits,
              victimHits: stats.victimHits,
              misses: stats.misses,
              oversize: stats.oversize,
              puts: stats.puts,
              overflow: stats.overflow,
              dropped: stats.dropped,
            },
            expected,
          );
          assert.equal(stats.reuses, expected.hits + expected.victimHits);
          assert.equal(stats.allocations, expected.misses + expected.oversize);
          assert.equal(
            stats.liveBytes,
            model.reduce((sum, m, c) => sum + (m.primary + m.victim) * classes[c]!, 0),
          );
          pool.close();
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('BufferPool: release checks', () => {
  for (const debug of [false, true]) {
    it(`refuses buffers it did not lease (debug: ${debug})`, () => {
      const pool = bufferPool({ debug });
      throwsCode(() => pool.release(Buffer.alloc(64)), 'pool_misuse', 'not_from_pool');
      throwsCode(() => pool.release(Buffer.allocUnsafe(64)), 'pool_misuse', 'not_from_pool');
      throwsCode(() => pool.release(new Uint8Array(64)), 'pool_misuse', 'not_from_pool');
      const other = bufferPool({ debug });
      const foreign = other.acquire(64);
      throwsCode(() => pool.release(foreign), 'pool_misuse', 'not_from_pool');
      other.release(foreign);
      const buf = pool.acquire(100);
      throwsCode(() => pool.release(buf.subarray(1)), 'pool_misuse', 'not_the_acquired_view');
      pool.release(buf);
      pool.close();
      other.close();
    });
  }

  it('debug mode detects a double release, also of a stale view after re-lease', () => {
    const pool = bufferPool({ debug: true });
    const buf = pool.acquire(100);
    pool.release(buf);
    throwsCode(() => pool.release(buf), 'pool_misuse', 'double_release');
    const next = pool.acquire(100);
    throwsCode(() => pool.release(buf), 'pool_misuse', 'double_release');
    throwsCode(() => pool.release(next.subarray(0, 10)), 'pool_misuse', 'not_the_acquired_view');
    pool.release(next);
    assert.equal(pool.stats().puts, 2);
    assert.equal(pool.stats().liveItems, 1);
    const big = pool.acquire(2 * MiB);
    pool.release(big);
    throwsCode(() => pool.release(big), 'pool_misuse', 'double_release');
    pool.close();
  });

  it('debug mode kills stale views so they cannot see or change the next lease', () => {
    const pool = bufferPool({ debug: true });
    const first = pool.acquire(8);
    assert.deepEqual([...first], Array(8).fill(DEBUG_FILL_BYTE), 'fresh leases are filled in debug mode');
    first.fill(1);
    pool.release(first);
    assert.equal(first.length, 0, 'the released view is detached');
    assert.equal(first[0], undefined);
    assert.throws(() => first.readUInt8(0));
    const second = pool.acquire(8);
    first[0] = 7;
    assert.deepEqual([...second], Array(8).fill(DEBUG_FILL_BYTE));
    assert.equal(pool.stats().hits, 1, 'the memory itself was reused');
    pool.release(second);
    pool.close();
  });

  it('after close(), acquire throws pool_misuse and release discards', () => {
    const pool = bufferPool();
    const held = pool.acquire(10);
    pool.release(pool.acquire(10));
    pool.close();
    assert.equal(pool.stats().dropped, 1);
    throwsCode(() => pool.acquire(10), 'pool_misuse', 'closed');
    pool.release(held);
    assert.equal(pool.stats().liveItems, 0);
  });
});

describe('BufferPool: arenas', () => {
  it(`default maxBytes is ${DEFAULT_ARENA_MAX_BYTES}`, () => {
    const pool = bufferPool({ maxAcquireBytes: 512 * MiB });
    const arena = pool.arena();
    arena.acquire(64 * MiB);
    throwsCode(() => arena.acquire(1), 'limit_exceeded');
    arena.releaseAll();
    pool.close();
  });

  for (const debug of [false, true]) {
    it(`releaseAll returns every lease at once and retires the arena (debug: ${debug})`, () => {
      const pool = bufferPool({ debug });
      const arena = pool.arena();
      const sizes = [10, 100, 1000, 5000, 2 * MiB];
      const bufs = sizes.map((n) => arena.acquire(n));
      assert.deepEqual(
        bufs.map((b) => b.length),
        sizes,
      );
      assert.equal(arena.leasedCount, 5);
      assert.equal(arena.leasedBytes, 64 + 256 + KiB + 16 * KiB + 2 * MiB);
      assert.equal(pool.stats().liveItems, 0);
      arena.releaseAll();
      assert.ok(arena.released);
      assert.equal(arena.leasedCount, 0);
      assert.equal(arena.leasedBytes, 0);
      assert.equal(
        pool.stats().liveItems,
        4,
        'the four class buffers are back; the oversize one is not pooled',
      );
      assert.equal(pool.stats().puts, 4);
      throwsCode(() => arena.acquire(1), 'pool_misuse', 'arena_released');
      throwsCode(() => arena.release(bufs[0]!), 'pool_misuse', 'arena_released');
      arena.releaseAll();
      assert.equal(pool.stats().puts, 4, 'a second releaseAll does nothing');
      pool.close();
    });
  }

  it('release returns one lease early; buffers not from this arena are refused', () => {
    const pool = bufferPool();
    const arena = pool.arena();
    const a = arena.acquire(10);
    const b = arena.acquire(300);
    const c = arena.acquire(20);
    arena.release(a);
    assert.equal(arena.leasedCount, 2);
    assert.equal(arena.leasedBytes, KiB + 64);
    throwsCode(() => arena.release(a), 'pool_misuse', 'not_from_arena');
    throwsCode(() => arena.release(pool.acquire(10)), 'pool_misuse', 'not_from_arena');
    arena.releaseAll();
    assert.equal(pool.stats().puts, 3);
    assert.ok(b.length === 300 && c.length === 20);
    pool.close();
  });

  it('enforces maxBytes by class footprint with limit_exceeded', () => {
    const pool = bufferPool();
    const arena = pool.arena({ maxBytes: 1024 });
    arena.acquire(257);
    throwsCode(() => arena.acquire(1), 'limit_exceeded');
    assert.equal(arena.leasedCount, 1);
    throwsCode(() => pool.arena({ maxBytes: -1 }), 'bad_config');
    arena.releaseAll();
    pool.close();
  });

  it('releaseAll still returns the rest when one release fails, then throws', () => {
    const pool = bufferPool({ debug: true });
    const arena = pool.arena();
    const first = arena.acquire(10);
    arena.acquire(10);
    arena.acquire(10);
    pool.release(first);
    throwsCode(() => arena.releaseAll(), 'pool_misuse', 'double_release');
    assert.equal(pool.stats().liveItems, 3);
    assert.ok(arena.released);
    pool.close();
  });
});
