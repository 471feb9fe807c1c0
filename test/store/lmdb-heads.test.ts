import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommittedHeads } from '../../src/store/lmdb-heads.js';

const head = (version: number, revision: number, deleted = false) => ({ version, revision, deleted });

describe('CommittedHeads', () => {
  it('hands out a learned committed head, never one whose write waits for its commit', () => {
    const heads = new CommittedHeads(10);
    assert.equal(heads.usable('a'), undefined);
    heads.learned('a', head(3, 5), 5);
    assert.deepEqual({ ...heads.usable('a') }, { ...head(3, 5), pending: 0 });
    heads.applied('a', 6);
    assert.equal(heads.usable('a'), undefined, 'written, not committed');
    heads.committed('a', 4, 6, false);
    assert.equal(heads.usable('a')?.version, 4);
    assert.equal(heads.usable('a')?.revision, 6);
  });

  it('keeps a key pending until its latest write commits', () => {
    const heads = new CommittedHeads(10);
    heads.applied('a', 1);
    heads.applied('a', 2);
    heads.committed('a', 1, 1, false);
    assert.equal(heads.usable('a'), undefined, 'a later write is still in flight');
    heads.committed('a', 2, 2, true);
    assert.deepEqual({ ...heads.usable('a') }, { ...head(2, 2, true), pending: 0 });
  });

  it('learns a record newer than the committed revision as pending', () => {
    const heads = new CommittedHeads(10);
    heads.learned('a', head(9, 12), 11);
    assert.equal(heads.usable('a'), undefined);
    heads.committed('a', 9, 12, false);
    assert.equal(heads.usable('a')?.version, 9);
  });

  it('drops a key whose write failed, and a forgotten key, so they are read again', () => {
    const heads = new CommittedHeads(10);
    heads.learned('a', head(1, 1), 1);
    heads.applied('a', 2);
    heads.failed('a', 1);
    assert.equal(heads.size, 1, 'a failure of an older write leaves the newer one pending');
    heads.failed('a', 2);
    assert.equal(heads.size, 0);
    heads.committed('a', 2, 2, false);
    assert.equal(heads.usable('a'), undefined, 'a commit of a dropped key does not bring it back');
    heads.learned('b', head(1, 1), 1);
    heads.forget('b');
    assert.equal(heads.usable('b'), undefined);
  });

  it('holds at most its capacity: other keys are read each time', () => {
    const heads = new CommittedHeads(2);
    heads.learned('a', head(1, 1), 3);
    heads.applied('b', 2);
    heads.learned('c', head(1, 3), 3);
    heads.applied('d', 4);
    assert.equal(heads.size, 2);
    assert.equal(heads.usable('c'), undefined);
    heads.committed('d', 1, 4, false);
    assert.equal(heads.usable('d'), undefined);
    const none = new CommittedHeads(0);
    none.learned('a', head(1, 1), 1);
    none.applied('a', 2);
    assert.equal(none.size, 0);
  });
});
