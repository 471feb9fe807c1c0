import type { Frame, StateEncoding } from '../../src/codec/frame-types.js';
import { encodeFrame } from '../../src/codec/frames.js';
import { encodeState } from '../../src/codec/state.js';

/**
 * Every test vector in test/vectors/, defined once. `scripts/gen-vectors.ts` writes them to
 * disk; test/codec/vectors.test.ts checks the committed files against this list and the codec.
 * The file formats are described in test/vectors/README.md.
 */

/** A frame that encodes to exactly these bytes and decodes back (test/vectors/<name>.*). */
export interface CanonicalVector {
  readonly name: string;
  readonly description: string;
  readonly frame: Frame;
  /** The connection's state encoding, for frames carrying states. */
  readonly stateEncoding?: StateEncoding;
  /** The decoded value of each encoded state, in the order the states appear in the frame. */
  readonly stateValues?: readonly unknown[];
}

/** Valid but non-canonical bytes that decode to `frame` (test/vectors/decode-only/<name>.*). */
export interface DecodeOnlyVector {
  readonly name: string;
  readonly description: string;
  readonly hex: string;
  readonly frame: Frame;
}

/** Malformed bytes every decoder must refuse with `error` (test/vectors/invalid/<name>.*). */
export interface InvalidVector {
  readonly name: string;
  readonly description: string;
  readonly hex: string;
  readonly error: 'bad_frame';
}

const ORDER = { status: 'paid', total: 129.5, lines: [{ sku: 'A-1', qty: 2 }] };
const SHADOW = { online: true, firmware: '2.4.1', temperatureC: -3.5, tags: ['roof', 'north'] };
const TRACE = {
  traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  tracestate: 'sbmp=w:0.25',
};
const MAX = Number.MAX_SAFE_INTEGER;

function canonical(
  name: string,
  description: string,
  frame: Frame,
  states?: { encoding: StateEncoding; values: readonly unknown[] },
): CanonicalVector {
  if (states === undefined) return { name, description, frame };
  return { name, description, frame, stateEncoding: states.encoding, stateValues: states.values };
}

