import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  decodeState,
  encodeState,
  MAX_STATE_DEPTH,
  STATE_CONTENT_TYPE,
  stateEncodingOf,
} from '../../src/codec/state.js';
import { isSbmpError } from '../../src/internal.js';

function throwsCode(fn: () => unknown, code: string, message?: string): void {
  assert.throws(fn, (err: unknown) => isSbmpError(err) && err.code === code, message);
}

function hasProtoKey(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some(hasProtoKey);
  return Object.keys(value).some(
    (k) => k === '__proto__' || hasProtoKey((value as Record<string, unknown>)[k]),
  );
}

/** JSON values as JSON.parse returns them: no -0 (JSON has none), no '__proto__' keys. */
const jsonValue = fc
  .jsonValue({ maxDepth: 6 })
  .map((v) => JSON.parse(JSON.stringify(v)) as unknown)
  .filter((v) => !hasProtoKey(v));

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

describe('state encodings', () => {
  for (const encoding of ['msgpack', 'json'] as const) {
    it(`${encoding}: any JSON value round trips`, () => {
      fc.assert(
        fc.property(jsonValue, (value) => {
          const bytes = encodeState(value, encoding);
          assert.equal(Object.getPrototypeOf(bytes), Uint8Array.prototype);
          assert.deepStrictEqual(decodeState(bytes, encoding), value);
          assert.deepStrictEqual(decodeState(bytes, STATE_CONTENT_TYPE[encoding]), value);
        }),
        { numRuns: 500 },
      );
    });
  }

  it('MessagePack and JSON carry the same value', () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        assert.deepStrictEqual(
          decodeState(encodeState(value, 'msgpack'), 'msgpack'),
          decodeState(encodeState(value, 'json'), 'json'),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('MessagePack output is standard MessagePack: plain maps, no msgpackr records', () => {
    assert.equal(
      Buffer.from(encodeState({ a: 1, b: [true, null] }, 'msgpack')).toString('hex'),
      '82a16101a16292c3c0',
    );
    assert.equal(
      new TextDecoder().decode(encodeState({ a: 1, b: [true, null] }, 'json')),
      '{"a":1,"b":[true,null]}',
    );
  });

  it('returns a fresh buffer per call, not a view into shared scratch memory', () => {
    const a = encodeState({ x: 1 }, 'msgpack');
    const b = encodeState({ y: 2 }, 'msgpack');
    assert.notEqual(a.buffer, b.buffer);
    assert.equal(a.byteOffset, 0);
    assert.equal(a.buffer.byteLength, a.length);
  });

  it('drops object properties whose value is undefined, in both encodings', () => {
    for (const encoding of ['msgpack', 'json'] as const) {
      assert.deepStrictEqual(decodeState(encodeState({ a: undefined, b: 1 }, encoding), encoding), { b: 1 });
    }
  });

  it('accepts nesting up to MAX_STATE_DEPTH levels and refuses one more', () => {
    assert.equal(MAX_STATE_DEPTH, 256);
    for (const encoding of ['msgpack', 'json'] as const) {
      const deepest = nested(MAX_STATE_DEPTH);
      assert.deepStrictEqual(decodeState(encodeState(deepest, encoding), encoding), deepest);
      throwsCode(() => encodeState(nested(MAX_STATE_DEPTH + 1), encoding), 'bad_state');
    }
    throwsCode(() => decodeState(new TextEncoder().encode(JSON.stringify(nested(300))), 'json'), 'bad_state');
    const deepMsgpack = new Uint8Array(300).fill(0x91);
    throwsCode(() => decodeState(Uint8Array.from([...deepMsgpack, 0x01]), 'msgpack'), 'bad_state');
  });

  it('refuses values that are not JSON-compatible with bad_state', () => {
    const circular: Record<string, unknown> = { a: {} };
    (circular.a as Record<string, unknown>).back = circular;
    class Point {
      x = 1;
    }
    const unencodable: [string, unknown][] = [
      ['undefined', undefined],
      ['function', { f: () => 1 }],
      ['symbol', { s: Symbol('x') }],
      ['bigint', { n: 10n }],
      ['NaN', { n: Number.NaN }],
      ['Infinity', [Number.POSITIVE_INFINITY]],
      ['Date', { d: new Date(0) }],
      ['Map', new Map([[1, 2]])],
      ['Set', { s: new Set([1]) }],
      ['class instance', { p: new Point() }],
      ['typed array', { b: new Uint8Array(2) }],
      ['undefined array item', [1, undefined]],
      ['sparse array', new Array(3)],
      ['circular', circular],
      ['__proto__ key', JSON.parse('{"__proto__": {"polluted": true}}')],
    ];
    for (const encoding of ['msgpack', 'json'] as const) {
      for (const [name, value] of unencodable)
        throwsCode(() => encodeState(value, encoding), 'bad_state', name);
    }
    assert.throws(
      () => encodeState(circular, 'json'),
      (err: unknown) => isSbmpError(err, 'bad_state') && err.message.includes('state.a.back'),
    );
  });

  it('refuses an unknown encoding with bad_request', () => {
    throwsCode(() => encodeState({}, 'xml' as 'json'), 'bad_request');
  });
});

describe('decodeState on bad bytes', () => {
  const hex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
  const badMsgpack: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['never-used byte 0xc1', hex('c1')],
    ['truncated string', hex('a561')],
    ['trailing bytes', hex('0102')],
    ['array claiming 2^32-1 items', hex('ddffffffff01')],
    ['unknown extension', hex('d40500')],
    ['timestamp extension (a Date)', hex('d6ff00000000')],
    ['binary (not JSON)', hex('c40100')],
    ['uint64 above 2^53 (a BigInt)', hex('cfffffffffffffffff')],
    ['NaN float', hex('ca7fc00000')],
    ['map with an array key', hex('81910102')],
    ['undefined property', hex('81a161d40000')],
  ];
  for (const [name, bytes] of badMsgpack) {
    it(`msgpack: ${name} is bad_state`, () => throwsCode(() => decodeState(bytes, 'msgpack'), 'bad_state'));
  }

  const badJson: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['not JSON', new TextEncoder().encode('{a:1}')],
    ['invalid UTF-8', hex('22ff22')],
    ['__proto__ key', new TextEncoder().encode('{"__proto__":1}')],
  ];
  for (const [name, bytes] of badJson) {
    it(`json: ${name} is bad_state`, () => throwsCode(() => decodeState(bytes, 'json'), 'bad_state'));
  }

  it('random bytes: a JSON value or bad_state, nothing else', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.constantFrom('msgpack' as const, 'json' as const),
        (b, e) => {
          try {
            decodeState(b, e);
          } catch (err) {
            assert.ok(isSbmpError(err, 'bad_state'), String(err));
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('content types', () => {
  it('names the two state encodings, ignoring case and parameters', () => {
    assert.equal(stateEncodingOf('application/msgpack'), 'msgpack');
    assert.equal(stateEncodingOf('Application/JSON; charset=utf-8'), 'json');
    assert.equal(stateEncodingOf('application/octet-stream'), undefined);
    assert.equal(stateEncodingOf(''), undefined);
  });

  it('answers repeated and alternating content types alike', () => {
    const types = ['application/json', 'application/json', 'image/png', 'application/msgpack', 'image/png'];
    const expected = ['json', 'json', undefined, 'msgpack', undefined];
    for (let round = 0; round < 2; round++) {
      assert.deepEqual(
        types.map((t) => stateEncodingOf(t)),
        expected,
      );
    }
  });

  it('passes any other content type through as the same bytes', () => {
    const bytes = Uint8Array.from([0xc1, 0xff]);
    assert.equal(decodeState(bytes, 'application/octet-stream'), bytes);
    assert.equal(decodeState(bytes, 'image/png'), bytes);
    assert.deepStrictEqual(
      decodeState(new TextEncoder().encode('[1]'), 'application/json; charset=utf-8'),
      [1],
    );
  });
});
