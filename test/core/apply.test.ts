import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ApplyOptions, ApplyResult } from '../../src/core/apply.js';
import { decideApply } from '../../src/core/apply.js';
import { Replica } from '../../src/core/replica.js';
import type { Snapshot } from '../../src/core/snapshot.js';
import { MAX_VERSION } from '../../src/core/version.js';

function snap(version: number, state: unknown, extra: Partial<Snapshot> = {}): Snapshot {
  return { key: 'orders/eu/1', version, state, ts: 1_700_000_000_000, source: 'p1', ...extra };
}

describe('decideApply: the apply rules table', () => {
  it('applies anything over no current, and a greater version over the current', () => {
    assert.equal(decideApply(undefined, snap(1, { a: 1 })), 'applied');
    assert.equal(decideApply(undefined, snap(MAX_VERSION, 'x')), 'applied');
    assert.equal(decideApply(snap(4, { a: 1 }), snap(5, { a: 1 })), 'applied');
    assert.equal(decideApply(snap(4, { a: 1 }), snap(1000, { a: 2 })), 'applied', 'gaps are fine');
    assert.equal(decideApply(snap(MAX_VERSION - 1, 1), snap(MAX_VERSION, 1)), 'applied');
  });

  it('calls an equal version with the same content a duplicate, whatever ts and source say', () => {
    assert.equal(decideApply(snap(5, { a: [1, 2] }), snap(5, { a: [1, 2] })), 'duplicate');
    assert.equal(decideApply(snap(5, 'x'), snap(5, 'x', { ts: 1, source: 'other' })), 'duplicate');
    const bytes = snap(5, new Uint8Array([1, 2]), { contentType: 'application/octet-stream' });
    const sameBytes = snap(5, new Uint8Array([1, 2]), { contentType: 'application/octet-stream' });
    assert.equal(decideApply(bytes, sameBytes), 'duplicate');
  });

  it('calls an equal version with different content a conflict', () => {
    assert.equal(decideApply(snap(5, { a: 1 }), snap(5, { a: 2 })), 'conflict');
    assert.equal(decideApply(snap(5, { a: 1 }), snap(5, { a: 1, b: 1 })), 'conflict');
    assert.equal(decideApply(snap(5, [1, 2]), snap(5, [2, 1])), 'conflict');
    assert.equal(decideApply(snap(5, 'x'), snap(5, 'x', { contentType: 'text/plain' })), 'conflict');
  });

  it('calls a lower version stale', () => {
    assert.equal(decideApply(snap(5, 'x'), snap(4, 'x')), 'stale');
    assert.equal(decideApply(snap(MAX_VERSION, 'x'), snap(1, 'y')), 'stale');
  });

  it('refuses ifVersion that does not match the current version as a conflict', () => {
    assert.equal(decideApply(snap(5, 'x'), snap(6, 'y'), { ifVersion: 4 }), 'conflict');
    assert.equal(decideApply(snap(5, 'x'), snap(6, 'y'), { ifVersion: 6 }), 'conflict');
    assert.equal(decideApply(undefined, snap(1, 'y'), { ifVersion: 3 }), 'conflict');
    // Even a write that would otherwise be a duplicate or stale is a conflict when the CAS fails.
    assert.equal(decideApply(snap(5, 'x'), snap(5, 'x'), { ifVersion: 4 }), 'conflict');
    assert.equal(decideApply(snap(5, 'x'), snap(2, 'x'), { ifVersion: 4 }), 'conflict');
  });

  it('applies ifVersion that matches, then the version rules still hold', () => {
    assert.equal(decideApply(snap(5, 'x'), snap(6, 'y'), { ifVersion: 5 }), 'applied');
    assert.equal(decideApply(snap(5, 'x'), snap(5, 'x'), { ifVersion: 5 }), 'duplicate');
    assert.equal(decideApply(snap(5, 'x'), snap(3, 'y'), { ifVersion: 5 }), 'stale');
  });

  it('treats ifVersion 0 as "key never written"', () => {
    assert.equal(decideApply(undefined, snap(1, 'x'), { ifVersion: 0 }), 'applied');
    assert.equal(decideApply(snap(1, 'x'), snap(2, 'y'), { ifVersion: 0 }), 'conflict');
    assert.equal(decideApply(snap(3, 'x', { deleted: true }), snap(4, 'y'), { ifVersion: 0 }), 'conflict');
  });

  it('orders tombstones like writes', () => {
    const tomb = snap(7, null, { deleted: true });
    assert.equal(decideApply(snap(6, 'x'), tomb), 'applied', 'a newer tombstone deletes');
    assert.equal(decideApply(tomb, snap(6, 'x')), 'stale', 'a write below the tombstone is stale');
    assert.equal(decideApply(tomb, snap(8, 'x')), 'applied', 'a newer write revives the key');
    assert.equal(decideApply(tomb, snap(7, null, { deleted: true, ts: 5 })), 'duplicate');
    assert.equal(decideApply(snap(7, null), tomb), 'conflict', 'a tombstone differs from a write');
    assert.equal(decideApply(tomb, snap(8, null, { deleted: true })), 'applied');
  });

  it('lets a store compare content its own way', () => {
    const always = () => true;
    assert.equal(decideApply(snap(5, 'x'), snap(5, 'y'), undefined, always), 'duplicate');
  });
});

