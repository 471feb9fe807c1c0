import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InFlightTable, MAX_REQUEST_ID } from '../../src/client/in-flight-table.js';

interface Entry {
  requestId: number;
  readonly name: string;
}

const entry = (name: string): Entry => ({ requestId: 0, name });

describe('in-flight table', () => {
  it('hands out rising ids, finds each entry by its id once, and counts what it holds', () => {
    const table = new InFlightTable<Entry>();
    const [a, b, c] = [entry('a'), entry('b'), entry('c')];
    assert.deepEqual([table.add(a), table.add(b), table.add(c)], [1, 2, 3]);
    assert.deepEqual([a.requestId, b.requestId, c.requestId], [1, 2, 3]);
    assert.equal(table.size, 3);
    assert.equal(table.take(2), b);
    assert.equal(table.take(2), undefined, 'an id is answered once');
    assert.equal(table.take(99), undefined, 'an id never handed out');
    assert.equal(table.take(1 + 64), undefined, "an id that maps to a held entry's slot is not that entry");
    assert.equal(table.size, 2);
    assert.equal(table.add(entry('d')), 4, 'ids keep rising after an answer');
  });

  it('skips an id whose slot is still held, so a publish long unanswered keeps its id', () => {
    const table = new InFlightTable<Entry>();
    const stuck = entry('stuck');
    table.add(stuck);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const e = entry(`e${i}`);
      const id = table.add(e);
      assert.notEqual(id, stuck.requestId);
      assert.equal(table.take(id), e);
      seen.add(id);
    }
    assert.equal(seen.size, 1000, 'every id handed out once');
    assert.equal(table.take(stuck.requestId), stuck);
    assert.equal(table.size, 0);
  });

  it('grows past its first slots and gives everything back, oldest first', () => {
    const table = new InFlightTable<Entry>();
    const entries = Array.from({ length: 1000 }, (_, i) => entry(`e${i}`));
    for (const e of entries) table.add(e);
    assert.equal(table.size, 1000);
    for (const e of entries.filter((_, i) => i % 3 === 0)) assert.equal(table.take(e.requestId), e);
    const rest = entries.filter((_, i) => i % 3 !== 0);
    assert.deepEqual(table.takeAll(), rest);
    assert.equal(table.size, 0);
    assert.equal(table.take(rest[0]!.requestId), undefined);
  });

  it('keeps publishes whose ids went round its slots, through growing, and gives them back oldest first', () => {
    const table = new InFlightTable<Entry>();
    const held: Entry[] = [];
    // 20 unanswered at a time while ids climb well past the 64 slots: held ids wrap round them.
    for (let i = 0; i < 200; i++) {
      const e = entry(`e${i}`);
      table.add(e);
      held.push(e);
      if (held.length > 20) {
        const oldest = held.shift()!;
        assert.equal(table.take(oldest.requestId), oldest);
      }
    }
    // 60 more unanswered: the table grows (to 128, then 256 slots) with those wrapped ids in it.
    for (let i = 0; i < 60; i++) {
      const e = entry(`f${i}`);
      table.add(e);
      held.push(e);
    }
    for (const e of held.filter((_, i) => i % 4 === 0)) assert.equal(table.take(e.requestId), e);
    assert.deepEqual(
      table.takeAll(),
      held.filter((_, i) => i % 4 !== 0),
    );
  });

  it('wraps its ids from the largest back to 1, and still gives the oldest first', () => {
    const table = new InFlightTable<Entry>(MAX_REQUEST_ID - 2);
    const entries = Array.from({ length: 5 }, (_, i) => entry(`e${i}`));
    assert.deepEqual(
      entries.map((e) => table.add(e)),
      [MAX_REQUEST_ID - 2, MAX_REQUEST_ID - 1, MAX_REQUEST_ID, 1, 2],
    );
    assert.equal(table.take(MAX_REQUEST_ID), entries[2]);
    assert.deepEqual(table.takeAll(), [entries[0], entries[1], entries[3], entries[4]]);
  });

  it('behaves as a map from id to entry under any sequence of adds and answers', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const) }),
      fc.record({ kind: fc.constant('take' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('unknown' as const), id: fc.integer({ min: 1, max: 5000 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const table = new InFlightTable<Entry>();
        const model = new Map<number, Entry>();
        let n = 0;
        for (const o of ops) {
          if (o.kind === 'add') {
            const e = entry(`e${n++}`);
            const id = table.add(e);
            assert.equal(model.has(id), false, 'an id held is never handed out again');
            model.set(id, e);
          } else if (o.kind === 'take' && model.size > 0) {
            const id = [...model.keys()][o.pick % model.size]!;
            assert.equal(table.take(id), model.get(id));
            model.delete(id);
          } else if (o.kind === 'unknown' && !model.has(o.id)) {
            assert.equal(table.take(o.id), undefined);
          }
          assert.equal(table.size, model.size);
        }
        assert.deepEqual(table.takeAll(), [...model.values()]);
      }),
    );
  });
});
