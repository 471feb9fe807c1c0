import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSbmpError } from '../../src/core/errors.js';
import { BufferPool } from '../../src/pool/buffer-pool.js';
import { ObjectPool } from '../../src/pool/object-pool.js';
import {
  defaultRegistry,
  isRegistered,
  isValidPoolName,
  MAX_POOL_NAME_LENGTH,
  PoolRegistry,
  parsePoolName,
  poolStats,
  registerPool,
} from '../../src/pool/registry.js';

/** Asserts the code and, when given, the machine-readable detail (`part` or `reason`). */
function throwsCode(fn: () => unknown, code: string, detail?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isSbmpError(err), `expected SbmpError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (detail !== undefined) assert.equal(err.details?.part ?? err.details?.reason, detail);
    return true;
  });
}

const plain = () => ({
  create: () => ({ n: 0 }),
  reset: (o: { n: number }) => {
    o.n = 0;
  },
  gcAging: false,
});

describe('pool names', () => {
  it('accepts sbmp.<domain>.<resource>.v<MAJOR>', () => {
    for (const name of ['sbmp.auth.token.v2', 'sbmp.codec.frame.v0', 'sbmp.a-b.c_d.v10', 'sbmp.x1.y2.v123']) {
      assert.ok(isValidPoolName(name), name);
    }
    assert.deepEqual(parsePoolName('sbmp.codec.frame_header.v3'), {
      domain: 'codec',
      resource: 'frame_header',
      major: 3,
    });
  });

  it('refuses malformed names with bad_config saying which part is wrong', () => {
    const cases: Array<[unknown, string]> = [
      ['sbmp.auth.token', 'parts'],
      ['sbmp.auth.token.v2.x', 'parts'],
      ['spmb.auth.token.v2', 'prefix'],
      ['sbmp.Auth.token.v2', 'domain'],
      ['sbmp..token.v2', 'domain'],
      ['sbmp.auth.to ken.v2', 'resource'],
      ['sbmp.auth.tokén.v2', 'resource'],
      ['sbmp.auth.token.2', 'major'],
      ['sbmp.auth.token.v', 'major'],
      ['sbmp.auth.token.v02', 'major'],
      ['sbmp.auth.token.v-1', 'major'],
      ['sbmp.auth.token.v1.5', 'parts'],
      ['sbmp.auth.token.V2', 'major'],
      [42, 'type'],
      [`sbmp.${'a'.repeat(MAX_POOL_NAME_LENGTH)}.b.v1`, 'length'],
    ];
    for (const [name, part] of cases) {
      assert.equal(isValidPoolName(name), false, String(name));
      throwsCode(() => parsePoolName(name), 'bad_config', part);
      throwsCode(() => new PoolRegistry().registerPool({ name: name as string }), 'bad_config', part);
    }
  });

  it('accepts a name of exactly the maximum length', () => {
    const name = `sbmp.${'a'.repeat(MAX_POOL_NAME_LENGTH - 'sbmp..b.v1'.length)}.b.v1`;
    assert.equal(name.length, MAX_POOL_NAME_LENGTH);
    assert.ok(isValidPoolName(name));
  });
});

describe('PoolRegistry', () => {
  it('registers, lists sorted, and refuses a duplicate with bad_config', () => {
    const registry = new PoolRegistry();
    const d = registry.registerPool({ name: 'sbmp.codec.frame.v1', description: 'frame headers' });
    assert.ok(Object.isFrozen(d));
    registry.registerPool({ name: 'sbmp.auth.token.v2' });
    assert.ok(registry.isRegistered('sbmp.codec.frame.v1'));
    assert.ok(!registry.isRegistered('sbmp.codec.frame.v2'));
    assert.deepEqual(
      registry.listPools().map((p) => p.name),
      ['sbmp.auth.token.v2', 'sbmp.codec.frame.v1'],
    );
    throwsCode(() => registry.registerPool({ name: 'sbmp.codec.frame.v1' }), 'bad_config', 'duplicate');
    assert.equal(registry.listPools().length, 2);
  });

  it('keeps registries separate: a name registered in one is unknown to another', () => {
    const a = new PoolRegistry();
    const b = new PoolRegistry();
    a.registerPool({ name: 'sbmp.codec.frame.v1' });
    assert.ok(!b.isRegistered('sbmp.codec.frame.v1'));
    throwsCode(
      () => new ObjectPool({ name: 'sbmp.codec.frame.v1', registry: b, ...plain() }),
      'pool_unregistered',
    );
    assert.ok(!isRegistered('sbmp.codec.frame.v1'), 'the default registry is untouched');
  });

  it('refuses to construct a pool whose name is not registered (pool_unregistered)', () => {
    const registry = new PoolRegistry();
    throwsCode(
      () => new ObjectPool({ name: 'sbmp.codec.frame.v1', registry, ...plain() }),
      'pool_unregistered',
    );
    throwsCode(
      () => new BufferPool({ name: 'sbmp.codec.bytes.v1', registry, gcAging: false }),
      'pool_unregistered',
    );
    throwsCode(() => registry.statsOf('sbmp.codec.frame.v1'), 'pool_unregistered');
    throwsCode(() => new ObjectPool({ name: 'codec.frame', registry, ...plain() }), 'bad_config');
  });

  it('binds one open pool per name; close() frees the name', () => {
    const registry = new PoolRegistry();
    registry.registerPool({ name: 'sbmp.codec.frame.v1' });
    assert.equal(registry.statsOf('sbmp.codec.frame.v1'), undefined);
    const first = new ObjectPool({ name: 'sbmp.codec.frame.v1', registry, ...plain() });
    throwsCode(
      () => new ObjectPool({ name: 'sbmp.codec.frame.v1', registry, ...plain() }),
      'pool_misuse',
      'already_bound',
    );
    first.put(first.get());
    assert.equal(registry.statsOf('sbmp.codec.frame.v1')?.liveItems, 1);
    first.close();
    assert.equal(registry.statsOf('sbmp.codec.frame.v1'), undefined);
    const second = new ObjectPool({ name: 'sbmp.codec.frame.v1', registry, ...plain() });
    assert.equal(registry.statsOf('sbmp.codec.frame.v1')?.liveItems, 0);
    second.close();
  });

  it('poolStats() returns plain objects for open pools, sorted by name', () => {
    const registry = new PoolRegistry();
    registry.registerPool({ name: 'sbmp.z.objects.v1' });
    registry.registerPool({ name: 'sbmp.a.bytes.v1' });
    registry.registerPool({ name: 'sbmp.m.unused.v1' });
    const objects = new ObjectPool({ name: 'sbmp.z.objects.v1', registry, ...plain() });
    const bytes = new BufferPool({ name: 'sbmp.a.bytes.v1', registry, gcAging: false });
    objects.put(objects.get());
    bytes.release(bytes.acquire(10));
    const stats = registry.poolStats();
    assert.deepEqual(
      stats.map((s) => s.name),
      ['sbmp.a.bytes.v1', 'sbmp.z.objects.v1'],
    );
    for (const s of stats) {
      assert.equal(Object.getPrototypeOf(s), Object.prototype);
      assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
    }
    assert.equal(stats[0]?.liveBytes, 64);
    assert.equal(stats[1]?.puts, 1);
    objects.close();
    bytes.close();
    assert.deepEqual(registry.poolStats(), []);
  });

  it('the module-level functions use defaultRegistry, which pools use by default', () => {
    const name = 'sbmp.test.default-registry.v1';
    assert.ok(!isRegistered(name));
    registerPool({ name });
    assert.ok(defaultRegistry.isRegistered(name));
    const pool = new ObjectPool({ name, ...plain() });
    pool.put(pool.get());
    assert.deepEqual(
      poolStats().find((s) => s.name === name),
      pool.stats(),
    );
    pool.close();
  });
});