/** The apply rules written out independently, over (version, content id) pairs. */
interface ModelEntry {
  version: number;
  content: string;
}

function modelClassify(
  current: ModelEntry | undefined,
  incoming: ModelEntry,
  ifVersion: number | undefined,
): ApplyResult {
  const held = current?.version ?? 0;
  if (ifVersion !== undefined && ifVersion !== held) return 'conflict';
  if (current === undefined || incoming.version > held) return 'applied';
  if (incoming.version < held) return 'stale';
  return incoming.content === current.content ? 'duplicate' : 'conflict';
}

interface Step {
  version: number;
  value: number;
  deleted: boolean;
  ifVersion: number | undefined;
}

// Small ranges on purpose: many duplicates, equal versions with other content, and gaps.
const step = fc.record({
  version: fc.integer({ min: 1, max: 12 }),
  value: fc.integer({ min: 0, max: 2 }),
  deleted: fc.boolean(),
  ifVersion: fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined, freq: 4 }),
});

function toSnapshot(s: Step): Snapshot {
  return snap(s.version, s.deleted ? null : { value: s.value, tags: [s.value] }, {
    deleted: s.deleted || undefined,
    ts: s.version * 10 + s.value,
  });
}

const contentOf = (s: Step): string => (s.deleted ? 'deleted' : `v${s.value}`);

describe('Replica against a reference model', () => {
  it('classifies every apply like the model, never regresses, and ends at the highest applied', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const replica = new Replica();
        let model: ModelEntry | undefined;
        let highestApplied = 0;
        for (const s of steps) {
          const before = replica.version;
          const options: ApplyOptions | undefined =
            s.ifVersion === undefined ? undefined : { ifVersion: s.ifVersion };
          const outcome = replica.apply(toSnapshot(s), options);
          const expected = modelClassify(model, { version: s.version, content: contentOf(s) }, s.ifVersion);
          assert.equal(outcome.result, expected);
          if (expected === 'applied') {
            model = { version: s.version, content: contentOf(s) };
            highestApplied = Math.max(highestApplied, s.version);
          }
          assert.equal(outcome.current, model?.version ?? 0);
          assert.ok(replica.version >= before, 'version never decreases');
          assert.equal(replica.version, model?.version ?? 0);
        }
        assert.equal(replica.version, highestApplied);
        assert.equal(replica.get()?.deleted === true, model?.content === 'deleted');
      }),
      { numRuns: 300 },
    );
  });

  it('without ifVersion, ends at the highest version in the stream whatever the order', () => {
    const plain = step.map((s) => ({ ...s, ifVersion: undefined }));
    // Every snapshot twice, in any order: a network with retries and reordering.
    const stream = fc
      .array(plain, { minLength: 1, maxLength: 30 })
      .chain((steps) =>
        fc.tuple(
          fc.constant(steps),
          fc.shuffledSubarray([...steps, ...steps], { minLength: steps.length * 2 }),
        ),
      );
    fc.assert(
      fc.property(stream, ([steps, shuffled]) => {
        const replica = new Replica();
        for (const s of shuffled) replica.apply(toSnapshot(s));
        assert.equal(replica.version, Math.max(...steps.map((s) => s.version)));
      }),
      { numRuns: 200 },
    );
  });
});
