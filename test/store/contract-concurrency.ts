import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ApplyResult, PutOutcome, SnapshotInput } from '../../src/index.js';
import type { PutOptions } from '../../src/store/types.js';
import type { StoreFactory } from './helpers.js';
import { assertIncreasingRevisions, collect, seededRandom, snapshotsOf } from './helpers.js';

interface Op {
  readonly key: string;
  readonly version: number | undefined;
  readonly ifVersion: number | undefined;
  readonly tag: string;
  readonly deleted: boolean;
}

interface ModelEntry {
  readonly version: number;
  readonly revision: number;
  readonly content: string;
}

/**
 * The apply table written out independently of the code under test: puts are decided one
 * after another in call order, whatever the store batches together.
 */
class Model {
  readonly entries = new Map<string, ModelEntry>();
  revision: number;

  constructor(revision: number) {
    this.revision = revision;
  }

  put(op: Op): PutOutcome {
    const current = this.entries.get(op.key);
    const currentVersion = current?.version ?? 0;
    const refuse = (result: ApplyResult): PutOutcome => ({
      result,
      version: currentVersion,
      revision: current?.revision ?? 0,
    });
    if (op.ifVersion !== undefined && op.ifVersion !== currentVersion) return refuse('conflict');
    const version = op.version ?? (op.ifVersion !== undefined ? op.ifVersion + 1 : currentVersion + 1);
    const content = op.deleted ? 'deleted' : op.tag;
    if (current === undefined || version > currentVersion) {
      this.revision++;
      this.entries.set(op.key, { version, revision: this.revision, content });
      return { result: 'applied', version, revision: this.revision };
    }
    if (version < currentVersion) return refuse('stale');
    return refuse(current.content === content ? 'duplicate' : 'conflict');
  }
}

function toPut(op: Op): [SnapshotInput, PutOptions | undefined] {
  const input: SnapshotInput = {
    key: op.key,
    version: op.version,
    state: op.deleted ? null : { tag: op.tag },
    deleted: op.deleted || undefined,
  };
  return [input, op.ifVersion === undefined ? undefined : { ifVersion: op.ifVersion }];
}

/** Many puts at once: each outcome as if applied one by one in call order. */
export function concurrencyContract(factory: StoreFactory): void {
  describe('concurrency', () => {
    it('concurrent puts to one key with random versions end at the max, each outcome per the apply table', async () => {
      const store = await factory.create();
      const random = seededRandom(20240611);
      const watch = store.watch('hot/>');
      await collect(watch, (e) => e.kind === 'synced');
      const model = new Model(0);
      const ops: Op[] = Array.from({ length: 400 }, () => ({
        key: 'hot/key',
        version: 1 + Math.floor(random() * 60),
        ifVersion: undefined,
        tag: random() < 0.5 ? 'a' : 'b',
        deleted: false,
      }));
      const outcomes = await Promise.all(ops.map((op) => store.put(...toPut(op))));
      const expected = ops.map((op) => model.put(op));
      assert.deepEqual(outcomes, expected);
      const max = Math.max(...ops.map((op) => op.version!));
      assert.equal((await store.get('hot/key'))?.version, max);
      const applied = outcomes.filter((o) => o.result === 'applied');
      assertIncreasingRevisions(
        applied.map((o) => ({ ...o, key: 'hot/key', state: null, ts: 0, source: '' })),
      );
      const events = await collect(
        watch,
        (e) => e.kind === 'snapshot' && e.snapshot.revision === model.revision,
      );
      const seen = snapshotsOf(events);
      assertIncreasingRevisions(seen);
      assert.equal(seen.at(-1)?.version, max);
      watch.stop();
    });

    it('concurrent next puts get consecutive versions; one of many equal ifVersion puts wins', async () => {
      const store = await factory.create();
      const outcomes = await Promise.all(
        Array.from({ length: 100 }, (_, i) => store.put({ key: 'seq', state: i })),
      );
      assert.deepEqual(
        outcomes.map((o) => o.version),
        Array.from({ length: 100 }, (_, i) => i + 1),
      );
      const race = await Promise.all(
        Array.from({ length: 50 }, (_, i) => store.put({ key: 'cas', state: i }, { ifVersion: 0 })),
      );
      assert.equal(race.filter((o) => o.result === 'applied').length, 1);
      assert.equal(race.filter((o) => o.result === 'conflict').length, 49);
      assert.ok(race.every((o) => o.version === 1));
    });

    it('any mix of puts, nexts, compare-and-sets and deletes matches the model', async () => {
      const store = await factory.create();
      let run = 0;
      const op = fc.record({
        key: fc.constantFrom('a', 'b', 'c'),
        version: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
        ifVersion: fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined, freq: 4 }),
        tag: fc.constantFrom('x', 'y'),
        deleted: fc.boolean(),
      });
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.array(op, { minLength: 1, maxLength: 6 }), { maxLength: 8 }),
          async (groups) => {
            const prefix = `prop/${run++}/`;
            const model = new Model(store.currentRevision());
            for (const group of groups) {
              const ops = group.map((o) => ({ ...o, key: prefix + o.key }));
              const outcomes = await Promise.all(ops.map((o) => store.put(...toPut(o))));
              assert.deepEqual(
                outcomes,
                ops.map((o) => model.put(o)),
              );
            }
            for (const [key, entry] of model.entries) {
              const stored = await store.get(key);
              assert.equal(stored?.version, entry.version);
              assert.equal(stored?.revision, entry.revision);
              assert.equal(stored?.deleted ?? false, entry.content === 'deleted');
            }
          },
        ),
        { numRuns: 40, seed: 7 },
      );
    });
  });
}
