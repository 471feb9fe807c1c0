import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { DEV_MODE } from '../../src/core/env.js';
import { isSbmpError } from '../../src/core/errors.js';
import { Replica, ReplicaMap } from '../../src/core/replica.js';
import type { Snapshot } from '../../src/core/snapshot.js';

function snap<T>(
  version: number,
  state: T,
  key = 'devices/d1',
  extra: Partial<Omit<Snapshot, 'state'>> = {},
): Snapshot<T> {
  return { key, version, state, ts: 1_700_000_000_000 + version, source: 'test', ...extra };
}

function tombstone(version: number, key = 'devices/d1'): Snapshot<null> {
  return snap(version, null, key, { deleted: true });
}

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => isSbmpError(err) && err.code === code);
}

describe('Replica', () => {
  it('holds the applied snapshot and reports the version held after each apply', () => {
    const replica = new Replica<{ on: boolean }>();
    assert.equal(replica.version, 0);
    assert.equal(replica.get(), undefined);
    const first = snap(3, { on: true });
    assert.deepEqual(replica.apply(first), { result: 'applied', current: 3 });
    assert.equal(replica.get(), first, 'held as is, not copied');
    assert.deepEqual(replica.apply(snap(2, { on: false })), { result: 'stale', current: 3 });
    assert.deepEqual(replica.apply(snap(3, { on: false })), { result: 'conflict', current: 3 });
    assert.deepEqual(replica.apply(snap(3, { on: true })), { result: 'duplicate', current: 3 });
    assert.deepEqual(replica.apply(snap(9, { on: false }), { ifVersion: 4 }), {
      result: 'conflict',
      current: 3,
    });
    assert.deepEqual(replica.apply(snap(9, { on: false }), { ifVersion: 3 }), {
      result: 'applied',
      current: 9,
    });
    assert.equal(replica.key, 'devices/d1');
  });

  it('refuses bad versions, bad ifVersion and snapshots of another key with typed errors', () => {
    const replica = new Replica({ key: 'devices/d1' });
    for (const version of [0, -1, 1.5, Number.NaN, 2 ** 53])
      throwsCode(() => replica.apply(snap(version, 1)), 'bad_version');
    throwsCode(() => replica.apply(snap(1, 1), { ifVersion: -2 }), 'bad_version');
    throwsCode(() => replica.apply(snap(1, 1, 'devices/d2')), 'bad_key');
    throwsCode(() => new Replica().apply(snap(1, 1, 'bad key')), 'bad_key');
    throwsCode(() => new Replica({ key: '' }), 'bad_key');
    assert.equal(replica.version, 0, 'nothing was applied');
  });

  it('notifies listeners after an applied replace only, and stops after unsubscribe', () => {
    const replica = new Replica<number>();
    const seen: number[] = [];
    const unsubscribe = replica.subscribe((s) => seen.push(s.version));
    replica.apply(snap(1, 1));
    replica.apply(snap(1, 1)); // duplicate
    replica.apply(snap(1, 2)); // conflict
    replica.apply(snap(0 + 2, 2));
    replica.apply(snap(1, 1)); // stale
    unsubscribe();
    unsubscribe();
    replica.apply(snap(5, 5));
    assert.deepEqual(seen, [1, 2]);
  });

  it('delivers a re-entrant apply after the current one, so no listener sees a regression', () => {
    const replica = new Replica<number>();
    const order: string[] = [];
    replica.subscribe((s) => {
      order.push(`first:${s.version}`);
      if (s.version === 1) {
        const outcome = replica.apply(snap(2, 2));
        assert.equal(outcome.result, 'applied');
        assert.equal(replica.version, 2, 'the replace itself is immediate');
      }
    });
    replica.subscribe((s) => order.push(`second:${s.version}`));
    replica.apply(snap(1, 1));
    assert.deepEqual(order, ['first:1', 'second:1', 'first:2', 'second:2']);
  });

  it('gives a listener added during a delivery only what is applied after it subscribed', () => {
    const replica = new Replica<number>();
    const late: number[] = [];
    let added = false;
    replica.subscribe((s) => {
      if (s.version === 1) replica.apply(snap(2, 2)); // queued behind version 1
      if (!added) {
        added = true;
        replica.subscribe((t) => late.push(t.version));
      }
    });
    replica.apply(snap(1, 1));
    replica.apply(snap(3, 3));
    assert.deepEqual(late, [3]);
  });

  it('does not call a listener removed during a delivery', () => {
    const replica = new Replica<number>();
    const seen: number[] = [];
    let unsubscribeSecond = () => {};
    replica.subscribe(() => unsubscribeSecond());
    unsubscribeSecond = replica.subscribe((s) => seen.push(s.version));
    replica.apply(snap(1, 1));
    assert.deepEqual(seen, []);
  });

  it('property: with listeners applying re-entrantly, every listener sees strictly increasing versions', () => {
    const action = fc.record({
      version: fc.integer({ min: 1, max: 30 }),
      reentrant: fc.array(fc.integer({ min: 1, max: 30 }), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(
        fc.array(action, { maxLength: 40 }),
        fc.integer({ min: 1, max: 4 }),
        (actions, listeners) => {
          const replica = new Replica<number>();
          const applied: number[] = [];
          const seen: number[][] = Array.from({ length: listeners }, () => []);
          const reentrantBy = new Map<number, number[]>(actions.map((a) => [a.version, a.reentrant]));
          let depth = 0;
          for (let i = 0; i < listeners; i++) {
            replica.subscribe((s) => {
              seen[i]!.push(s.version);
              assert.ok(replica.version >= s.version, 'the replica is never behind what a listener is told');
              // The first listener applies more from inside the callback, bounded in depth.
              if (i === 0 && depth < 5) {
                depth++;
                for (const v of reentrantBy.get(s.version) ?? []) {
                  if (replica.apply(snap(v, v)).result === 'applied') applied.push(v);
                }
                depth--;
              }
            });
          }
          for (const a of actions)
            if (replica.apply(snap(a.version, a.version)).result === 'applied') applied.push(a.version);
          for (const versions of seen) {
            for (let j = 1; j < versions.length; j++)
              assert.ok(versions[j]! > versions[j - 1]!, `${versions}`);
            // Applied versions rise in the order the replaces happened, so sorted = that order.
            const inReplaceOrder = [...applied].sort((a, b) => a - b);
            assert.deepEqual(versions, inReplaceOrder, 'each listener sees every applied version, in order');
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('isolates a throwing listener: the apply succeeds and the other listeners run', () => {
    const errors: [unknown, string][] = [];
    const replica = new Replica<number>({ onListenerError: (error, key) => errors.push([error, key]) });
    const seen: number[] = [];
    const boom = new Error('listener failed');
    replica.subscribe(() => {
      throw boom;
    });
    replica.subscribe((s) => seen.push(s.version));
    assert.equal(replica.apply(snap(1, 1)).result, 'applied');
    assert.equal(replica.apply(snap(2, 2)).result, 'applied');
    assert.deepEqual(seen, [1, 2]);
    assert.deepEqual(errors, [
      [boom, 'devices/d1'],
      [boom, 'devices/d1'],
    ]);
  });

  it('hands out deeply frozen snapshots in development mode', { skip: !DEV_MODE }, () => {
    const replica = new Replica<{ nested: { list: number[] } }>();
    replica.apply(snap(1, { nested: { list: [1, 2] } }));
    const held = replica.get()!;
    assert.ok(Object.isFrozen(held) && Object.isFrozen(held.state.nested.list));
    // ES modules are strict mode code, so writes to frozen objects throw.
    assert.throws(() => {
      held.state.nested.list.push(3);
    }, TypeError);
    assert.throws(() => {
      (held.state.nested as { list: number[] }).list = [];
    }, TypeError);
    assert.deepEqual(held.state.nested.list, [1, 2]);
  });
});

describe('Replica in other runtime modes (child processes)', () => {
  let dir = '';
  const replicaModule = fileURLToPath(new URL('../../src/core/replica.ts', import.meta.url));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sbmp-replica-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function runScript(source: string, env: Record<string, string>): Promise<string> {
    const file = join(dir, `script-${Math.random().toString(36).slice(2)}.ts`);
    return writeFile(file, source).then(
      () =>
        new Promise<string>((resolve, reject) => {
          execFile(
            process.execPath,
            ['--import', 'tsx', file],
            { env: { ...process.env, ...env }, timeout: 20_000 },
            (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
          );
        }),
    );
  }

  it('does not copy or freeze in production', async () => {
    const out = await runScript(
      `import { Replica } from ${JSON.stringify(replicaModule)};
       const replica = new Replica();
       const s = { key: 'a', version: 1, state: { x: 1 }, ts: 0, source: 't' };
       replica.apply(s);
       console.log(JSON.stringify({ same: replica.get() === s, frozen: Object.isFrozen(s.state) }));`,
      { NODE_ENV: 'production' },
    );
    assert.deepEqual(JSON.parse(out), { same: true, frozen: false });
  });

  it('reports a listener error as uncaught when no handler is given, after the apply succeeded', async () => {
    const out = await runScript(
      `import { Replica } from ${JSON.stringify(replicaModule)};
       const lines = [];
       process.on('uncaughtException', (err) => {
         lines.push('uncaught:' + err.message);
         console.log(JSON.stringify(lines));
       });
       const replica = new Replica();
       replica.subscribe(() => { throw new Error('E1'); });
       replica.subscribe(() => lines.push('second listener ran'));
       lines.push(replica.apply({ key: 'a', version: 1, state: 1, ts: 0, source: 't' }).result);`,
      {},
    );
    assert.deepEqual(JSON.parse(out), ['second listener ran', 'applied', 'uncaught:E1']);
  });

  it('keeps delivering when the error handler itself throws, and reports that failure', async () => {
    const out = await runScript(
      `import { Replica } from ${JSON.stringify(replicaModule)};
       const lines = [];
       process.on('uncaughtException', (err) => {
         lines.push('uncaught:' + err.message);
         console.log(JSON.stringify(lines));
       });
       const replica = new Replica({ onListenerError: () => { throw new Error('H1'); } });
       replica.subscribe(() => { throw new Error('E1'); });
       replica.subscribe(() => lines.push('second listener ran'));
       lines.push(replica.apply({ key: 'a', version: 1, state: 1, ts: 0, source: 't' }).result);`,
      {},
    );
    assert.deepEqual(JSON.parse(out), ['second listener ran', 'applied', 'uncaught:H1']);
  });
});

describe('ReplicaMap', () => {
  it('applies per key, and treats a tombstone as a write that removes the key', () => {
    const map = new ReplicaMap<{ n: number } | null>();
    assert.equal(map.apply(snap(1, { n: 1 }, 'k/a')).result, 'applied');
    assert.equal(map.apply(snap(5, { n: 5 }, 'k/b')).result, 'applied');
    assert.equal(map.apply(snap(1, { n: 9 }, 'k/b')).result, 'stale', 'keys are independent');
    assert.equal(map.size, 2);
    assert.deepEqual([...map.keys()], ['k/a', 'k/b']);

    assert.deepEqual(map.apply(tombstone(6, 'k/b')), { result: 'applied', current: 6 });
    assert.equal(map.has('k/b'), false);
    assert.equal(map.get('k/b')?.deleted, true, 'get returns the tombstone');
    assert.equal(map.version('k/b'), 6);
    assert.equal(map.size, 1);
    assert.equal(map.heldCount, 2);
    assert.deepEqual([...map.keys()], ['k/a']);
    assert.deepEqual(
      [...map.values()].map((s) => s.key),
      ['k/a'],
    );
    assert.deepEqual(
      [...map].map(([k]) => k),
      ['k/a'],
    );

    assert.deepEqual(map.apply(snap(6, { n: 6 }, 'k/b')), { result: 'conflict', current: 6 });
    assert.deepEqual(map.apply(snap(4, { n: 4 }, 'k/b')), { result: 'stale', current: 6 });
    assert.equal(map.apply(tombstone(6, 'k/b')).result, 'duplicate');
    assert.equal(map.apply(snap(7, { n: 7 }, 'k/b')).result, 'applied', 'a newer write revives it');
    assert.equal(map.has('k/b'), true);
    assert.equal(map.size, 2);
    assert.equal(
      map.apply(tombstone(2, 'k/new')).result,
      'applied',
      'a tombstone for an unknown key is held',
    );
    assert.equal(map.size, 2);
    assert.equal(map.has('k/new'), false);
  });

  it('refuses bad keys and versions with typed errors', () => {
    const map = new ReplicaMap();
    throwsCode(() => map.apply(snap(1, 1, 'a//b')), 'bad_key');
    throwsCode(() => map.apply(snap(0, 1, 'a')), 'bad_version');
    assert.equal(map.heldCount, 0);
  });

  it('retainOnly forgets keys outside the set, tombstones included, and tells onDrop', () => {
    const map = new ReplicaMap<number | null>();
    map.apply(snap(1, 1, 'k/a'));
    map.apply(snap(2, 2, 'k/b'));
    map.apply(tombstone(3, 'k/c'));
    map.apply(snap(4, 4, 'k/d'));
    const events: string[] = [];
    map.subscribe(
      (s) => events.push(`snapshot:${s.key}`),
      (key) => events.push(`drop:${key}`),
    );
    const dropped = map.retainOnly(['k/b', 'k/x']);
    assert.deepEqual(dropped.sort(), ['k/a', 'k/c', 'k/d']);
    assert.deepEqual(events.sort(), ['drop:k/a', 'drop:k/c', 'drop:k/d']);
    assert.deepEqual([...map.keys()], ['k/b']);
    assert.equal(map.size, 1);
    assert.equal(map.heldCount, 1);
    assert.equal(map.get('k/c'), undefined);
    assert.deepEqual(map.retainOnly(new Set(['k/b'])), []);
    assert.deepEqual(map.retainOnly([]), ['k/b']);
    assert.equal(map.size, 0);
  });

  it('notifies subscribers of applied snapshots only, in order, re-entrant applies included', () => {
    const errors: string[] = [];
    const map = new ReplicaMap<number>({ onListenerError: (_e, key) => errors.push(key) });
    const seen: string[] = [];
    map.subscribe((s) => {
      if (s.key === 'k/a' && s.version === 1) map.apply(snap(2, 2, 'k/a'));
      throw new Error('isolated');
    });
    const unsubscribe = map.subscribe((s) => seen.push(`${s.key}@${s.version}`));
    map.apply(snap(1, 1, 'k/a'));
    map.apply(snap(1, 1, 'k/a')); // stale now
    map.apply(snap(1, 1, 'k/b'));
    unsubscribe();
    map.apply(snap(2, 1, 'k/b'));
    assert.deepEqual(seen, ['k/a@1', 'k/a@2', 'k/b@1']);
    assert.deepEqual(errors, ['k/a', 'k/a', 'k/b', 'k/b']);
  });

  it('applyResult gives the result alone; apply reports the version held, whatever a listener applied meanwhile', () => {
    const map = new ReplicaMap<number>();
    map.subscribe((s) => {
      if (s.key === 'k/a' && s.version === 1) map.apply(snap(9, 9, 'k/b'));
    });
    assert.deepEqual(map.apply(snap(1, 1, 'k/a')), { result: 'applied', current: 1 });
    assert.equal(map.version('k/b'), 9, 'the listener applied k/b during the apply of k/a');
    assert.deepEqual(map.apply(snap(3, 3, 'k/b')), { result: 'stale', current: 9 });
    assert.equal(map.applyResult(snap(3, 3, 'k/b')), 'stale');
    assert.equal(map.applyResult(snap(10, 10, 'k/b')), 'applied');
    assert.equal(map.applyResult(snap(10, 10, 'k/b')), 'duplicate');
    assert.equal(map.applyResult(snap(10, 11, 'k/b')), 'conflict');
    assert.deepEqual(map.apply(snap(2, 2, 'k/c'), { ifVersion: 5 }), { result: 'conflict', current: 0 });
    assert.equal(map.version('k/b'), 10);
    throwsCode(() => map.applyResult(snap(0, 1, 'k/d')), 'bad_version');
  });

  it('property: per key, subscribers see strictly increasing versions and the map matches a model', () => {
    const op = fc.oneof(
      {
        weight: 8,
        arbitrary: fc.record({
          key: fc.constantFrom('k/a', 'k/b', 'k/c'),
          version: fc.integer({ min: 1, max: 15 }),
          deleted: fc.boolean(),
        }),
      },
      { weight: 1, arbitrary: fc.subarray(['k/a', 'k/b', 'k/c']).map((keep) => ({ keep })) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 50 }), (ops) => {
        const map = new ReplicaMap<number | null>();
        const model = new Map<string, { version: number; deleted: boolean }>();
        const lastSeen = new Map<string, number>();
        map.subscribe(
          (s) => {
            assert.ok(s.version > (lastSeen.get(s.key) ?? 0), 'no regression per key');
            lastSeen.set(s.key, s.version);
          },
          (key) => lastSeen.delete(key),
        );
        for (const o of ops) {
          if ('keep' in o) {
            map.retainOnly(o.keep);
            for (const key of [...model.keys()]) if (!o.keep.includes(key)) model.delete(key);
            continue;
          }
          const held = model.get(o.key);
          map.apply(o.deleted ? tombstone(o.version, o.key) : snap(o.version, 0, o.key));
          if (held === undefined || o.version > held.version)
            model.set(o.key, { version: o.version, deleted: o.deleted });
        }
        const live = [...model].filter(([, v]) => !v.deleted).map(([k]) => k);
        assert.deepEqual([...map.keys()].sort(), live.sort());
        assert.equal(map.size, live.length);
        for (const [key, v] of model) assert.equal(map.version(key), v.version);
      }),
      { numRuns: 200 },
    );
  });
});
