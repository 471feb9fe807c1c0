import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SnapshotInput } from '../../src/index.js';
import { MAX_STATE_DEPTH, MAX_VERSION } from '../../src/index.js';
import type { PutOptions } from '../../src/store/types.js';
import type { StoreFactory } from './helpers.js';
import { listAll, rejectsCode } from './helpers.js';

function circular(): unknown {
  const a: Record<string, unknown> = { x: 1 };
  a.self = { back: a };
  return a;
}

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

type BadCase = [what: string, input: SnapshotInput, options: PutOptions | undefined, code: string];

const BAD_INPUT: BadCase[] = [
  ['empty key', { key: '', state: 1 }, undefined, 'bad_key'],
  ['key with space', { key: 'a b', state: 1 }, undefined, 'bad_key'],
  ['key with empty segment', { key: 'a//b', state: 1 }, undefined, 'bad_key'],
  ['key too long', { key: 'k'.repeat(257), state: 1 }, undefined, 'bad_key'],
  ['key not a string', { key: 7 as unknown as string, state: 1 }, undefined, 'bad_key'],
  ['version 0', { key: 'in/x', version: 0, state: 1 }, undefined, 'bad_version'],
  ['negative version', { key: 'in/x', version: -3, state: 1 }, undefined, 'bad_version'],
  ['fractional version', { key: 'in/x', version: 1.5, state: 1 }, undefined, 'bad_version'],
  ['version 2^53', { key: 'in/x', version: MAX_VERSION + 1, state: 1 }, undefined, 'bad_version'],
  ['version NaN', { key: 'in/x', version: Number.NaN, state: 1 }, undefined, 'bad_version'],
  ['version string', { key: 'in/x', version: '3' as unknown as number, state: 1 }, undefined, 'bad_version'],
  ['ifVersion negative', { key: 'in/x', state: 1 }, { ifVersion: -1 }, 'bad_version'],
  ['ifVersion fractional', { key: 'in/x', state: 1 }, { ifVersion: 0.5 }, 'bad_version'],
  ['ifVersion 2^53', { key: 'in/x', state: 1 }, { ifVersion: 2 ** 53 }, 'bad_version'],
  ['function state', { key: 'in/x', version: 9, state: () => 1 }, undefined, 'bad_state'],
  ['BigInt state', { key: 'in/x', version: 9, state: { n: 10n } }, undefined, 'bad_state'],
  ['symbol state', { key: 'in/x', version: 9, state: [Symbol('s')] }, undefined, 'bad_state'],
  ['undefined state', { key: 'in/x', version: 9, state: undefined }, undefined, 'bad_state'],
  ['undefined property', { key: 'in/x', version: 9, state: { a: undefined } }, undefined, 'bad_state'],
  ['NaN state', { key: 'in/x', version: 9, state: { n: Number.NaN } }, undefined, 'bad_state'],
  ['Infinity state', { key: 'in/x', version: 9, state: [Number.POSITIVE_INFINITY] }, undefined, 'bad_state'],
  ['circular state', { key: 'in/x', version: 9, state: circular() }, undefined, 'bad_state'],
  ['Date state', { key: 'in/x', version: 9, state: { at: new Date(0) } }, undefined, 'bad_state'],
  ['Map state', { key: 'in/x', version: 9, state: new Map([[1, 2]]) }, undefined, 'bad_state'],
  ['nested bytes', { key: 'in/x', version: 9, state: { b: new Uint8Array(2) } }, undefined, 'bad_state'],
  [
    `${MAX_STATE_DEPTH + 1} levels deep`,
    { key: 'in/x', version: 9, state: nested(MAX_STATE_DEPTH + 1) },
    undefined,
    'bad_state',
  ],
  ['lone surrogate', { key: 'in/x', version: 9, state: { s: 'a\uD800b' } }, undefined, 'bad_state'],
  ['lone surrogate name', { key: 'in/x', version: 9, state: { '\uDC00': 1 } }, undefined, 'bad_state'],
  [
    'bytes labelled JSON that do not parse',
    {
      key: 'in/x',
      version: 9,
      state: new TextEncoder().encode('not json {'),
      contentType: 'application/json',
    },
    undefined,
    'bad_state',
  ],
  [
    'bytes labelled MessagePack that do not decode',
    { key: 'in/x', version: 9, state: new Uint8Array([0xc1]), contentType: 'application/msgpack' },
    undefined,
    'bad_state',
  ],
  ['ts not finite', { key: 'in/x', version: 9, state: 1, ts: Number.NaN }, undefined, 'bad_request'],
  ['empty source', { key: 'in/x', version: 9, state: 1, source: '' }, undefined, 'bad_request'],
  [
    'deleted not boolean',
    { key: 'in/x', version: 9, state: 1, deleted: 1 as unknown as boolean },
    undefined,
    'bad_request',
  ],
  [
    'contentType too long',
    { key: 'in/x', version: 9, state: 1, contentType: 'x'.repeat(257) },
    undefined,
    'bad_request',
  ],
  [
    'bad traceparent',
    { key: 'in/x', version: 9, state: 1, trace: { traceparent: 'nope' } },
    undefined,
    'bad_request',
  ],
  ['snapshot not an object', null as unknown as SnapshotInput, undefined, 'bad_request'],
];

