import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { isSbmpError } from '../../src/index.js';
import type { StoredRecord } from '../../src/store/lmdb-record.js';
import {
  decodeRecord,
  encodeRecord,
  encodeRecordTransient,
  readRecordHead,
} from '../../src/store/lmdb-record.js';

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
  fc.constant(-0),
);

const anyRecord = fc.record({
  version: anyCount,
  revision: anyCount,
  ts: anyTs,
  // Short, 8-bit, and 16-bit MessagePack string lengths; ASCII (written by a loop) and not.
  source: fc.oneof(
    fc.string({ minLength: 1, maxLength: 31 }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 31 }),
    fc.string({ minLength: 32, maxLength: 300 }),
  ),
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

describe('LMDB record encoding', () => {
  const packr = new Packr({ useRecords: false, moreTypes: false });

  it('writes the bytes msgpackr writes for the same fields, and decodes back to them', () => {
    const anyTrace = fc.option(
      fc.record({
        traceparent: fc.string({ minLength: 1, maxLength: 60 }),
        tracestate: fc.option(fc.string({ maxLength: 300 }), { nil: undefined }),
      }),
      { nil: undefined },
    );
    fc.assert(
      fc.property(
        anyRecord,
        fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
        anyTrace,
        fc.oneof(anyTs, anyCount),
        (fields, contentType, trace, storedAt) => {
          const record: StoredRecord = {
            ...fields,
            contentType,
            trace:
              trace === undefined
                ? undefined
                : trace.tracestate === undefined
                  ? { traceparent: trace.traceparent }
                  : { traceparent: trace.traceparent, tracestate: trace.tracestate },
            storedAt,
          };
          const bytes = encodeRecord(record);
          const flags = (fields.deleted ? 1 : 0) | (fields.rawBytes ? 2 : 0);
          const expected = packr.pack([
            record.version,
            record.revision,
            record.ts,
            record.source,
            flags,
            record.contentType ?? null,
            record.trace?.traceparent ?? null,
            record.trace?.tracestate ?? null,
            record.storedAt,
            record.stateBytes,
          ]);
          assert.deepEqual(bytes.subarray(4), Buffer.from(expected));
          const decoded = decodeRecord(bytes, 'k', FILE);
          // MessagePack integers have no -0: it is stored, as msgpackr stores it, as 0.
          const noNegativeZero = (n: number) => (Object.is(n, -0) ? 0 : n);
          assert.deepEqual(
            { ...decoded, stateBytes: Buffer.from(decoded.stateBytes) },
            {
              ...record,
              ts: noNegativeZero(record.ts),
              storedAt: noNegativeZero(record.storedAt),
              stateBytes: Buffer.from(record.stateBytes),
            },
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it('encodes states larger than the shared buffer, and leaves an earlier copy intact', () => {
    const large = new Uint8Array(200_000).fill(7);
    const small = toRecord({
      version: 1,
      revision: 1,
      ts: 1,
      source: 's',
      deleted: false,
      rawBytes: true,
      stateBytes: new Uint8Array([1]),
    });
    const first = encodeRecord(small);
    const big = encodeRecord({ ...small, stateBytes: large });
    assert.deepEqual(decodeRecord(big, 'k', FILE).stateBytes, large);
    encodeRecordTransient({ ...small, version: 99 });
    assert.equal(decodeRecord(first, 'k', FILE).version, 1, 'encodeRecord returns its own copy');
  });
});
