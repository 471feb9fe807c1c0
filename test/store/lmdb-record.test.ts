import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isSbmpError } from '../../src/index.js';
import type { StoredRecord } from '../../src/store/lmdb-record.js';
import { decodeRecord, encodeRecord, recordRevision } from '../../src/store/lmdb-record.js';

const FILE = '/data/data.mdb';

const record = (version: number, revision: number, state: Uint8Array): StoredRecord => ({
  version,
  revision,
  ts: 1_700_000_000_000,
  source: 'test',
  deleted: false,
  contentType: undefined,
  trace: undefined,
  storedAt: 1_700_000_000_001,
  rawBytes: true,
  stateBytes: state,
});

/** Integers of every width MessagePack gives them: 7-bit, 8, 16, 32 bits, and up to 2^53-1. */
const anyCount = fc.oneof(
  fc.integer({ min: 1, max: 0x7f }),
  fc.integer({ min: 0x80, max: 0xff }),
  fc.integer({ min: 0x100, max: 0xffff }),
  fc.integer({ min: 0x10000, max: 0xffffffff }),
  fc.integer({ min: 2 ** 32, max: Number.MAX_SAFE_INTEGER }),
);

describe('LMDB record', () => {
  it('recordRevision reads the revision decodeRecord reads, for every integer width', () => {
    fc.assert(
      fc.property(anyCount, anyCount, fc.uint8Array({ maxLength: 64 }), (version, revision, state) => {
        const bytes = encodeRecord(record(version, revision, state));
        assert.equal(recordRevision(bytes, 'k', FILE), revision);
        assert.equal(decodeRecord(bytes, 'k', FILE).revision, revision);
      }),
      { numRuns: 300 },
    );
  });

  it('recordRevision refuses a damaged record with corrupt_store naming the key and file', () => {
    const bytes = encodeRecord(record(3, 7, new Uint8Array([1, 2, 3])));
    for (const at of [0, 5, 6, bytes.length - 1]) {
      const damaged = Buffer.from(bytes);
      damaged[at] = damaged[at]! ^ 0x01;
      assert.throws(
        () => recordRevision(damaged, 'a/key', FILE),
        (err: unknown) =>
          isSbmpError(err, 'corrupt_store') && err.message.includes('a/key') && err.message.includes(FILE),
        `byte ${at}`,
      );
    }
    assert.throws(() => recordRevision(bytes.subarray(0, 4), 'a/key', FILE), /damaged \(too short\)/);
  });
});
