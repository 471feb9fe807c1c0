import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import type { Frame, SnapshotEntry, SnapshotsFrame } from '../../src/codec/frame-types.js';
import {
  decodeFrame,
  decodeSnapshotEntry,
  encodeFrame,
  encodeSnapshotEntry,
  encodeSnapshotsFrame,
  MAX_FRAME_BYTES_DEFAULT,
  SNAPSHOTS_FRAME_OVERHEAD_MAX,
  snapshotEntryFrameBytes,
} from '../../src/codec/frames.js';
import {
  asciiString,
  ProtoReader,
  ProtoWriter,
  portableAsciiString,
  StringMemo,
  utf8Length,
  varintSize,
} from '../../src/codec/protobuf-wire.js';
import { isSbmpError } from '../../src/internal.js';
import * as arb from './frame-arbitraries.js';

function throwsCode(fn: () => unknown, code: string, message?: string): void {
  assert.throws(fn, (err: unknown) => isSbmpError(err) && err.code === code, message);
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

const MAX = Number.MAX_SAFE_INTEGER;

describe('frame round trip', () => {
  it('decode(encode(frame)) equals the frame, for random frames of every type', () => {
    fc.assert(
      fc.property(arb.frame, (frame) => {
        assert.deepStrictEqual(decodeFrame(encodeFrame(frame)), frame);
      }),
      { numRuns: 2000 },
    );
  });

  it('encodes equal frames to equal bytes whatever the property order', () => {
    fc.assert(
      fc.property(arb.frame, (frame) => {
        const reversed = Object.fromEntries(Object.entries(frame).reverse()) as Frame;
        assert.equal(hex(encodeFrame(reversed)), hex(encodeFrame(frame)));
      }),
      { numRuns: 300 },
    );
  });

  it('decodes a Buffer input, and a view into a larger buffer', () => {
    const frame: Frame = { type: 'publish', requestId: 9, key: 'k', state: new Uint8Array([7, 8]) };
    const bytes = encodeFrame(frame);
    const padded = new Uint8Array(bytes.length + 10);
    padded.set(bytes, 5);
    const decoded = decodeFrame(padded.subarray(5, 5 + bytes.length));
    assert.deepStrictEqual(decoded, frame);
    assert.deepEqual([...(decodeFrame(Buffer.from(bytes)) as { state: Uint8Array }).state], [7, 8]);
  });

  it('never changes an encoded frame afterwards, though small frames share a slab', () => {
    fc.assert(
      fc.property(fc.array(arb.frame, { minLength: 50, maxLength: 200 }), (frames) => {
        const encoded = frames.map((f) => encodeFrame(f));
        const copies = encoded.map((bytes) => hex(bytes));
        for (let i = 0; i < 300; i++) encodeFrame({ type: 'ping', nonce: i });
        encoded.forEach((bytes, i) => {
          assert.equal(hex(bytes), copies[i]);
          assert.deepStrictEqual(decodeFrame(bytes), frames[i]);
        });
      }),
      { numRuns: 20 },
    );
  });

  it('gives each encoded entry a buffer of its own, since servers keep them', () => {
    const entry: SnapshotEntry = {
      key: 'k',
      version: 1,
      revision: 1,
      ts: 1,
      source: '',
      state: new Uint8Array(3),
    };
    const encoded = encodeSnapshotEntry(entry);
    assert.equal(encoded.byteOffset, 0);
    assert.equal(encoded.buffer.byteLength, encoded.length);
  });

  it('returns state as a view into the input, not a copy', () => {
    const bytes = encodeFrame({ type: 'publish', requestId: 1, key: 'k', state: new Uint8Array([1, 2, 3]) });
    const decoded = decodeFrame(bytes) as { state: Uint8Array };
    assert.equal(decoded.state.buffer, bytes.buffer);
  });
});

describe('SNAPSHOTS from pre-encoded entries', () => {
  it('encodeSnapshotsFrame(header, entries encoded once) equals encodeFrame of the same frame', () => {
    const snapshots = arb.frame.filter((f): f is SnapshotsFrame => f.type === 'snapshots');
    fc.assert(
      fc.property(snapshots, (frame) => {
        const encoded = frame.entries.map(encodeSnapshotEntry);
        const { entries: _entries, type: _type, ...header } = frame;
        assert.equal(hex(encodeSnapshotsFrame(header, encoded)), hex(encodeFrame(frame)));
      }),
      { numRuns: 500 },
    );
  });

  it('shares entry bytes: one encoded entry serves many frames and is left unchanged', () => {
    const entry: SnapshotEntry = {
      key: 'quotes/EURUSD',
      version: 5,
      revision: 77,
      ts: 1,
      source: 'feed',
      state: new Uint8Array([0x92, 1, 2]),
    };
    const encoded = encodeSnapshotEntry(entry);
    const copy = hex(encoded);
    for (let subscriptionId = 1; subscriptionId <= 3; subscriptionId++) {
      const frame = decodeFrame(encodeSnapshotsFrame({ subscriptionId }, [encoded, encoded]));
      assert.deepStrictEqual(frame, { type: 'snapshots', subscriptionId, entries: [entry, entry] });
    }
    assert.equal(hex(encoded), copy);
  });

  it('decodeSnapshotEntry reads what encodeSnapshotEntry writes', () => {
    fc.assert(
      fc.property(arb.entry, (entry) => {
        assert.deepStrictEqual(decodeSnapshotEntry(encodeSnapshotEntry(entry)), entry);
      }),
      { numRuns: 500 },
    );
  });

  it('frame size = overhead + snapshotEntryFrameBytes of each entry, overhead <= SNAPSHOTS_FRAME_OVERHEAD_MAX', () => {
    const header = { subscriptionId: 2 ** 32 - 1, resync: true, synced: true, revision: MAX };
    assert.equal(encodeSnapshotsFrame(header, []).length + 4, SNAPSHOTS_FRAME_OVERHEAD_MAX);
    fc.assert(
      fc.property(fc.array(arb.entry, { maxLength: 6 }), (entries) => {
        const encoded = entries.map(encodeSnapshotEntry);
        const size = encodeSnapshotsFrame(header, encoded).length;
        const entryBytes = encoded.reduce((sum, e) => sum + snapshotEntryFrameBytes(e.length), 0);
        assert.ok(size <= SNAPSHOTS_FRAME_OVERHEAD_MAX + entryBytes);
        assert.ok(size > entryBytes);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a non-Uint8Array entry with bad_frame', () => {
    throwsCode(
      () => encodeSnapshotsFrame({ subscriptionId: 1 }, ['x' as unknown as Uint8Array]),
      'bad_frame',
    );
  });
});

describe('encodeFrame refuses what the wire cannot carry, with bad_frame', () => {
  const publish = { type: 'publish', requestId: 1, key: 'k', state: new Uint8Array(0) } as const;
  const cases: [string, unknown][] = [
    ['unknown type', { type: 'shout' }],
    ['null frame', null],
    ['negative integer', { ...publish, requestId: -1 }],
    ['fractional integer', { ...publish, version: 1.5 }],
    ['integer above 2^53-1', { ...publish, version: MAX + 1 }],
    ['NaN', { ...publish, ts: Number.NaN }],
    ['integer as string', { ...publish, version: '3' }],
    ['uint32 above 2^32-1', { type: 'unsubscribe', subscriptionId: 2 ** 32 }],
    ['missing key', { ...publish, key: '' }],
    ['key not a string', { ...publish, key: 42 }],
    ['state not bytes', { ...publish, state: 'abc' }],
    ['trace without traceparent', { ...publish, trace: { traceparent: '' } }],
    ['missing pattern', { type: 'subscribe', subscriptionId: 1, pattern: '' }],
    ['unknown ack result', { type: 'ack', requestId: 1, result: 'maybe', version: 1, revision: 1 }],
    ['unknown state encoding', { type: 'hello', protocolVersion: 3, clientId: '', stateEncoding: 'xml' }],
    ['protocol version 0', { type: 'hello', protocolVersion: 0, clientId: '', stateEncoding: 'json' }],
    ['unknown error code', { type: 'error', code: 'oops', message: '' }],
    ['entry version 0', { type: 'snapshots', subscriptionId: 1, entries: [{ key: 'k', version: 0 }] }],
    ['entries not an array', { type: 'snapshots', subscriptionId: 1, entries: null }],
  ];
  for (const [name, frame] of cases) {
    it(name, () => throwsCode(() => encodeFrame(frame as Frame), 'bad_frame'));
  }
});

describe('frame size limit', () => {
  it('defaults to 4 MiB', () => {
    assert.equal(MAX_FRAME_BYTES_DEFAULT, 4 * 1024 * 1024);
  });

  it('decodes a frame of exactly maxFrameBytes and refuses one byte more with too_large', () => {
    const frame: Frame = { type: 'publish', requestId: 1, key: 'k', state: new Uint8Array(1000) };
    const bytes = encodeFrame(frame);
    assert.deepStrictEqual(decodeFrame(bytes, { maxFrameBytes: bytes.length }), frame);
    throwsCode(() => decodeFrame(bytes, { maxFrameBytes: bytes.length - 1 }), 'too_large');
  });

  it('applies the default limit', () => {
    const state = new Uint8Array(MAX_FRAME_BYTES_DEFAULT);
    const bytes = encodeFrame({ type: 'publish', requestId: 1, key: 'k', state });
    throwsCode(() => decodeFrame(bytes), 'too_large');
    const fits = encodeFrame({
      type: 'publish',
      requestId: 1,
      key: 'k',
      state: state.subarray(0, 1024 * 1024),
    });
    assert.equal(decodeFrame(fits).type, 'publish');
  });

  it('refuses an invalid maxFrameBytes option with bad_config', () => {
    for (const maxFrameBytes of [0, -1, 1.5, Number.NaN]) {
      throwsCode(() => decodeFrame(new Uint8Array([0x42, 0]), { maxFrameBytes }), 'bad_config');
    }
  });
});

describe('wire primitives', () => {
  it('varints round trip at every size boundary up to 2^53-1, in varintSize bytes', () => {
    const values = [0, 1, 127, 128, 16383, 16384, 2 ** 21, 2 ** 28 - 1, 2 ** 28, 2 ** 31, 2 ** 32, 2 ** 35];
    values.push(2 ** 42, 2 ** 49 - 1, 2 ** 49, 2 ** 52 + 1, MAX);
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...values), fc.maxSafeNat()), (value) => {
        const w = new ProtoWriter(new Uint8Array(varintSize(value)));
        w.varint(value);
        const bytes = w.finish();
        assert.equal(new ProtoReader(bytes).uint64('v'), value);
      }),
    );
  });

  it('utf8Length equals what TextEncoder writes, lone surrogates included', () => {
    const encoder = new TextEncoder();
    const surrogates = fc.constantFrom('\ud800', '\udc00', '\ud83d\ude00', 'a\ud800b', '\udbff\udfff');
    const withLone = fc
      .array(fc.oneof(fc.string({ unit: 'binary', maxLength: 5 }), surrogates))
      .map((a) => a.join(''));
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), withLone), (s) => {
        assert.equal(utf8Length(s), encoder.encode(s).length);
      }),
      { numRuns: 1000 },
    );
  });

  it('strings of one length but different UTF-8 lengths, one after another, encode exactly', () => {
    // Same UTF-16 length, so the same memo slot: a length remembered for the wrong string would
    // make the frame's size wrong (finish() throws) or its text garbled.
    const sameLength = fc.constantFrom('ab', 'aé', '€x', '\ud83d\ude00', 'a\ud800', 'ab');
    fc.assert(
      fc.property(fc.array(fc.tuple(sameLength, sameLength), { minLength: 1, maxLength: 20 }), (pairs) => {
        for (const [message, reason] of pairs) {
          const error: Frame = { type: 'error', code: 'internal', message };
          assert.deepStrictEqual(decodeFrame(encodeFrame(error)), {
            ...error,
            message: new TextDecoder().decode(new TextEncoder().encode(message)),
          });
          const goaway: Frame = { type: 'goaway', reason, reconnectAfterMs: 1 };
          const bytes = encodeFrame(goaway);
          assert.equal(
            (decodeFrame(bytes) as typeof goaway).reason,
            new TextDecoder().decode(new TextEncoder().encode(reason)),
          );
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a leading byte-order mark in strings', () => {
    const frame: Frame = { type: 'goaway', reason: '\ufeffdrain', reconnectAfterMs: 1 };
    assert.deepStrictEqual(decodeFrame(encodeFrame(frame)), frame);
  });
});

describe('ASCII strings', () => {
  it('Node and browsers read the same string from the same bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(80), fc.nat(80), (raw, a, b) => {
        const ascii = raw.map((byte) => byte & 0x7f);
        const start = Math.min(a, b, ascii.length);
        const end = Math.min(Math.max(a, b), ascii.length);
        const expected = new TextDecoder().decode(ascii.subarray(start, end));
        assert.equal(asciiString(ascii, start, end), expected);
        assert.equal(portableAsciiString(ascii, start, end), expected);
      }),
      { numRuns: 300 },
    );
  });
});

