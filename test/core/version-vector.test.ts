import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isSbmpError } from '../../src/core/errors.js';
import type { ConcurrentPolicy, VectorState, VersionVector } from '../../src/core/version-vector.js';
import {
  compareVectors,
  decideVectorApply,
  emptyVector,
  incrementVector,
  mergeVectors,
  resolveConcurrent,
  validateVector,
} from '../../src/core/version-vector.js';

// `__proto__` is a writer id like any other and must not touch prototypes.
const writer = fc.constantFrom('a', 'b', 'c', 'd', '__proto__');
const vector: fc.Arbitrary<VersionVector> = fc
  .array(fc.tuple(writer, fc.nat(4)), { maxLength: 5 })
  .map((entries) => Object.fromEntries(entries));

const at = (v: VersionVector, w: string): number => (Object.hasOwn(v, w) ? v[w]! : 0);
const writersOf = (...vs: VersionVector[]) => new Set(vs.flatMap((v) => Object.keys(v)));

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => isSbmpError(err) && err.code === code);
}

describe('compareVectors', () => {
  it('orders examples', () => {
    assert.equal(compareVectors({}, {}), 'equal');
    assert.equal(compareVectors({ a: 0 }, {}), 'equal', 'a missing writer counts as 0');
    assert.equal(compareVectors({ a: 1 }, { a: 2 }), 'before');
    assert.equal(compareVectors({ a: 2, b: 1 }, { a: 2 }), 'after');
    assert.equal(compareVectors({ a: 2 }, { b: 1 }), 'concurrent');
    assert.equal(compareVectors({ a: 2, b: 0 }, { a: 1, b: 1 }), 'concurrent');
    assert.equal(
      compareVectors({ __proto__: 1 } as VersionVector, {}),
      'equal',
      'a literal __proto__ is no entry',
    );
    assert.equal(compareVectors(Object.fromEntries([['__proto__', 1]]), {}), 'after');
  });

  it('agrees with the pointwise definition, and is antisymmetric', () => {
    fc.assert(
      fc.property(vector, vector, (a, b) => {
        const ws = [...writersOf(a, b)];
        const aAhead = ws.some((w) => at(a, w) > at(b, w));
        const bAhead = ws.some((w) => at(b, w) > at(a, w));
        const expected = aAhead && bAhead ? 'concurrent' : aAhead ? 'after' : bAhead ? 'before' : 'equal';
        assert.equal(compareVectors(a, b), expected);
        const mirror = {
          before: 'after',
          after: 'before',
          equal: 'equal',
          concurrent: 'concurrent',
        } as const;
        assert.equal(compareVectors(b, a), mirror[expected]);
      }),
      { numRuns: 500 },
    );
  });

  it('is transitive for before', () => {
    fc.assert(
      fc.property(vector, vector, vector, (a, b, c) => {
        if (compareVectors(a, b) === 'before' && compareVectors(b, c) === 'before') {
          assert.equal(compareVectors(a, c), 'before');
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('mergeVectors and incrementVector', () => {
  it('merge is the least upper bound, commutative and idempotent', () => {
    fc.assert(
      fc.property(vector, vector, (a, b) => {
        const m = mergeVectors(a, b);
        assert.ok(Object.isFrozen(m));
        assert.ok(['after', 'equal'].includes(compareVectors(m, a)));
        assert.ok(['after', 'equal'].includes(compareVectors(m, b)));
        for (const w of writersOf(a, b)) assert.equal(at(m, w), Math.max(at(a, w), at(b, w)));
        assert.equal(compareVectors(m, mergeVectors(b, a)), 'equal');
        assert.equal(compareVectors(mergeVectors(m, a), m), 'equal');
        if (compareVectors(a, b) === 'concurrent') {
          assert.equal(compareVectors(m, a), 'after');
          assert.equal(compareVectors(m, b), 'after');
        }
      }),
      { numRuns: 500 },
    );
  });

  it('increment moves one writer one step ahead and leaves the input alone', () => {
    fc.assert(
      fc.property(vector, writer, (v, w) => {
        const before = JSON.stringify(Object.entries(v));
        const next = incrementVector(v, w);
        assert.equal(compareVectors(next, v), 'after');
        assert.equal(at(next, w), at(v, w) + 1);
        for (const other of writersOf(v)) if (other !== w) assert.equal(at(next, other), at(v, other));
        assert.equal(JSON.stringify(Object.entries(v)), before);
        assert.equal(Object.getPrototypeOf(next), Object.prototype);
      }),
      { numRuns: 300 },
    );
  });

  it('two writers incrementing the same vector become concurrent; merging resolves them', () => {
    const base = incrementVector(emptyVector(), 'a');
    const fromA = incrementVector(base, 'a');
    const fromB = incrementVector(base, 'b');
    assert.equal(compareVectors(fromA, fromB), 'concurrent');
    assert.deepEqual(mergeVectors(fromA, fromB), { a: 2, b: 1 });
  });

  it('refuses bad input with typed errors', () => {
    throwsCode(() => incrementVector({}, ''), 'bad_request');
    throwsCode(() => incrementVector({ a: Number.MAX_SAFE_INTEGER }, 'a'), 'bad_version');
    for (const bad of [null, 3, [1], { a: -1 }, { a: 1.5 }, { '': 1 }, { a: '1' }, { a: 2 ** 53 }]) {
      throwsCode(() => validateVector(bad), 'bad_version');
    }
    assert.deepEqual(validateVector({ a: 0, b: 3 }), { a: 0, b: 3 });
  });
});

interface Doc extends VectorState<readonly string[]> {
  readonly key: string;
}

const doc: fc.Arbitrary<Doc> = fc.record({
  key: fc.constant('docs/1'),
  vector,
  state: fc.uniqueArray(fc.constantFrom('x', 'y', 'z'), { maxLength: 3 }),
  ts: fc.integer({ min: 0, max: 3 }),
  source: fc.constantFrom('p1', 'p2'),
});
const concurrentPair = fc
  .tuple(doc, doc)
  .filter(([a, b]) => compareVectors(a.vector, b.vector) === 'concurrent');

const unionMerge: ConcurrentPolicy<Doc> = {
  merge: (current, incoming) => [...new Set([...current.state, ...incoming.state])].sort(),
};

describe('resolveConcurrent', () => {
  it("'reject' refuses the incoming update as a conflict", () => {
    const current: Doc = { key: 'docs/1', vector: { a: 1 }, state: ['x'], ts: 1, source: 'p1' };
    const incoming: Doc = { key: 'docs/1', vector: { b: 1 }, state: ['y'], ts: 2, source: 'p2' };
    assert.deepEqual(resolveConcurrent(current, incoming, 'reject'), { result: 'conflict', value: current });
  });

  it('last-writer-wins picks the larger (ts, source) with the merged vector', () => {
    const current: Doc = { key: 'docs/1', vector: { a: 1 }, state: ['x'], ts: 5, source: 'p1' };
    const later: Doc = { key: 'docs/1', vector: { b: 1 }, state: ['y'], ts: 6, source: 'p0' };
    const tie: Doc = { ...later, ts: 5, source: 'p2' };
    assert.deepEqual(resolveConcurrent(current, later, 'last-writer-wins'), {
      result: 'applied',
      value: { ...later, vector: { a: 1, b: 1 } },
      winner: 'incoming',
    });
    assert.equal(resolveConcurrent(current, tie, 'last-writer-wins').value.state, tie.state, 'p2 > p1');
    const earlier = { ...later, ts: 4 };
    const kept = resolveConcurrent(current, earlier, 'last-writer-wins');
    assert.equal(kept.result === 'applied' && kept.winner, 'current');
    assert.equal(kept.value.state, current.state);
  });

  it('last-writer-wins is deterministic: the same pair gives the same value in either order', () => {
    fc.assert(
      fc.property(concurrentPair, ([a, b]) => {
        const ab = resolveConcurrent(a, b, 'last-writer-wins');
        const ba = resolveConcurrent(b, a, 'last-writer-wins');
        assert.deepEqual(ab.value, ba.value);
        const winner = ab.value;
        for (const other of [a, b]) {
          assert.ok(winner.ts > other.ts || (winner.ts === other.ts && winner.source >= other.source));
          assert.equal(compareVectors(winner.vector, other.vector), 'after', 'supersedes both');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a merge function combines the states; a commutative one converges in either order', () => {
    fc.assert(
      fc.property(concurrentPair, ([a, b]) => {
        const ab = resolveConcurrent(a, b, unionMerge);
        const ba = resolveConcurrent(b, a, unionMerge);
        assert.equal(ab.result === 'applied' && ab.winner, 'merged');
        assert.deepEqual(ab.value, ba.value);
        assert.deepEqual(ab.value.state, [...new Set([...a.state, ...b.state])].sort());
        assert.equal(ab.value.ts, Math.max(a.ts, b.ts));
        // Either original arriving after the merge is now stale.
        assert.equal(decideVectorApply(ab.value, a, unionMerge).result, 'stale');
        assert.equal(decideVectorApply(ab.value, b, unionMerge).result, 'stale');
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a policy that is none of the three with bad_config', () => {
    const a: Doc = { key: 'docs/1', vector: { a: 1 }, state: [], ts: 0, source: 'p' };
    const b: Doc = { ...a, vector: { b: 1 } };
    throwsCode(() => resolveConcurrent(a, b, 'newest' as unknown as ConcurrentPolicy<Doc>), 'bad_config');
  });
});

describe('decideVectorApply', () => {
  const base: Doc = { key: 'docs/1', vector: { a: 2 }, state: ['x'], ts: 1, source: 'p1' };

  it('applies the apply rules by vector order', () => {
    assert.equal(decideVectorApply(undefined, base, 'reject').result, 'applied');
    const newer = { ...base, vector: { a: 3 }, state: ['y'] };
    assert.deepEqual(decideVectorApply(base, newer, 'reject'), { result: 'applied', value: newer });
    assert.deepEqual(decideVectorApply(newer, base, 'reject'), { result: 'stale', value: newer });
    assert.equal(decideVectorApply(base, { ...base, ts: 9 }, 'reject').result, 'duplicate');
    assert.equal(decideVectorApply(base, { ...base, state: ['z'] }, 'reject').result, 'conflict');
    const other = { ...base, vector: { a: 1, b: 1 }, state: ['q'], ts: 2 };
    assert.deepEqual(decideVectorApply(base, other, 'reject'), { result: 'conflict', value: base });
    const lww = decideVectorApply(base, other, 'last-writer-wins');
    assert.equal(lww.result, 'applied');
    assert.deepEqual(lww.value, { ...other, vector: { a: 2, b: 1 } });
  });
});