export function canonicalVectors(): CanonicalVector[] {
  const orderMsgpack = encodeState(ORDER, 'msgpack');
  const shadowJson = encodeState(SHADOW, 'json');
  const shadowMsgpack = encodeState(SHADOW, 'msgpack');
  return [
    canonical('hello-minimal', 'HELLO with only the protocol version: MessagePack states, no token', {
      type: 'hello',
      protocolVersion: 3,
      clientId: '',
      stateEncoding: 'msgpack',
    }),
    canonical(
      'hello-full',
      'HELLO with client id, bearer token, JSON states, a resume hint, and batches read',
      {
        type: 'hello',
        protocolVersion: 3,
        clientId: 'web-7f3a',
        token: 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ3ZWIifQ.c2ln',
        stateEncoding: 'json',
        lastRevision: 1042,
        batches: true,
      },
    ),
    canonical('welcome', 'WELCOME with the limits of the connection; the server reads batches', {
      type: 'welcome',
      protocolVersion: 3,
      serverId: 'sbmp-1',
      identity: 'spiffe://example.org/ns/shop/sa/web',
      maxFrameBytes: 4194304,
      maxStateBytes: 1048576,
      maxSubscriptions: 1000,
      maxInFlight: 256,
      revision: 1042,
      storeEpoch: '0b6f1c2e-5d4a-4e8b-9f3a-7c1d2e3f4a5b',
      batches: true,
    }),
    canonical(
      'publish-next',
      'PUBLISH without a version: the store assigns the next one',
      { type: 'publish', requestId: 1, key: 'orders/eu/10042', state: orderMsgpack },
      { encoding: 'msgpack', values: [ORDER] },
    ),
    canonical(
      'publish-full',
      'PUBLISH with every field: version, compare-and-set, JSON content type, timestamp, trace',
      {
        type: 'publish',
        requestId: 2,
        key: 'devices/dev-9/shadow',
        version: 17,
        ifVersion: 16,
        contentType: 'application/json',
        state: shadowJson,
        ts: 1700000000000,
        trace: TRACE,
      },
      { encoding: 'msgpack', values: [SHADOW] },
    ),
    canonical(
      'publish-create-only',
      'PUBLISH with ifVersion 0 (only if never written): an optional field present with value 0',
      { type: 'publish', requestId: 3, key: 'flags/checkout', version: 1, ifVersion: 0, state: orderMsgpack },
      { encoding: 'msgpack', values: [ORDER] },
    ),
    canonical('publish-delete', 'PUBLISH of a tombstone: deleted, empty state', {
      type: 'publish',
      requestId: 4,
      key: 'orders/eu/10042',
      version: 18,
      deleted: true,
      state: new Uint8Array(0),
    }),
    canonical('publish-opaque-max-version', 'PUBLISH of opaque bytes at the largest version, 2^53-1', {
      type: 'publish',
      requestId: MAX,
      key: 'blobs/x',
      version: MAX,
      contentType: 'application/octet-stream',
      state: new Uint8Array([0, 1, 2, 0xfe, 0xff]),
    }),
    canonical('ack-applied', 'ACK of an applied publish', {
      type: 'ack',
      requestId: 1,
      result: 'applied',
      version: 1,
      revision: 1043,
    }),
    canonical('ack-stale', 'ACK of a stale publish, with the version and revision currently held', {
      type: 'ack',
      requestId: 2,
      result: 'stale',
      version: 20,
      revision: 1100,
    }),
    canonical('ack-duplicate', 'ACK of an idempotent retry', {
      type: 'ack',
      requestId: 5,
      result: 'duplicate',
      version: 17,
      revision: 1050,
    }),
    canonical('ack-conflict', 'ACK of a refused compare-and-set when the key was never written', {
      type: 'ack',
      requestId: 6,
      result: 'conflict',
      version: 0,
      revision: 0,
    }),
    canonical('subscribe-current', 'SUBSCRIBE without sinceRevision: current state first', {
      type: 'subscribe',
      subscriptionId: 1,
      pattern: 'orders/*/10042',
    }),
    canonical('subscribe-resume', 'SUBSCRIBE resuming after revision 1042', {
      type: 'subscribe',
      subscriptionId: 2,
      pattern: 'devices/>',
      sinceRevision: 1042,
    }),
    canonical('unsubscribe', 'UNSUBSCRIBE', { type: 'unsubscribe', subscriptionId: 2 }),
    canonical(
      'snapshots-batch',
      'SNAPSHOTS with two entries: a full one (trace, publisher identity) and a tombstone',
      {
        type: 'snapshots',
        subscriptionId: 2,
        entries: [
          {
            key: 'devices/dev-9/shadow',
            version: 17,
            revision: 1051,
            ts: 1700000000000,
            source: 'gateway-3',
            state: shadowMsgpack,
            trace: TRACE,
            publisherId: 'spiffe://example.org/ns/iot/sa/gateway',
          },
          {
            key: 'devices/dev-4/shadow',
            version: 9,
            revision: 1052,
            ts: 1700000000123,
            source: 'gateway-3',
            deleted: true,
            state: new Uint8Array(0),
          },
        ],
      },
      { encoding: 'msgpack', values: [SHADOW] },
    ),
    canonical(
      'snapshots-resync',
      'SNAPSHOTS beginning a full resync (history before sinceRevision was compacted)',
      {
        type: 'snapshots',
        subscriptionId: 2,
        resync: true,
        entries: [
          {
            key: 'devices/dev-9/shadow',
            version: 17,
            revision: 1051,
            ts: 1700000000000,
            source: 'gateway-3',
            state: shadowMsgpack,
          },
        ],
      },
      { encoding: 'msgpack', values: [SHADOW] },
    ),
    canonical('snapshots-synced', 'SNAPSHOTS ending the backlog: no entries, synced, resume point', {
      type: 'snapshots',
      subscriptionId: 2,
      synced: true,
      revision: 1100,
      entries: [],
    }),
    canonical('ping', 'PING', { type: 'ping', nonce: 42 }),
    canonical('pong', 'PONG answering PING 42', { type: 'pong', nonce: 42 }),
    canonical('ping-zero', 'PING with nonce 0: an empty body', { type: 'ping', nonce: 0 }),
    canonical('error-publish', 'ERROR answering a PUBLISH with a bad key', {
      type: 'error',
      code: 'bad_key',
      message: "key 'orders//1' has an empty segment (segment 2)",
      requestId: 7,
    }),
    canonical('error-overloaded', 'ERROR refusing a PUBLISH while the server sheds load: retryable', {
      type: 'error',
      code: 'overloaded',
      message: 'memory above 92% of the limit; retry later',
      requestId: 8,
      retryable: true,
    }),
    canonical('error-subscription', 'ERROR closing subscription 3: pattern not allowed', {
      type: 'error',
      code: 'forbidden',
      message: "identity may not subscribe to 'admin/>'",
      subscriptionId: 3,
    }),
    canonical('error-version', 'ERROR about a version, with the version currently held', {
      type: 'error',
      code: 'stale',
      message: 'version 3 is older than the current version 20',
      requestId: 9,
      currentVersion: 20,
    }),
    canonical('error-fatal', 'ERROR before the server closes the connection (no request or subscription)', {
      type: 'error',
      code: 'unauthorized',
      message: 'token expired',
    }),
    canonical('error-unicode', 'ERROR whose message has non-ASCII text (UTF-8)', {
      type: 'error',
      code: 'bad_request',
      message: 'clé « données » refusée — 拒否 🚫',
    }),
    canonical('goaway', 'GOAWAY: the server drains; reconnect after 2 s', {
      type: 'goaway',
      reason: 'server shutting down',
      reconnectAfterMs: 2000,
    }),
  ];
}

