import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SnapshotEntry } from '../../src/codec/frame-types.js';
import { decodeSnapshotEntry, encodeSnapshotEntry } from '../../src/codec/frames.js';
import type { StoredSnapshot } from '../../src/core/snapshot.js';
import { OutboundSnapshot } from '../../src/server/fanout/outbound.js';

const bytes = new Uint8Array([1, 2, 3, 250]);
const base = { key: 'room/1', version: 3, revision: 17, ts: 1_700_000_000_123, source: 'node-a' };

describe('OutboundSnapshot entries', () => {
  it('encodes a byte state with its content type exactly as the entry of its fields', () => {
    const variants: StoredSnapshot[] = [
      { ...base, state: bytes, contentType: 'image/png' },
      { ...base, state: bytes, contentType: 'application/octet-stream', deleted: true },
      {
        ...base,
        state: bytes,
        contentType: 'text/plain',
        trace: { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` },
      },
    ];
    for (const stored of variants) {
      const expected = encodeSnapshotEntry(stored as SnapshotEntry);
      const out = new OutboundSnapshot(stored);
      assert.deepEqual(out.entry('msgpack'), expected);
      // A byte state is sent as it is in either encoding.
      assert.deepEqual(out.entry('json'), expected);
    }
  });

  it('gives a byte state without a content type application/octet-stream', () => {
    const entry = decodeSnapshotEntry(new OutboundSnapshot({ ...base, state: bytes }).entry('msgpack'));
    assert.equal(entry.contentType, 'application/octet-stream');
    assert.deepEqual(entry.state, bytes);
  });

  it('never sends a publisher id or other fields a stored object happens to carry', () => {
    const stored = {
      ...base,
      state: bytes,
      contentType: 'image/png',
      publisherId: 'spiffe://forged',
      extra: 1,
    };
    const out = new OutboundSnapshot(stored as StoredSnapshot);
    const entry = decodeSnapshotEntry(out.entry('msgpack'));
    assert.equal(entry.publisherId, undefined);
    assert.deepEqual(
      { ...entry, state: Array.from(entry.state) },
      { ...base, contentType: 'image/png', state: Array.from(bytes) },
    );
  });
});
