/**
 * The frame codec of the WebSocket protocol: `Frame` values to and from the Protocol Buffers
 * bytes of `proto/sbmp.proto`. Hand-written for exactly that schema (no runtime protobuf
 * library), pure (no I/O), and free of Node-only APIs so it runs in browsers too.
 *
 * - `encodeFrame` / `decodeFrame`: any frame.
 * - `encodeSnapshotEntry` + `encodeSnapshotsFrame`: the fan-out path; an entry is encoded once
 *   and its bytes are copied into the SNAPSHOTS frame of every subscriber.
 * - `encodeBatch` / `splitBatch`: several encoded frames in one message, for peers that read
 *   batches (`FrameBatcher` sends them); `splitBatchRanges` + `decodeFrameAt` read them without
 *   a view per frame.
 */
export { encodeBatch, splitBatch, splitBatchRanges } from './batch.js';
export type { DecodeFrameOptions } from './frame-decode.js';
export { decodeFrame, decodeFrameAt, decodeSnapshotEntry, MAX_FRAME_BYTES_DEFAULT } from './frame-decode.js';
export type { SnapshotsHeader } from './frame-encode.js';
export {
  encodeFrame,
  encodeSnapshotEntry,
  encodeSnapshotsFrame,
  SNAPSHOTS_FRAME_OVERHEAD_MAX,
  snapshotEntryFrameBytes,
} from './frame-encode.js';