/** Loud failure: every bad input gets its code and leaves stored data exactly as it was. */
export function inputContract(factory: StoreFactory): void {
  describe('bad input', () => {
    it('refuses each bad input with its code and changes nothing', async () => {
      const store = await factory.create();
      await store.put({ key: 'in/x', version: 7, state: { keep: true } });
      await store.put({ key: 'in/y', version: 1, state: 'y' });
      const before = await listAll(store, '');
      const revision = store.currentRevision();
      for (const [what, input, options, code] of BAD_INPUT) {
        await rejectsCode(store.put(input, options), code, what);
      }
      assert.deepEqual(await listAll(store, ''), before);
      assert.equal(store.currentRevision(), revision);
      assert.deepEqual((await store.put({ key: 'in/x', state: { next: true } })).version, 8, 'still works');
      const labelled = {
        key: 'in/json',
        state: new TextEncoder().encode('{"ok":1}'),
        contentType: 'application/json',
      };
      assert.equal(
        (await store.put(labelled)).result,
        'applied',
        'bytes that decode as their label are kept',
      );
    });

    it('accepts 64 levels of nesting and JSON-compatible values of every kind', async () => {
      const store = await factory.create();
      const state = {
        s: 'é€😀',
        n: -1.25,
        i: 2 ** 40,
        t: true,
        f: false,
        z: null,
        a: [1, 'x', [{}]],
        o: { p: {} },
      };
      await store.put({ key: 'ok/1', state });
      assert.deepEqual((await store.get('ok/1'))?.state, state);
      await store.put({ key: 'ok/2', state: nested(63) });
      assert.deepEqual((await store.get('ok/2'))?.state, nested(63));
    });

    it('refuses a state over maxStateBytes with too_large, accepting one exactly at it', async () => {
      const limit = 1024;
      const store = await factory.create({ maxStateBytes: limit });
      // A string of 256..65535 bytes encodes with a 3-byte MessagePack header.
      const atLimit = 'x'.repeat(limit - 3);
      assert.equal((await store.put({ key: 'big/s', version: 1, state: atLimit })).result, 'applied');
      await rejectsCode(store.put({ key: 'big/s', version: 2, state: `${atLimit}x` }), 'too_large');
      assert.equal(
        (await store.put({ key: 'big/b', version: 1, state: new Uint8Array(limit) })).result,
        'applied',
      );
      await rejectsCode(
        store.put({ key: 'big/b', version: 2, state: new Uint8Array(limit + 1) }),
        'too_large',
      );
      assert.equal((await store.get('big/s'))?.version, 1);
      assert.equal((await store.get('big/b'))?.version, 1);
      assert.equal(store.currentRevision(), 2);
    });

    it('defaults to a 1 MiB limit', async () => {
      const store = await factory.create();
      assert.equal((await store.put({ key: 'big/d', state: new Uint8Array(1024 * 1024) })).result, 'applied');
      await rejectsCode(store.put({ key: 'big/d', state: new Uint8Array(1024 * 1024 + 1) }), 'too_large');
    });
  });
}
