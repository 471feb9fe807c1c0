import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encodePayload, PAYLOAD_BYTES, readPayload } from '../../bench/net/payload.js';

describe('bench payload', () => {
  it('reads back the send time, run and sequence number it was written with', () => {
    const header = { intendedAt: -1, run: -1, seq: -1 };
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e12, noNaN: true }),
        fc.nat(0xffffffff),
        fc.nat(0xffffffff),
        (intendedAt, run, seq) => {
          const bytes = encodePayload(intendedAt, run, seq);
          assert.equal(bytes.length, PAYLOAD_BYTES);
          assert.equal(readPayload(bytes, header), true);
          assert.deepEqual(header, { intendedAt, run, seq });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses a message of another length', () => {
    const header = { intendedAt: 0, run: 0, seq: 0 };
    assert.equal(readPayload(new Uint8Array(PAYLOAD_BYTES - 1), header), false);
    assert.equal(readPayload(encodePayload(5, 6, 7).subarray(1), header), false);
  });
});
