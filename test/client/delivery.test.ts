import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeDelivery } from '../../src/client/delivery.js';
import type { SnapshotEntry } from '../../src/codec/frame-types.js';
import { decodeFrame, encodeSnapshotEntry, encodeSnapshotsFrame } from '../../src/codec/frames.js';
import { encodeState } from '../../src/codec/state.js';
import { isSbmpError } from '../../src/core/errors.js';
import { compilePattern } from '../../src/core/key.js';

const pattern = compilePattern('k/>');

/** Entries as a client receives them: encoded, framed and decoded again. */
function received(...entries: SnapshotEntry[]): SnapshotEntry[] {
  const frame = decodeFrame(encodeSnapshotsFrame({ subscriptionId: 1 }, entries.map(encodeSnapshotEntry)));
  assert.equal(frame.type, 'snapshots');
  return [...frame.entries];
}

const base = { version: 3, revision: 7, ts: 1_700_000_000_000, source: 'src' };

describe('decodeDelivery', () => {
  it('gives each kind of state the snapshot fields it has, and no others', () => {
    const [opaque, packed, json, deleted, vouched] = received(
      { key: 'k/bytes', ...base, state: new Uint8Array([1, 2, 3]), contentType: 'image/png' },
      { key: 'k/packed', ...base, state: encodeState({ n: 1 }, 'msgpack') },
      { key: 'k/json', ...base, state: encodeState({ n: 2 }, 'json'), contentType: 'application/json' },
      { key: 'k/gone', ...base, state: new Uint8Array(0), deleted: true },
      { key: 'k/who', ...base, state: encodeState(5, 'msgpack'), publisherId: 'spiffe://x/y' },
    );
    const bytes = decodeDelivery(opaque!, pattern, 'msgpack');
    assert.deepEqual(
      { ...bytes, state: [...(bytes.state as Uint8Array)] },
      {
        key: 'k/bytes',
        ...base,
        state: [1, 2, 3],
        contentType: 'image/png',
      },
    );
    assert.deepEqual(
      { ...decodeDelivery(packed!, pattern, 'msgpack') },
      { key: 'k/packed', ...base, state: { n: 1 } },
    );
    assert.deepEqual(
      { ...decodeDelivery(json!, pattern, 'msgpack') },
      { key: 'k/json', ...base, state: { n: 2 } },
      'a content type naming an encoding is not kept',
    );
    assert.deepEqual(
      { ...decodeDelivery(deleted!, pattern, 'msgpack') },
      { key: 'k/gone', ...base, state: null, deleted: true },
    );
    assert.deepEqual(
      { ...decodeDelivery(vouched!, pattern, 'msgpack') },
      { key: 'k/who', ...base, state: 5, publisherId: 'spiffe://x/y' },
    );
  });

  it('takes the held key string, and a byte state that no longer shares the frame', () => {
    const frameBytes = encodeSnapshotsFrame({ subscriptionId: 1 }, [
      encodeSnapshotEntry({ key: 'k/a', ...base, state: new Uint8Array(200).fill(4), contentType: 'x/y' }),
    ]);
    const frame = decodeFrame(frameBytes);
    assert.equal(frame.type, 'snapshots');
    const held = ['k', 'a'].join('/');
    const snapshot = decodeDelivery(frame.entries[0]!, pattern, 'msgpack', held);
    assert.equal(snapshot.key, held);
    const state = snapshot.state as Uint8Array;
    assert.notEqual(state.buffer, frameBytes.buffer);
    frameBytes.fill(0);
    assert.ok(
      state.every((b) => b === 4),
      'the state is unchanged when the frame is overwritten',
    );
  });

  it('refuses an entry outside the pattern (bad_frame) and a state that does not decode (bad_state)', () => {
    const [outside] = received({ key: 'other/a', ...base, state: encodeState(1, 'msgpack') });
    assert.throws(
      () => decodeDelivery(outside!, pattern, 'msgpack'),
      (err: unknown) => isSbmpError(err) && err.code === 'bad_frame',
    );
    const [undecodable] = received({ key: 'k/a', ...base, state: new Uint8Array([0xc1]) });
    assert.throws(
      () => decodeDelivery(undecodable!, pattern, 'msgpack'),
      (err: unknown) => isSbmpError(err) && err.code === 'bad_state',
    );
  });
});
