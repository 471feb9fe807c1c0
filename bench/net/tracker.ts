import type { PayloadHeader } from './payload.js';
import { readPayload } from './payload.js';

/**
 * Counts one subscriber's deliveries of the current run and tells when the run is complete.
 *
 * The publisher sends sequence numbers 0..P-1 round-robin over `keys` key slots. A subject
 * that delivers everything is complete when all P arrived. SBMP may conflate (deliver only the
 * newest pending version of a key), so it is also complete once the last version of every
 * slot (sequence numbers P-keys..P-1) arrived: the newest version of each key always does.
 */
export class DeliveryTracker {
  readonly keys: number;
  delivered = 0;
  /** Deliveries of another run (late ones of an earlier run), not counted. */
  foreign = 0;
  /** performance.now() of the latest counted delivery. */
  lastAt = 0;
  /** When set, `latencies[seq]` receives the delivery time minus the intended send time, ms. */
  latencies: Float64Array | undefined;
  readonly #header: PayloadHeader = { intendedAt: 0, run: 0, seq: 0 };
  readonly #lastSeq: Int32Array;
  #run = 0;
  #published = -1;
  #finalsSeen = 0;
  #finalsNeeded = 0;
  #onComplete: (() => void) | undefined;

  constructor(keys: number) {
    this.keys = keys;
    this.#lastSeq = new Int32Array(keys);
  }

  /** Starts counting run `run`; `latencies` (optional) sized for its sequence numbers. */
  begin(run: number, latencies?: Float64Array): void {
    this.#run = run;
    this.delivered = 0;
    this.foreign = 0;
    this.lastAt = 0;
    this.latencies = latencies;
    this.#lastSeq.fill(-1);
    this.#published = -1;
    this.#finalsSeen = 0;
    this.#finalsNeeded = 0;
    this.#onComplete = undefined;
  }

  readonly onMessage = (bytes: Uint8Array): void => {
    const header = this.#header;
    if (!readPayload(bytes, header) || header.run !== this.#run) {
      this.foreign++;
      return;
    }
    const now = performance.now();
    this.delivered++;
    this.lastAt = now;
    const latencies = this.latencies;
    if (latencies !== undefined && header.seq < latencies.length)
      latencies[header.seq] = now - header.intendedAt;
    const slot = header.seq % this.keys;
    if (header.seq > this.#lastSeq[slot]!) this.#lastSeq[slot] = header.seq;
    if (this.#published >= 0) {
      if (header.seq >= this.#published - this.keys) this.#finalsSeen++;
      this.#checkComplete();
    }
  };

  /** The newest sequence number seen per slot (-1: none), for staleness figures. */
  lastSeqOf(slot: number): number {
    return this.#lastSeq[slot]!;
  }

  get complete(): boolean {
    return (
      this.#published >= 0 && (this.delivered >= this.#published || this.#finalsSeen >= this.#finalsNeeded)
    );
  }

  /**
   * Publishing ended after `published` messages. Resolves true once the run is complete, or
   * false after `timeoutMs` (a subject that dropped messages, or a subscriber cut off).
   */
  end(published: number, timeoutMs: number): Promise<boolean> {
    this.#published = published;
    this.#finalsNeeded = Math.min(published, this.keys);
    const firstFinal = published - this.keys;
    this.#finalsSeen = 0;
    for (let slot = 0; slot < this.keys; slot++)
      if (this.#lastSeq[slot]! >= firstFinal && this.#lastSeq[slot]! >= 0) this.#finalsSeen++;
    if (this.complete) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#onComplete = undefined;
        resolve(false);
      }, timeoutMs);
      this.#onComplete = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  #checkComplete(): void {
    if (this.#onComplete !== undefined && this.complete) {
      const done = this.#onComplete;
      this.#onComplete = undefined;
      done();
    }
  }
}
