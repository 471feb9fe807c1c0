import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeDelivery } from '../../src/client/delivery.js';
import { ByteSlab, copyKept } from '../../src/core/byte-slab.js';
import { compilePattern } from '../../src/core/key.js';
import { MemoryStore } from '../../src/store/memory.js';

describe('ByteSlab', () => {
  it('cuts regions from one slab, 8-byte aligned and zeroed, until it is full', () => {
    const slab = new ByteSlab(256, 0, 64);
    const a = slab.allocate(10);
    const b = slab.allocate(20);
    assert.equal(a.buffer, b.buffer);
    assert.equal(a.byteOffset, 0);
    assert.equal(b.byteOffset, 16);
    assert.ok(b.every((x) => x === 0));
    a.fill(0xff);
    assert.ok(
      b.every((x) => x === 0),
      'writing one region leaves the next untouched',
    );
    for (let i = 0; i < 3; i++) assert.equal(slab.allocate(64).buffer, a.buffer);
    const e = slab.allocate(64);
    assert.notEqual(e.buffer, a.buffer, 'a region that does not fit starts a new slab');
    assert.equal(e.byteOffset, 0);
  });

  it('gives regions outside its size range buffers of their own', () => {
    const slab = new ByteSlab(2048, 65, 512);
    for (const size of [0, 1, 64, 513, 5000]) {
      const region = slab.allocate(size);
      assert.equal(region.length, size);
      assert.equal(region.byteOffset, 0);
      assert.equal(region.buffer.byteLength, size, `${size} bytes`);
    }
    assert.equal(slab.allocate(65).buffer.byteLength, 2048);
    assert.equal(slab.allocate(512).buffer.byteLength, 2048);
  });

  it('refuses sizes that make no slab', () => {
    assert.throws(() => new ByteSlab(100, 0, 200), RangeError);
    assert.throws(() => new ByteSlab(-1, 0, 0), RangeError);
    assert.throws(() => new ByteSlab(1.5, 0, 1), RangeError);
  });

  it('copies are equal to their source and independent of it and of each other', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 700 }), { maxLength: 20 }), (sources) => {
        const originals = sources.map((bytes) => Array.from(bytes));
        const copies = sources.map((bytes) => copyKept(bytes));
        for (const source of sources) source.fill(7);
        for (let i = 0; i < copies.length; i++) assert.deepEqual(Array.from(copies[i]!), originals[i]);
        for (const copy of copies) copy.fill(9);
        for (const source of sources) assert.ok(source.every((x) => x === 7));
      }),
    );
  });
});

describe('kept bytes do not pin or share the caller’s buffer', () => {
  // A Node Buffer's `slice` is a view, not a copy: these are the cases that would go wrong.
  const frame = Buffer.alloc(64 * 1024, 0x61);
  const view = frame.subarray(1000, 1256);

  it('a delivered byte state is a copy, not a view into the received frame', () => {
    const delivered = decodeDelivery(
      {
        key: 'k/a',
        version: 1,
        revision: 1,
        ts: 0,
        source: 's',
        state: view,
        contentType: 'application/octet-stream',
      },
      compilePattern('k/>'),
      'msgpack',
    );
    const state = delivered.state as Uint8Array;
    assert.deepEqual(Buffer.from(state), view);
    assert.notEqual(state.buffer, frame.buffer);
    assert.ok(state.buffer.byteLength <= 2048, 'pins at most one small slab');
  });

  it('a stored byte state is a copy the caller cannot change', async () => {
    const store = new MemoryStore();
    const mine = Buffer.alloc(300, 3);
    await store.put({ key: 'k/a', state: mine, contentType: 'application/octet-stream' });
    mine.fill(4);
    const stored = (await store.get('k/a'))!.state as Uint8Array;
    assert.ok(stored.every((x) => x === 3));
    assert.notEqual(stored.buffer, mine.buffer);
  });
});