function hex(frame: Frame): string {
  return Buffer.from(encodeFrame(frame)).toString('hex');
}

/** A length-delimited field in hex: its tag, a one-byte length (bodies here are < 128 bytes), the body. */
function field(tagHex: string, ...bodyHex: string[]): string {
  const body = bodyHex.join('');
  return tagHex + (body.length / 2).toString(16).padStart(2, '0') + body;
}

export function decodeOnlyVectors(): DecodeOnlyVector[] {
  const ping1: Frame = { type: 'ping', nonce: 1 };
  return [
    {
      name: 'unknown-fields',
      description:
        'PUBLISH with unknown fields of every wire type (varint 15, fixed64 16, length 17, fixed32 18): skipped',
      // requestId 1, key "a", then the unknown fields, then state [1]
      hex: field(
        '1a',
        '0801',
        '120161',
        '7805',
        '81010102030405060708',
        '8a010378797a',
        '950101020304',
        '3a0101',
      ),
      frame: { type: 'publish', requestId: 1, key: 'a', state: new Uint8Array([1]) },
    },
    {
      name: 'unknown-frame-field',
      description: 'An unknown field beside the body at the frame level (field 15): skipped',
      hex: field('7a', '00') + hex(ping1),
      frame: ping1,
    },
    {
      name: 'fields-out-of-order',
      description: 'PUBLISH with its fields in reverse order',
      hex: field('1a', '3a0101', '120161', '0801'),
      frame: { type: 'publish', requestId: 1, key: 'a', state: new Uint8Array([1]) },
    },
    {
      name: 'overlong-varint',
      description: 'PING nonce 1 written as a two-byte varint (0x81 0x00)',
      hex: field('42', '088100'),
      frame: ping1,
    },
    {
      name: 'repeated-scalar',
      description: 'PING with the nonce twice: the last occurrence wins',
      hex: field('42', '0801', '0802'),
      frame: { type: 'ping', nonce: 2 },
    },
    {
      name: 'explicit-defaults',
      description: 'ACK with zero-valued fields written out (implicit-presence fields set to 0)',
      hex: field('22', '0800', '1001', '1800', '2000'),
      frame: { type: 'ack', requestId: 0, result: 'applied', version: 0, revision: 0 },
    },
    {
      name: 'bool-nonzero',
      description: 'PUBLISH with deleted written as varint 2: any non-zero value is true',
      hex: field('1a', '120161', '2802'),
      frame: { type: 'publish', requestId: 0, key: 'a', deleted: true, state: new Uint8Array(0) },
    },
    {
      name: 'unknown-error-code',
      description: "ERROR with a code this version does not know: reported as 'internal', message kept",
      hex: field('52', field('0a', '66757475726558'), '12016d', '3001'),
      frame: { type: 'error', code: 'internal', message: 'm', retryable: true },
    },
  ];
}