describe('recurring strings', () => {
  /** A length-delimited string field's bytes, as the encoder writes it. */
  function field(text: string): Uint8Array {
    const w = new ProtoWriter(new Uint8Array(varintSize(utf8Length(text)) + utf8Length(text)));
    w.string(text, utf8Length(text));
    return w.finish();
  }

  it('reads what `string` reads, for any run of repeated, changed and non-ASCII values', () => {
    // A small pool, so that values recur; same-length neighbours, so that a byte compare
    // that stopped early or started late would show; and 'Ã©', whose two character codes are
    // the two UTF-8 bytes of 'é', so that comparing the input with a remembered string's
    // characters, instead of its bytes, would show.
    const pool = fc.constantFrom(
      '',
      'a',
      'b',
      'sbmp-1',
      'sbmp-2',
      'sbmp-12',
      'é',
      'Ã©',
      'ée',
      'x'.repeat(63),
      'x'.repeat(64),
    );
    const value = fc.oneof(pool, fc.string({ unit: 'binary', maxLength: 70 }));
    fc.assert(
      fc.property(fc.array(value, { maxLength: 30 }), (values) => {
        const memo = new StringMemo();
        for (const text of values) {
          const bytes = field(text);
          assert.equal(new ProtoReader(bytes).recurringString('f', memo), text);
          assert.equal(new ProtoReader(bytes).string('f'), text);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('remembers values under 64 bytes, and refuses invalid UTF-8 whatever it remembers', () => {
    const memo = new StringMemo();
    new ProtoReader(field('sbmp-1')).recurringString('f', memo);
    assert.equal(memo.last, 'sbmp-1');
    const first = new ProtoReader(field('é!')).recurringString('f', memo);
    assert.equal(memo.last, 'é!', 'a non-ASCII value is remembered by its bytes');
    assert.equal(new ProtoReader(field('é!')).recurringString('f', memo), first, 'and given again');
    new ProtoReader(field('y'.repeat(64))).recurringString('f', memo);
    assert.equal(memo.last, 'é!', 'a long value is not remembered');
    // Two bytes, as long as a remembered 'ab', that are not UTF-8.
    new ProtoReader(field('ab')).recurringString('f', memo);
    throwsCode(() => new ProtoReader(Uint8Array.of(2, 0xc3, 0x28)).recurringString('f', memo), 'bad_frame');
    assert.equal(new ProtoReader(field('ab')).recurringString('f', memo), 'ab');
  });

  it('compares with a copy of the bytes it remembered, not with the input they came from', () => {
    const memo = new StringMemo();
    const input = field('abc');
    new ProtoReader(input).recurringString('f', memo);
    input.set(field('abd'));
    assert.equal(new ProtoReader(field('abd')).recurringString('f', memo), 'abd');
    assert.equal(new ProtoReader(Buffer.from(field('abc'))).recurringString('f', memo), 'abc');
  });
});

describe('browser compatibility', () => {
  it('src/codec uses no Node-only API (no Buffer unless feature-detected, no node: imports)', () => {
    const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'codec');
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    assert.ok(files.length >= 5);
    for (const file of files) {
      const source = readFileSync(join(dir, file), 'utf8');
      // `Buffer?` is an optional access of globalThis.Buffer, with a fallback where it is absent.
      assert.doesNotMatch(source, /\bBuffer\b(?!\?)|from 'node:|require\(/, file);
    }
  });
});
