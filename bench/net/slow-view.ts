/**
 * What the slow subscriber (a worker thread, slow-subscriber-worker.ts) shares with the bench
 * thread. The worker spends most of its time blocked (that is what makes it slow), so it
 * cannot answer messages; instead it keeps its view in shared memory, readable at any moment.
 *
 *   Int32  [0]  mode: SLOW (each message costs `sleepMs`) or FAST (reads at full speed)
 *   Int32  [1]  lost: 1 once the server closed the connection
 *   Int32  [2]  the cell the worker sleeps on (Atomics.wait), woken when the mode changes
 *   Int32  [3]  unused
 *   Float64 at byte 16: messages delivered in the run
 *   Int32 at byte 32, one per key slot: the newest sequence number seen (-1: none)
 */
import type { Endpoint } from './bus.js';

export const SLOW = 1;
export const FAST = 0;

export class SlowView {
  readonly shared: SharedArrayBuffer;
  readonly control: Int32Array;
  readonly counters: Float64Array;
  readonly lastSeq: Int32Array;

  constructor(keys: number, shared?: SharedArrayBuffer) {
    this.shared = shared ?? new SharedArrayBuffer(32 + 4 * keys);
    this.control = new Int32Array(this.shared, 0, 4);
    this.counters = new Float64Array(this.shared, 16, 2);
    this.lastSeq = new Int32Array(this.shared, 32, keys);
    if (shared === undefined) {
      this.lastSeq.fill(-1);
      Atomics.store(this.control, 0, SLOW);
    }
  }

  get slow(): boolean {
    return Atomics.load(this.control, 0) === SLOW;
  }

  get lost(): boolean {
    return Atomics.load(this.control, 1) === 1;
  }

  get delivered(): number {
    return this.counters[0]!;
  }

  /** Worker: blocks the thread (and so its socket reads) for `ms`, unless woken by `goFast`. */
  sleep(ms: number): void {
    Atomics.wait(this.control, 2, 0, ms);
  }

  /** Bench thread: the subscriber reads at full speed from now on. */
  goFast(): void {
    Atomics.store(this.control, 0, FAST);
    Atomics.notify(this.control, 2);
  }
}

export interface SlowWorkerData {
  readonly endpoint: Endpoint;
  readonly topic: string;
  readonly keys: number;
  readonly run: number;
  /** Time each message costs while slow, ms. */
  readonly sleepMs: number;
  readonly shared: SharedArrayBuffer;
}

export type ToWorker =
  | { readonly type: 'published'; readonly count: number; readonly timeoutMs: number }
  | { readonly type: 'close' };
export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'failed'; readonly error: string }
  | { readonly type: 'caught-up'; readonly complete: boolean };
