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

/** Reads the header into `into` (reused, so the hot path allocates nothing); false for a foreign message. */
export function readPayload(bytes: Uint8Array, into: PayloadHeader): boolean {
  if (bytes.length !== PAYLOAD_BYTES) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  into.intendedAt = view.getFloat64(0, true);
  into.run = view.getUint32(8, true);
  into.seq = view.getUint32(12, true);
  return true;
}
