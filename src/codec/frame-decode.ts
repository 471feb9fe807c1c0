import { SbmpError } from '../core/errors.js';
import {
  decodeAck,
  decodeEntryFields,
  decodePublish,
  decodeSnapshots,
  decodeSubscribe,
} from './decode-data.js';
import { decodeError, decodeGoaway, decodeHello, decodeWelcome } from './decode-session.js';
import { decodeSingleVarint, enterNested, expect, L } from './decode-support.js';
import type { Frame, FrameType, SnapshotEntry } from './frame-types.js';
import { badFrame, ProtoReader } from './protobuf-wire.js';
import {
  BATCH_BODY_FIELD,
  FRAME_TYPE_BY_FIELD,
  PING_FIELD,
  PONG_FIELD,
  UNSUBSCRIBE_FIELD,
} from './wire-schema.js';

/**
 * Default largest frame `decodeFrame` accepts: 4 MiB. A PUBLISH or a one-entry SNAPSHOTS frame
 * must fit a state at the 1 MiB state limit even after the server re-encodes it for a JSON
 * connection (JSON text of a value can be a few times its MessagePack size), plus key, source,
 * trace context and headers, which are at most a few kilobytes.
 */
export const MAX_FRAME_BYTES_DEFAULT = 4 * 1024 * 1024;

export interface DecodeFrameOptions {
  /** Largest frame accepted, in bytes; a larger one is refused with `too_large`. Default 4 MiB. */
  readonly maxFrameBytes?: number;
}

function decodeBody(type: FrameType, r: ProtoReader): Frame {
  switch (type) {
    case 'hello':
      return decodeHello(r);
    case 'welcome':
      return decodeWelcome(r);
    case 'publish':
      return decodePublish(r);
    case 'ack':
      return decodeAck(r);
    case 'subscribe':
      return decodeSubscribe(r);
    case 'unsubscribe':
      return {
        type,
        subscriptionId: decodeSingleVarint(
          r,
          UNSUBSCRIBE_FIELD.subscriptionId,
          'unsubscribe.subscriptionId',
          'uint32',
        ),
      };
    case 'snapshots':
      return decodeSnapshots(r);
    case 'ping':
      return { type, nonce: decodeSingleVarint(r, PING_FIELD.nonce, 'ping.nonce', 'uint64') };
    case 'pong':
      return { type, nonce: decodeSingleVarint(r, PONG_FIELD.nonce, 'pong.nonce', 'uint64') };
    case 'error':
      return decodeError(r);
    case 'goaway':
      return decodeGoaway(r);
  }
}

/**
 * Decodes the bytes of one binary WebSocket message into a frame.
 *
 * Throws only `SbmpError`: `too_large` when `bytes` is longer than `maxFrameBytes`, `bad_frame`
 * (with a message naming the field and byte offset) for anything malformed: a truncated varint,
 * a wrong wire type, a length past the end, an unknown frame type, a missing required field, an
 * integer above 2^53-1, an unknown enum value, invalid UTF-8, a BATCH (split those with
 * `splitBatch` first). Unknown fields inside a known message are skipped. Work is linear in the
 * input, and nothing is allocated from an unchecked length.
 *
 * Ownership: `state` fields are views into `bytes`, not copies. They stay valid as long as the
 * caller does not reuse or change `bytes`; copy them to keep them beyond that.
 */
export function decodeFrame(bytes: Uint8Array, options?: DecodeFrameOptions): Frame {
  if (!(bytes instanceof Uint8Array)) throw badFrame('a frame must be a Uint8Array');
  const maxFrameBytes = options?.maxFrameBytes ?? MAX_FRAME_BYTES_DEFAULT;
  if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 1) {
    throw new SbmpError(
      'bad_config',
      `options.maxFrameBytes must be a positive integer, got ${maxFrameBytes}`,
    );
  }
  return decodeFrameAt(bytes, 0, bytes.length, maxFrameBytes);
}

/**
 * `decodeFrame` of the frame at `bytes[start, end)`, such as one that `splitBatchRanges` found
 * in a BATCH message, without a view of its own: a view per frame was 3.5% of the server's heap
 * allocation in 1 -> 1. Byte offsets in errors count from the start of `bytes`, not of the frame.
 */
export function decodeFrameAt(bytes: Uint8Array, start: number, end: number, maxFrameBytes: number): Frame {
  const length = end - start;
  if (length > maxFrameBytes) {
    throw new SbmpError('too_large', `frame of ${length} bytes exceeds the ${maxFrameBytes}-byte limit`, {
      details: { bytes: length, limit: maxFrameBytes },
    });
  }
  if (length === 0) throw badFrame('empty frame');
  const r = new ProtoReader(bytes, start, end);
  let frame: Frame | undefined;
  let unknownField = 0;
  while (r.pos < r.end) {
    const tag = r.tag();
    const field = tag >>> 3;
    const type = FRAME_TYPE_BY_FIELD[field];
    if (field === BATCH_BODY_FIELD) {
      throw badFrame(
        'a BATCH where one frame was expected (HELLO travels alone, and a batch holds no batch)',
      );
    }
    if (type === undefined) {
      if (unknownField === 0) unknownField = field;
      r.skip(tag);
      continue;
    }
    // The name is built only for the error: a string per frame otherwise.
    if ((tag & 7) !== L) expect(tag, L, `frame body ${type}`);
    if (frame !== undefined) throw badFrame(`frame has two bodies: ${frame.type} and ${type}`);
    // Not `nested`: its callback, which needs `type`, would be a closure made per frame.
    const frameEnd = enterNested(r, type);
    frame = decodeBody(type, r);
    r.end = frameEnd;
  }
  if (frame === undefined) {
    throw badFrame(unknownField === 0 ? 'frame has no body' : `unknown frame type (field ${unknownField})`, {
      field: unknownField,
    });
  }
  return frame;
}

/**
 * Decodes one entry's message body as `encodeSnapshotEntry` writes it. Same errors and the same
 * ownership rule as `decodeFrame`: `state` is a view into `bytes`.
 */
export function decodeSnapshotEntry(bytes: Uint8Array): SnapshotEntry {
  if (!(bytes instanceof Uint8Array)) throw badFrame('a snapshot entry must be a Uint8Array');
  return decodeEntryFields(new ProtoReader(bytes));
}
