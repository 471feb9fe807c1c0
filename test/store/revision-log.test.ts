import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { RevisionLog } from '../../src/store/revision-log.js';

/** Every live entry after `after`, read page by page as a watch's backlog reads them. */
function scanAll(log: RevisionLog, after: number, page: number): [string, number][] {
  const seen: [string, number][] = [];
  let from = after;
  for (let pages = 0; pages < 100_000; pages++) {
    const { scannedTo, end } = log.scan(from, page, (key, revision) => seen.push([key, revision]));
    from = scannedTo;
    if (end) return seen;
  }
  throw new Error('scan did not end');
}

describe('RevisionLog', () => {
  it('keeps one entry per key, at its latest revision, in revision order (through rebuilds)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 3000 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 0, max: 3000 }),
        (keys, page, after) => {
          const log = new RevisionLog();
          const latest = new Map<string, number>();
          keys.forEach((k, i) => {
            const key = `k${k}`;
            log.append(key, i + 1);
            latest.set(key, i + 1);
          });
          assert.equal(log.size, latest.size);
          const expected = [...latest].filter(([, revision]) => revision > after).sort((a, b) => a[1] - b[1]);
          assert.deepEqual(scanAll(log, after, page), expected);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('rebuilds once dead entries outnumber live ones, and forgets removed keys', () => {
    const log = new RevisionLog();
    for (let i = 1; i <= 5000; i++) log.append(`k${i % 3}`, i);
    assert.equal(log.size, 3);
    assert.deepEqual(scanAll(log, 0, 2), [
      ['k0', 4998],
      ['k1', 4999],
      ['k2', 5000],
    ]);
    log.remove('k1');
    assert.deepEqual(scanAll(log, 0, 10), [
      ['k0', 4998],
      ['k2', 5000],
    ]);
  });

  it('removes a key at a given revision only while its live entry is at that revision', () => {
    const log = new RevisionLog();
    log.append('a', 1);
    log.append('b', 2);
    log.append('a', 3);
    log.remove('a', 1);
    assert.deepEqual(scanAll(log, 0, 10), [
      ['b', 2],
      ['a', 3],
    ]);
    log.remove('a', 3);
    assert.deepEqual(scanAll(log, 0, 10), [['b', 2]]);
    assert.equal(log.size, 1);
  });
});
