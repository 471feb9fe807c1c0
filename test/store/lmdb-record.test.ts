import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isSbmpError } from '../../src/index.js';
import type { StoredRecord } from '../../src/store/lmdb-record.js';
import { decodeRecord, encodeRecord, readRecordHead } from '../../src/store/lmdb-record.js';

const FILE = '/data/data.mdb';

/** Integers of every width MessagePack gives them: 7-bit, 8, 16, 32 bits, and up to 2^53-1. */
const anyCount = fc.oneof(
  fc.integer({ min: 1, max: 0x7f }),
  fc.integer({ min: 0x80, max: 0xff }),
  fc.integer({ min: 0x100, max: 0xffff }),
  fc.integer({ min: 0x10000, max: 0xffffffff }),
  fc.integer({ min: 2 ** 32, max: Number.MAX_SAFE_INTEGER }),
);

/** Timestamps as puts may carry them: any finite number, negative and fractional included. */
const anyTs = fc.oneof(
  fc.integer({ min: -(2 ** 31) - 10, max: 2 ** 31 + 10 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constant(1_700_000_000_000),
);

const anyRecord = fc.record({
  version: anyCount,
  revision: anyCount,
  ts: anyTs,
  // Short, 8-bit, and 16-bit MessagePack string lengths.
  source: fc.oneof(fc.string({ minLength: 1, maxLength: 31 }), fc.string({ minLength: 32, maxLength: 300 })),
  deleted: fc.boolean(),
  rawBytes: fc.boolean(),
  stateBytes: fc.uint8Array({ maxLength: 64 }),
});

function toRecord(fields: {
  version: number;
  revision: number;
  ts: number;
  source: string;
  deleted: boolean;
  rawBytes: boolean;
  stateBytes: Uint8Array;
}): StoredRecord {
  return { ...fields, contentType: undefined, trace: undefined, storedAt: 1_700_000_000_001 };
}

describe('LMDB record', () => {
  it('readRecordHead reads the version, revision and tombstone flag decodeRecord reads', () => {
    fc.assert(
      fc.property(anyRecord, (fields) => {
        const bytes = encodeRecord(toRecord(fields));
        const full = decodeRecord(bytes, 'k', FILE);
        assert.deepEqual(readRecordHead(bytes, 'k', FILE), {
          version: full.version,
          revision: full.revision,
          deleted: full.deleted,
        });
        assert.equal(full.revision, fields.revision);
        assert.equal(full.version, fields.version);
      }),
      { numRuns: 500 },
    );
  });

  it('readRecordHead refuses a damaged record with corrupt_store naming the key and file', () => {
    const bytes = encodeRecord(
      toRecord({
        version: 3,
        revision: 7,
        ts: 1,
        source: 'test',
        deleted: false,
        rawBytes: true,
        stateBytes: new Uint8Array([1, 2, 3]),
      }),
    );
    for (const at of [0, 5, 6, bytes.length - 1]) {
      const damaged = Buffer.from(bytes);
      damaged[at] = damaged[at]! ^ 0x01;
      assert.throws(
        () => readRecordHead(damaged, 'a/key', FILE),
        (err: unknown) =>
          isSbmpError(err, 'corrupt_store') && err.message.includes('a/key') && err.message.includes(FILE),
        `byte ${at}`,
      );
    }
    assert.throws(() => readRecordHead(bytes.subarray(0, 4), 'a/key', FILE), /damaged \(too short\)/);
  });
});
