import { allocateKept } from '../core/byte-slab.js';
import { bytesOf, L, uint32, uint64, varintField, writeVarintField } from './encode-fields.js';
import {
  type SnapshotsHeader,
  sizeOfAck,
  sizeOfEntry,
  sizeOfError,
  sizeOfGoaway,
  sizeOfHello,
  sizeOfPublish,
  sizeOfSnapshots,
  sizeOfSnapshotsHeader,
  sizeOfSubscribe,
  sizeOfWelcome,
  writeAck,
  writeEntry,
  writeError,
  writeGoaway,
  writeHello,
  writePublish,
  writeSnapshots,
  writeSnapshotsHeader,
  writeSubscribe,
  writeWelcome,
} from './encode-messages.js';
import type { Frame, SnapshotEntry } from './frame-types.js';
import { allocateFrame, badFrame, lenFieldSize, ProtoWriter, tagOf } from './protobuf-wire.js';
import { FRAME_FIELD, PING_FIELD, PONG_FIELD, SNAPSHOTS_FIELD, UNSUBSCRIBE_FIELD } from './wire-schema.js';

export type { SnapshotsHeader } from './encode-messages.js';

/** Size of the body message of `frame`; validates every field on the way. */
function sizeOfBody(frame: Frame): number {
  switch (frame.type) {
    case 'hello':
      return sizeOfHello(frame);
    case 'welcome':
      return sizeOfWelcome(frame);
    case 'publish':
      return sizeOfPublish(frame);
    case 'ack':
      return sizeOfAck(frame);
    case 'subscribe':
      return sizeOfSubscribe(frame);
    case 'unsubscribe':
      return varintField(uint32(frame.subscriptionId, 'unsubscribe.subscriptionId'));
    case 'snapshots':
      return sizeOfSnapshots(frame);
    case 'ping':
      return varintField(uint64(frame.nonce, 'ping.nonce'));
    case 'pong':
      return varintField(uint64(frame.nonce, 'pong.nonce'));
    case 'error':
      return sizeOfError(frame);
    case 'goaway':
      return sizeOfGoaway(frame);
    default:
      throw badFrame(`unknown frame type ${String((frame as { type?: unknown } | null)?.type)}`);
  }
}

function writeBody(w: ProtoWriter, frame: Frame): void {
  switch (frame.type) {
    case 'hello':
      writeHello(w, frame);
      return;
    case 'welcome':
      writeWelcome(w, frame);
      return;
    case 'publish':
      writePublish(w, frame);
      return;
    case 'ack':
      writeAck(w, frame);
      return;
    case 'subscribe':
      writeSubscribe(w, frame);
      return;
    case 'unsubscribe':
      writeVarintField(w, UNSUBSCRIBE_FIELD.subscriptionId, frame.subscriptionId);
      return;
    case 'snapshots':
      writeSnapshots(w, frame);
      return;
    case 'ping':
      writeVarintField(w, PING_FIELD.nonce, frame.nonce);
      return;
    case 'pong':
      writeVarintField(w, PONG_FIELD.nonce, frame.nonce);
      return;
    case 'error':
      writeError(w, frame);
      return;
    case 'goaway':
      writeGoaway(w, frame);
      return;
  }
}

/**
 * Encodes one frame as the bytes of one binary WebSocket message. The result is owned by the
 * caller and never written again by the codec, but a small frame may share its ArrayBuffer
 * with other frames: use the view itself, never `.buffer` without `byteOffset` and `length`,
 * and do not transfer it to a worker. Throws `bad_frame` when a field cannot be represented (an integer that is
 * negative, fractional or above 2^53-1, a missing required field, an unknown enum value), so
 * whatever this accepts, `decodeFrame` accepts back.
 */
export function encodeFrame(frame: Frame): Uint8Array {
  if (frame === null || typeof frame !== 'object') throw badFrame('frame must be an object');
  const bodySize = sizeOfBody(frame);
  const w = new ProtoWriter(allocateFrame(1 + lenFieldSize(bodySize)));
  w.tag(tagOf(FRAME_FIELD[frame.type], L));
  w.varint(bodySize);
  writeBody(w, frame);
  return w.finish();
}

/**
 * Encodes the message body of one snapshot entry. A server encodes each delivered snapshot once
 * (per state encoding) and passes the same bytes to `encodeSnapshotsFrame` for every subscriber.
 * The result is meant to be kept (it comes from `allocateKept`), is owned by the caller and must
 * not be changed once shared.
 */
export function encodeSnapshotEntry(entry: SnapshotEntry): Uint8Array {
  const w = new ProtoWriter(allocateKept(sizeOfEntry(entry)));
  writeEntry(w, entry);
  return w.finish();
}

/** Bytes one pre-encoded entry of `encodedLength` bytes adds to a SNAPSHOTS frame. */
export function snapshotEntryFrameBytes(encodedLength: number): number {
  return 1 + lenFieldSize(encodedLength);
}

/**
 * Most bytes a SNAPSHOTS frame takes besides its entries (frame tag and a length up to 2^35,
 * subscription id, resync, synced, revision), so a sender batching entries under a frame-size
 * limit can stop at `SNAPSHOTS_FRAME_OVERHEAD_MAX + Σ snapshotEntryFrameBytes(e) <= limit`.
 */
export const SNAPSHOTS_FRAME_OVERHEAD_MAX = 1 + 5 + (1 + 5) + 2 + 2 + (1 + 8);

/**
 * Builds a SNAPSHOTS frame from entries encoded by `encodeSnapshotEntry`: the header fields,
 * then `(tag, length, entry bytes)` per entry, copied into one buffer sized beforehand.
 * Byte-for-byte equal to `encodeFrame` of the same frame, with the same ownership rule. The
 * entries are only read.
 */
export function encodeSnapshotsFrame(
  header: SnapshotsHeader,
  encodedEntries: readonly Uint8Array[],
): Uint8Array {
  let bodySize = sizeOfSnapshotsHeader(header);
  for (const entry of encodedEntries) bodySize += 1 + lenFieldSize(bytesOf(entry, 'encoded entry').length);
  const w = new ProtoWriter(allocateFrame(1 + lenFieldSize(bodySize)));
  w.tag(tagOf(FRAME_FIELD.snapshots, L));
  w.varint(bodySize);
  writeSnapshotsHeader(w, header);
  const entryTag = tagOf(SNAPSHOTS_FIELD.entries, L);
  for (const entry of encodedEntries) {
    w.tag(entryTag);
    w.varint(entry.length);
    w.raw(entry);
  }
  return w.finish();
}
