/**
 * The message every subject carries: 256 bytes, the same for SBMP and every peer.
 *
 *   offset 0   float64  intended send time (performance.now() of the bench process, ms)
 *   offset 8   uint32   run id (deliveries of an earlier run are told apart and ignored)
 *   offset 12  uint32   sequence number within the run
 *   offset 16  filler up to 256 bytes
 *
 * A fresh buffer per message: clients may hold a sent buffer until it is written (ioredis)
 * or mask it in place (ws), so a reused buffer could change under a queued send.
 */
export const PAYLOAD_BYTES = 256;

export function encodePayload(intendedAt: number, run: number, seq: number): Uint8Array {
  const bytes = Buffer.allocUnsafe(PAYLOAD_BYTES);
  bytes.writeDoubleLE(intendedAt, 0);
  bytes.writeUInt32LE(run, 8);
  bytes.writeUInt32LE(seq, 12);
  bytes.fill(0x61, 16);
  return bytes;
}

export interface PayloadHeader {
  intendedAt: number;
  run: number;
  seq: number;
}

/** The send time's 8 bytes are copied here to be read as a float64 (little-endian, as written). */
const timeBytes = new Uint8Array(8);
const timeValue = new Float64Array(timeBytes.buffer);
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function uint32At(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

/**
 * Reads the header into `into` (reused); false for a foreign message. Nothing is allocated per
 * message, for every subject alike (it read through a DataView made per message before).
 */
export function readPayload(bytes: Uint8Array, into: PayloadHeader): boolean {
  if (bytes.length !== PAYLOAD_BYTES) return false;
  for (let i = 0; i < 8; i++) timeBytes[LITTLE_ENDIAN_HOST ? i : 7 - i] = bytes[i]!;
  into.intendedAt = timeValue[0]!;
  into.run = uint32At(bytes, 8);
  into.seq = uint32At(bytes, 12);
  return true;
}
