import fc from 'fast-check';
import type { Frame, SnapshotEntry } from '../../src/codec/frame-types.js';
import { ERROR_STATUS, type SbmpErrorCode } from '../../src/internal.js';

/**
 * fast-check arbitraries of canonical frames: optional fields are absent rather than set to
 * their zero value where the wire cannot tell them apart (empty strings, false), which is
 * exactly what `decodeFrame` returns, so `decode(encode(f))` must deep-equal `f`.
 */

const MAX = Number.MAX_SAFE_INTEGER;

/** Integers 0..2^53-1, biased to varint size boundaries. */
export const uint64 = fc.oneof(
  fc.constantFrom(
    0,
    1,
    127,
    128,
    16383,
    16384,
    2 ** 31 - 1,
    2 ** 31,
    2 ** 32 - 1,
    2 ** 32,
    2 ** 49,
    MAX - 1,
    MAX,
  ),
  fc.nat({ max: 1000 }),
  fc.maxSafeNat(),
);

export const uint32 = fc.oneof(
  fc.constantFrom(0, 1, 127, 128, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1),
  fc.nat({ max: 1000 }),
  fc.maxSafeNat().map((n) => n % 2 ** 32),
);

/** Any valid Unicode text, ASCII-heavy like real keys and ids. */
export const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }));
export const nonEmptyText = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
);
const longText = fc.string({ unit: 'binary', minLength: 60, maxLength: 300 });

export const bytes = fc.uint8Array({ maxLength: 64 });

const trace = fc.record(
  { traceparent: nonEmptyText, tracestate: nonEmptyText },
  { noNullPrototype: true, requiredKeys: ['traceparent'] },
);

const errorCode = fc.constantFrom(...(Object.keys(ERROR_STATUS) as SbmpErrorCode[]));

export const entry: fc.Arbitrary<SnapshotEntry> = fc.record(
  {
    key: nonEmptyText,
    version: uint64.filter((v) => v > 0),
    revision: uint64,
    ts: uint64,
    source: text,
    deleted: fc.constant(true),
    contentType: nonEmptyText,
    state: bytes,
    trace,
    publisherId: nonEmptyText,
  },
  { noNullPrototype: true, requiredKeys: ['key', 'version', 'revision', 'ts', 'source', 'state'] },
);

export const frame: fc.Arbitrary<Frame> = fc.oneof(
  fc.record(
    {
      type: fc.constant('hello' as const),
      protocolVersion: uint32.filter((v) => v > 0),
      clientId: text,
      token: nonEmptyText,
      stateEncoding: fc.constantFrom('msgpack' as const, 'json' as const),
      lastRevision: uint64,
      batches: fc.constant(true),
    },
    { noNullPrototype: true, requiredKeys: ['type', 'protocolVersion', 'clientId', 'stateEncoding'] },
  ),
  fc.record(
    {
      type: fc.constant('welcome' as const),
      protocolVersion: uint32.filter((v) => v > 0),
      serverId: text,
      identity: nonEmptyText,
      maxFrameBytes: uint32,
      maxStateBytes: uint32,
      maxSubscriptions: uint32,
      maxInFlight: uint32,
      revision: uint64,
      storeEpoch: nonEmptyText,
      batches: fc.constant(true),
    },
    {
      noNullPrototype: true,
      requiredKeys: [
        'type',
        'protocolVersion',
        'serverId',
        'maxFrameBytes',
        'maxStateBytes',
        'maxSubscriptions',
        'maxInFlight',
        'revision',
      ],
    },
  ),
  fc.record(
    {
      type: fc.constant('publish' as const),
      requestId: uint64,
      key: nonEmptyText,
      version: uint64,
      ifVersion: uint64,
      deleted: fc.constant(true),
      contentType: nonEmptyText,
      state: bytes,
      ts: uint64,
      trace,
    },
    { noNullPrototype: true, requiredKeys: ['type', 'requestId', 'key', 'state'] },
  ),
  fc.record(
    {
      type: fc.constant('ack' as const),
      requestId: uint64,
      result: fc.constantFrom(
        'applied' as const,
        'duplicate' as const,
        'conflict' as const,
        'stale' as const,
      ),
      version: uint64,
      revision: uint64,
    },
    { noNullPrototype: true },
  ),
  fc.record(
    {
      type: fc.constant('subscribe' as const),
      subscriptionId: uint32,
      pattern: nonEmptyText,
      sinceRevision: uint64,
    },
    { noNullPrototype: true, requiredKeys: ['type', 'subscriptionId', 'pattern'] },
  ),
  fc.record({ type: fc.constant('unsubscribe' as const), subscriptionId: uint32 }, { noNullPrototype: true }),
  fc.record(
    {
      type: fc.constant('snapshots' as const),
      subscriptionId: uint32,
      entries: fc.array(entry, { maxLength: 5 }),
      resync: fc.constant(true),
      synced: fc.constant(true),
      revision: uint64,
    },
    { noNullPrototype: true, requiredKeys: ['type', 'subscriptionId', 'entries'] },
  ),
  fc.record({ type: fc.constant('ping' as const), nonce: uint64 }, { noNullPrototype: true }),
  fc.record({ type: fc.constant('pong' as const), nonce: uint64 }, { noNullPrototype: true }),
  fc.record(
    {
      type: fc.constant('error' as const),
      code: errorCode,
      message: fc.oneof(text, longText),
      requestId: uint64,
      subscriptionId: uint32,
      currentVersion: uint64,
      retryable: fc.constant(true),
    },
    { noNullPrototype: true, requiredKeys: ['type', 'code', 'message'] },
  ),
  fc.record(
    { type: fc.constant('goaway' as const), reason: text, reconnectAfterMs: uint32 },
    { noNullPrototype: true },
  ),
);