/** Bytes every decoder must refuse as malformed. */
function invalid(name: string, description: string, hex: string): InvalidVector {
  return { name, description, hex, error: 'bad_frame' };
}

export function invalidVectors(): InvalidVector[] {
  const v = invalid;
  return [
    v('empty', 'No bytes at all', ''),
    v('truncated-varint', 'The body length varint ends mid-way', '1a80'),
    v('varint-too-long', 'A varint of 11 bytes', '42ffffffffffffffffffff01'),
    v('length-past-end', 'A body length larger than the bytes left', '1a100a0161'),
    v(
      'nested-length-past-parent',
      'A trace whose length runs past the end of its PUBLISH body',
      '1a044a050a0330302d',
    ),
    v('unknown-frame-type', 'Only field 13, which is no frame type', '6a00'),
    v('batch-as-one-frame', 'A BATCH (field 12, here empty) where one frame is expected', '6200'),
    v('two-bodies', 'A PING body and a PONG body in one frame', '42004a00'),
    v('body-wrong-wire-type', 'The PING body (field 8) as a varint', '4000'),
    v('field-wrong-wire-type', 'PUBLISH key (field 2) as a varint', '1a021001'),
    v('field-number-zero', 'A tag with field number 0 inside PING', '42020000'),
    v('group-wire-type', 'Wire type 3 (group start) inside PING', '420113'),
    v('publish-missing-key', 'PUBLISH without its required key', '1a020801'),
    v('hello-missing-version', 'HELLO without its protocol version', '0a00'),
    v('ack-missing-result', 'ACK without its result', '22020801'),
    v('ack-invalid-result', 'ACK with result 9, not an ApplyResult', '22021009'),
    v('hello-invalid-encoding', 'HELLO with state encoding 2, not a StateEncoding', '0a0408032002'),
    v(
      'version-above-2-53',
      'ACK version 2^53, above the largest integer SBMP carries',
      '220b1001188080808080808010',
    ),
    v('uint32-overflow', 'SUBSCRIBE subscription id 2^32, above uint32', '2a090880808080101201' + '61'),
    v('invalid-utf8', 'PUBLISH key holding the byte 0xFF', '1a031201ff'),
    v('entry-missing-version', 'SNAPSHOTS entry without its required version', '3a052a030a0161'),
    v('trace-missing-traceparent', 'PUBLISH with an empty trace message', '1a051201614a00'),
  ];
}

/** Frames that encode, as one BATCH message, to exactly these bytes (test/vectors/batch/<name>.*). */
export interface BatchVector {
  readonly name: string;
  readonly description: string;
  readonly frames: readonly Frame[];
}

export function batchVectors(): BatchVector[] {
  const state = encodeState(ORDER, 'msgpack');
  return [
    {
      name: 'publishes',
      description: 'Two PUBLISH frames sent in one turn',
      frames: [
        { type: 'publish', requestId: 1, key: 'orders/eu/10042', state },
        { type: 'publish', requestId: 2, key: 'orders/eu/10043', version: 4, state },
      ],
    },
    {
      name: 'acks',
      description: 'The ACKs of one store batch, and an ERROR refusing one publish among them',
      frames: [
        { type: 'ack', requestId: 1, result: 'applied', version: 1, revision: 7 },
        { type: 'ack', requestId: 2, result: 'stale', version: 5, revision: 3 },
        {
          type: 'error',
          code: 'bad_key',
          message: "key '' is empty",
          requestId: 3,
        },
      ],
    },
  ];
}

/** Malformed BATCH messages a reader of batches must refuse whole (test/vectors/batch/invalid/<name>.*). */
export function invalidBatchVectors(): InvalidVector[] {
  const v = invalid;
  return [
    v('empty', 'A batch with no frames', '6200'),
    v('nested', 'A batch holding a batch (of one PING)', '6206' + '0a04' + '6202' + '4200'),
    v(
      'length-past-end',
      'The second frame runs past the end of the batch',
      '6207' + '0a024200' + '0a05' + '42',
    ),
    v('frames-wrong-wire-type', 'BatchFrame.frames (field 1) as a varint', '62020801'),
    v('batch-and-body', 'A batch body and a PING body in one frame', '62040a024200' + '4200'),
  ];
}
