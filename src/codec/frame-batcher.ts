import { atEndOfTurn } from '../core/write-batching.js';
import { batchEntryBytes, batchMessageBytes, encodeBatch } from './batch.js';

/**
 * Frames larger than this travel alone: copying them into a batch costs more than the message
 * they would share.
 */
export const BATCH_FRAME_MAX_BYTES = 16 * 1024;
/** A batch is sent once it would grow past this (or past the peer's frame limit, if lower). */
export const BATCH_MESSAGE_MAX_BYTES = 64 * 1024;

/**
 * Writes one WebSocket message. `frameBytes` is the length of the frames it carries (without
 * the BATCH framing), for a writer that counts the bytes still unsent.
 */
export type MessageWriter = (message: Uint8Array, frameBytes: number) => void;

/**
 * The write side of a connection whose peer reads BATCH messages: the frames written in one
 * turn of the event loop (a window of PUBLISH frames, the ACKs of one store batch) leave as
 * one BATCH message, so the WebSocket cost per message (framing, masking, the peer's parsing
 * and its 'message' event) is paid once per turn rather than once per frame. Measured with
 * `ws` alone (300-byte frames, writes already coalesced into one system call per turn): 2.0 µs
 * per frame on each side sent one per message, 0.9 µs in batches of 16.
 *
 * Frames keep their order: a large frame first sends what is pending, then itself alone. A
 * single pending frame is sent as itself. Until `enable` (before the peer said it reads
 * batches) every frame is written at once, as itself.
 *
 * What was sent is reported to the writer as a byte count per message, not by a callback per
 * frame: a closure and a list slot for every frame were 4.5% of the server's heap allocation in
 * 1 -> 1 (bench/LIMITS.md).
 */
export class FrameBatcher {
  readonly #write: MessageWriter;
  #maxMessageBytes = 0;
  readonly #frames: Uint8Array[] = [];
  /** The frames' own bytes, for the writer. */
  #frameBytes = 0;
  /** The BATCH message's body: the frames and their length prefixes. */
  #bodyBytes = 0;
  #scheduled = false;
  readonly #flushAtEndOfTurn = () => {
    this.#scheduled = false;
    this.flush();
  };

  constructor(write: MessageWriter) {
    this.#write = write;
  }

  get enabled(): boolean {
    return this.#maxMessageBytes > 0;
  }

  /** From now on, frames are batched into messages of at most `peerMaxFrameBytes`. */
  enable(peerMaxFrameBytes: number): void {
    this.#maxMessageBytes = Math.min(BATCH_MESSAGE_MAX_BYTES, peerMaxFrameBytes);
  }

  /** Queues one encoded frame for the end of this turn (or writes it now, see the class). */
  send(frame: Uint8Array): void {
    const entryBytes = batchEntryBytes(frame.length);
    if (
      !this.enabled ||
      frame.length > BATCH_FRAME_MAX_BYTES ||
      batchMessageBytes(entryBytes) > this.#maxMessageBytes
    ) {
      this.flush();
      this.#write(frame, frame.length);
      return;
    }
    if (this.#frames.length > 0 && batchMessageBytes(this.#bodyBytes + entryBytes) > this.#maxMessageBytes) {
      this.flush();
    }
    this.#frames.push(frame);
    this.#frameBytes += frame.length;
    this.#bodyBytes += entryBytes;
    if (!this.#scheduled) {
      this.#scheduled = true;
      atEndOfTurn(this.#flushAtEndOfTurn);
    }
  }

  /** Writes what is pending now (before a close frame, say). */
  flush(): void {
    const frames = this.#frames;
    if (frames.length === 0) return;
    const message = frames.length === 1 ? frames[0]! : encodeBatch(frames, this.#bodyBytes);
    const frameBytes = this.#frameBytes;
    frames.length = 0;
    this.#frameBytes = 0;
    this.#bodyBytes = 0;
    this.#write(message, frameBytes);
  }
}
