import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compilePattern, isSbmpError, isValidKey, validateKey } from '../../src/index.js';

const segment = fc.stringMatching(/^[A-Za-z0-9_.:=-]{1,8}$/);
const key = fc.array(segment, { minLength: 1, maxLength: 6 }).map((s) => s.join('/'));

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => isSbmpError(err) && err.code === code);
}

describe('keys', () => {
  it('accepts keys of allowed segments', () => {
    for (const k of ['orders/eu/10042', 'a', 'x.y:z=1-2_3', 'a'.repeat(256)]) assert.equal(validateKey(k), k);
  });

  it('refuses bad keys with bad_key', () => {
    for (const k of ['', '/a', 'a/', 'a//b', 'a b', 'ä', 'a*', 'a>', 'a'.repeat(257), 42, null]) {
      assert.equal(isValidKey(k), false, String(k));
      throwsCode(() => validateKey(k), 'bad_key');
    }
  });
});

describe('patterns', () => {
  it('matches * as one segment and trailing > as one or more', () => {
    const star = compilePattern('orders/*/10042');
    assert.ok(star.matches('orders/eu/10042'));
    assert.ok(!star.matches('orders/eu/x/10042'));
    assert.ok(!star.matches('orders/10042'));
    const tail = compilePattern('devices/>');
    assert.ok(tail.matches('devices/a'));
    assert.ok(tail.matches('devices/a/b/c'));
    assert.ok(!tail.matches('devices'));
    assert.ok(!tail.matches('devicesX/a'));
    assert.equal(tail.prefix, 'devices/');
    const exact = compilePattern('a.b/c');
    assert.ok(exact.exact && exact.matches('a.b/c') && !exact.matches('aXb/c'));
    assert.ok(!compilePattern('a.b/*').matches('aXb/c'), 'dots are literal');
  });

  it('refuses > in the middle and invalid segments', () => {
    for (const p of ['a/>/b', 'a//b', '', 'a/**', 'a/b c'])
      throwsCode(() => compilePattern(p), 'bad_pattern');
  });

  it('agrees with a segment-by-segment reference matcher', () => {
    const patternSeg = fc.oneof(segment, fc.constant('*'));
    const pattern = fc
      .tuple(fc.array(patternSeg, { minLength: 1, maxLength: 4 }), fc.boolean())
      .map(([segs, tail]) => (tail ? [...segs, '>'] : segs).join('/'));
    fc.assert(
      fc.property(pattern, key, (p, k) => {
        const ps = p.split('/');
        const ks = k.split('/');
        let expected: boolean;
        if (ps.at(-1) === '>') {
          const head = ps.slice(0, -1);
          expected = ks.length > head.length && head.every((s, i) => s === '*' || s === ks[i]);
        } else {
          expected = ks.length === ps.length && ps.every((s, i) => s === '*' || s === ks[i]);
        }
        assert.equal(compilePattern(p).matches(k), expected, `${p} vs ${k}`);
      }),
      { numRuns: 2000 },
    );
  });
});
