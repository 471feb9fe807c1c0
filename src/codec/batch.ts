import { SbmpError } from '../core/errors.js';
import { expect, L } from './decode-support.js';
import { allocateFrame, badFrame, lenFieldSize, ProtoReader, ProtoWriter, tagOf } from './protobuf-wire.js';
import { BATCH_BODY_FIELD, BATCH_FIELD, FRAME_TYPE_BY_FIELD } from './wire-schema.js';

/**
 * BATCH messages: several encoded frames in one WebSocket message (`BatchFrame` of
 * proto/sbmp.proto), so that a window of PUBLISH frames or a run of ACKs pays WebSocket's
 * per-message cost once. On the wire a batch is a `Frame` whose body is `BatchFrame`:
 *
 *   0x62 <length> ( 0x0a <length> <frame bytes> )*
 *
 * The frames inside are ordinary encoded frames, copied as they are.
 */

const BATCH_TAG = tagOf(BATCH_BODY_FIELD, L);
const FRAME_TAG = tagOf(BATCH_FIELD.frames, L);

/** Bytes `frameLength` adds to a batch body: its tag, its length, itself. */
export function batchEntryBytes(frameLength: number): number {
  return 1 + lenFieldSize(frameLength);
}

/** Bytes of a whole BATCH message whose body (the sum of `batchEntryBytes`) is `bodyBytes`. */
export function batchMessageBytes(bodyBytes: number): number {
  return 1 + lenFieldSize(bodyBytes);
}

/**
 * One BATCH message holding `frames` (each the bytes of one encoded frame), in order.
 * `bodyBytes`, when given, is the sum of `batchEntryBytes` over the frames, which a caller
 * adding frames one by one already knows. The result may share its ArrayBuffer with other
 * frames, like `encodeFrame`'s.
 */
export function encodeBatch(frames: readonly Uint8Array[], bodyBytes?: number): Uint8Array {
  if (frames.length === 0) throw badFrame('a batch holds at least one frame');
  let body = bodyBytes ?? 0;
  if (bodyBytes === undefined) for (const frame of frames) body += batchEntryBytes(frame.length);
  const w = new ProtoWriter(allocateFrame(batchMessageBytes(body)));
  w.tag(BATCH_TAG);
  w.varint(body);
  for (const frame of frames) {
    w.tag(FRAME_TAG);
    w.varint(frame.length);
    w.raw(frame);
  }
  return w.finish();
}

/**
 * The frames of a BATCH message as views into `bytes`, in order, or `undefined` when `bytes`
 * is one frame of its own (decode it with `decodeFrame`). See `splitBatchRanges`, which this
 * is, with a view made of each range.
 */
export function splitBatch(bytes: Uint8Array, maxFrameBytes: number): Uint8Array[] | undefined {
  const ranges = splitBatchRanges(bytes, maxFrameBytes);
  if (ranges === undefined) return undefined;
  const frames: Uint8Array[] = [];
  for (let i = 0; i < ranges.length; i += 2) frames.push(bytes.subarray(ranges[i], ranges[i + 1]));
  return frames;
}

/**
 * Where the frames of a BATCH message lie in `bytes`, in order, as start and end offsets
 * (`[start0, end0, start1, end1, ...]`, for `decodeFrameAt`), or `undefined` when `bytes` is one
 * frame of its own (decode it with `decodeFrame`). Offsets rather than views: a view per frame
 * was 3.5% of the server's heap allocation in 1 -> 1. A malformed batch is refused whole with
 * `bad_frame`, before any of its frames is handed out: a length past the end, a frame field of
 * the wrong wire type, no frames, a BATCH inside a BATCH, or a message with both a batch and a
 * frame body. `too_large` when `bytes` is longer than `maxFrameBytes`. The frames themselves are
 * not decoded here: each is decoded (and refused, if malformed) on its own. Byte offsets in errors
 * count from the start of `bytes`.
 */
export function splitBatchRanges(bytes: Uint8Array, maxFrameBytes: number): number[] | undefined {
  // Every encoder writes the body first; the scan below handles fields in any order.
  if (bytes.length > 0 && bytes[0] !== BATCH_TAG && FRAME_TYPE_BY_FIELD[bytes[0]! >>> 3] !== undefined) {
    return undefined;
  }
  const r = new ProtoReader(bytes);
  let batchStart = -1;
  let batchEnd = -1;
  let frameBody: number | undefined;
  while (r.pos < r.end) {
    const tag = r.tag();
    const field = tag >>> 3;
    if (field === BATCH_BODY_FIELD) {
      expect(tag, L, 'batch');
      if (batchStart >= 0) throw badFrame('a frame has two batch bodies');
      const length = r.length('batch');
      batchStart = r.pos;
      batchEnd = r.pos + length;
      r.pos = batchEnd;
      continue;
    }
    if (FRAME_TYPE_BY_FIELD[field] !== undefined) frameBody = field;
    r.skip(tag);
  }
  if (batchStart < 0) return undefined;
  if (frameBody !== undefined) {
    throw badFrame(`a frame has two bodies: batch and ${FRAME_TYPE_BY_FIELD[frameBody]}`);
  }
  if (bytes.length > maxFrameBytes) {
    throw new SbmpError(
      'too_large',
      `batch of ${bytes.length} bytes exceeds the ${maxFrameBytes}-byte frame limit`,
      { details: { bytes: bytes.length, limit: maxFrameBytes } },
    );
  }
  const ranges: number[] = [];
  const body = new ProtoReader(bytes, batchStart, batchEnd);
  while (body.pos < body.end) {
    const tag = body.tag();
    if (tag >>> 3 !== BATCH_FIELD.frames) {
      body.skip(tag);
      continue;
    }
    expect(tag, L, 'batch.frames');
    const length = body.length('batch.frames');
    const start = body.pos;
    body.pos = start + length;
    if (length > 0 && bytes[start] === BATCH_TAG) throw badFrame('a batch cannot hold a batch');
    ranges.push(start, start + length);
  }
  if (ranges.length === 0) throw badFrame('a batch holds no frames');
  return ranges;
}
