import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Frame } from '../../src/codec/frame-types.js';
import { decodeFrame, encodeFrame } from '../../src/codec/frames.js';
import { lenFieldSize, ProtoWriter } from '../../src/codec/protobuf-wire.js';
import { isSbmpError } from '../../src/internal.js';
import * as arb from './frame-arbitraries.js';
import { canonicalVectors } from './vector-catalogue.js';

/*
 * Hostile input: whatever the bytes, decodeFrame returns a frame or throws an SbmpError with
 * code bad_frame (or too_large), in time linear in the input. A frame it returns is always one
 * encodeFrame accepts and that decodes back to itself.
 */

const MAX_FRAME = 64 * 1024;

/** A frame: one tag byte, then `body` with its length prefix. */
function lengthDelimited(tag: number, body: Uint8Array): Uint8Array {
  const w = new ProtoWriter(new Uint8Array(1 + lenFieldSize(body.length)));
  w.tag(tag);
  w.bytes(body);
  return w.finish();
}

/** Decodes `bytes`; on success checks the frame survives a round trip. Returns the outcome. */
function decodeHostile(bytes: Uint8Array): Frame | 'refused' {
  let frame: Frame;
  try {
    frame = decodeFrame(bytes, { maxFrameBytes: MAX_FRAME });
  } catch (err) {
    assert.ok(isSbmpError(err), `not an SbmpError: ${String(err)}`);
    assert.ok(err.code === 'bad_frame' || err.code === 'too_large', err.code);
    return 'refused';
  }
  assert.deepStrictEqual(decodeFrame(encodeFrame(frame)), frame);
  return frame;
}

function refusedAsBadFrame(bytes: Uint8Array): boolean {
  try {
    decodeFrame(bytes);
    return false;
  } catch (err) {
    return isSbmpError(err, 'bad_frame');
  }
}

/** A valid frame with some of its bytes damaged. */
const damaged = fc
  .tuple(
    arb.frame,
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 4 }),
  )
  .map(([frame, flips]) => {
    const bytes = encodeFrame(frame).slice();
    for (const [at, bit] of flips) bytes[at % bytes.length]! ^= 1 << bit;
    return bytes;
  });

/** A valid frame with random bytes spliced in or cut out. */
const spliced = fc
  .tuple(arb.frame, fc.nat(), fc.nat({ max: 8 }), fc.uint8Array({ maxLength: 8 }))
  .map(([frame, at, cut, insert]) => {
    const bytes = encodeFrame(frame);
    const i = at % (bytes.length + 1);
    const out = new Uint8Array(bytes.length - Math.min(cut, bytes.length - i) + insert.length);
    out.set(bytes.subarray(0, i));
    out.set(insert, i);
    out.set(bytes.subarray(i + cut), i + insert.length);
    return out;
  });

describe('decodeFrame on hostile input', () => {
  it('random bytes: a frame or bad_frame, nothing else', () => {
    const started = performance.now();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        decodeHostile(bytes);
      }),
      { numRuns: 5000 },
    );
    assert.ok(performance.now() - started < 20_000);
  });

  it('random bytes behind a valid frame tag and length: a frame or bad_frame', () => {
    const framed = fc
      .tuple(fc.integer({ min: 1, max: 11 }), fc.uint8Array({ maxLength: 120 }))
      .map(([field, body]) => {
        const bytes = new Uint8Array(2 + body.length);
        bytes[0] = (field << 3) | 2;
        bytes[1] = body.length;
        bytes.set(body, 2);
        return bytes;
      });
    fc.assert(
      fc.property(framed, (bytes) => {
        decodeHostile(bytes);
      }),
      { numRuns: 5000 },
    );
  });

  it('bit flips in valid frames: a frame or bad_frame', () => {
    fc.assert(
      fc.property(damaged, (bytes) => {
        decodeHostile(bytes);
      }),
      { numRuns: 3000 },
    );
  });

  it('bytes spliced into or cut from valid frames: a frame or bad_frame', () => {
    fc.assert(
      fc.property(spliced, (bytes) => {
        decodeHostile(bytes);
      }),
      { numRuns: 3000 },
    );
  });

  it('every strict prefix of a valid frame is bad_frame', () => {
    for (const vector of canonicalVectors()) {
      const bytes = encodeFrame(vector.frame);
      for (let length = 0; length < bytes.length; length++) {
        assert.ok(refusedAsBadFrame(bytes.subarray(0, length)), `${vector.name} cut to ${length} bytes`);
      }
    }
    fc.assert(
      fc.property(arb.frame, fc.nat(), (frame, at) => {
        const bytes = encodeFrame(frame);
        assert.ok(refusedAsBadFrame(bytes.subarray(0, at % bytes.length)));
      }),
      { numRuns: 1000 },
    );
  });

  it('a length prefix far beyond the input is refused before anything is allocated', () => {
    const before = process.memoryUsage().arrayBuffers;
    const claims = [
      '1affffffff0f', // frame body of 2^32-1 bytes
      '1a0612ffffffff7f', // key of 2^35 bytes inside a 6-byte body
      '3a0a2a08ffffffffffffffff7f', // entry of 2^63 bytes
      '1a0a3affffffffffffffffff01', // state of 2^64-1 bytes
    ];
    for (const hex of claims) assert.ok(refusedAsBadFrame(Buffer.from(hex, 'hex')), hex);
    assert.ok(process.memoryUsage().arrayBuffers - before < 1024 * 1024);
  });

  it('refuses input that is not a Uint8Array with bad_frame', () => {
    for (const input of ['hello', null, undefined, 42, new ArrayBuffer(4), [0x42, 0]]) {
      assert.ok(refusedAsBadFrame(input as unknown as Uint8Array), String(input));
    }
  });

  it('stays linear on worst-case valid input near the size limit', () => {
    const limit = 1024 * 1024;
    // A PING body made only of unknown 2-byte fields (field 15, varint 1): half a million to skip.
    const unknownFields = new Uint8Array(limit - 8);
    for (let i = 0; i + 1 < unknownFields.length; i += 2) unknownFields.set([0x78, 0x01], i);
    // A SNAPSHOTS body of minimal entries (key "a", version 1): 150 thousand of them.
    const entry = [0x2a, 0x05, 0x0a, 0x01, 0x61, 0x10, 0x01];
    const count = Math.floor((limit - 8) / entry.length);
    const entries = new Uint8Array(count * entry.length);
    for (let i = 0; i < count; i++) entries.set(entry, i * entry.length);

    const started = performance.now();
    const ping = decodeFrame(lengthDelimited(0x42, unknownFields), { maxFrameBytes: limit });
    const snapshots = decodeFrame(lengthDelimited(0x3a, entries), { maxFrameBytes: limit });
    const elapsed = performance.now() - started;
    assert.deepStrictEqual(ping, { type: 'ping', nonce: 0 });
    assert.equal(snapshots.type === 'snapshots' && snapshots.entries.length, count);
    assert.ok(elapsed < 3000, `took ${elapsed} ms`);
  });
});
