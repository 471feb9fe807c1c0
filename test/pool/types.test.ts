import { it } from 'node:test';
import { expectTypeOf } from 'expect-type';
import type { Arena } from '../../src/pool/arena.js';
import type { BufferPool } from '../../src/pool/buffer-pool.js';
import type { ObjectPool, ObjectPoolOptions } from '../../src/pool/object-pool.js';
import type { PoolDescriptor, PoolRegistry } from '../../src/pool/registry.js';
import type { PoolStats } from '../../src/pool/stats.js';

// Checked by the type checker (`npm run typecheck`); the test body only has to exist.
it('pool API shapes', () => {
  interface Frame {
    seq: number;
  }
  expectTypeOf<ObjectPool<Frame>['get']>().returns.toEqualTypeOf<Frame>();
  expectTypeOf<ObjectPool<Frame>['put']>().parameters.toEqualTypeOf<[Frame]>();
  expectTypeOf<ObjectPoolOptions<Frame>['reset']>().toEqualTypeOf<(item: Frame) => void>();
  expectTypeOf<ObjectPoolOptions<Frame>>().toHaveProperty('reset');
  // reset and create are required, not optional.
  expectTypeOf<Pick<ObjectPoolOptions<Frame>, 'create' | 'reset'>>().toEqualTypeOf<
    Required<Pick<ObjectPoolOptions<Frame>, 'create' | 'reset'>>
  >();
  expectTypeOf<BufferPool['acquire']>().returns.toEqualTypeOf<Buffer>();
  expectTypeOf<BufferPool['release']>().parameters.toEqualTypeOf<[Uint8Array]>();
  expectTypeOf<BufferPool['arena']>().returns.toEqualTypeOf<Arena>();
  expectTypeOf<PoolRegistry['poolStats']>().returns.toEqualTypeOf<PoolStats[]>();
  expectTypeOf<PoolRegistry['registerPool']>().parameters.toEqualTypeOf<[PoolDescriptor]>();
  expectTypeOf<PoolStats[keyof PoolStats]>().toEqualTypeOf<string | number>();
});
