import { setTimeout as sleep } from 'node:timers/promises';
import type { BusPublisher } from './bus.js';
import type { PublishOutcome } from './drive.js';
import { versionOf } from './drive.js';
import { encodePayload } from './payload.js';

export interface PacedPlan {
  readonly run: number;
  readonly count: number;
  /** Key slots, round-robin. */
  readonly keys: number;
  /** Messages per second: message i is due at start + i * 1000 / rate ms, exactly. */
  readonly rate: number;
  /** The run stops sending after this long even if `count` is not reached, ms. */
  readonly maxMs: number;
}

export interface PacedOutcome extends PublishOutcome {
  /**
   * How late each message left this thread behind its due time, ms, indexed by sequence number
   * (NaN: not sent; 0 for one sent up to `WAKE_EARLY_MS` early). A message is late when this
   * thread was held up: by its own work (the client library sending, reading what the server
   * answers, collecting garbage) or waiting for a core the subject's other processes hold.
   */
  readonly sentLateMs: Float64Array;
}

/**
 * The clock of another thread. `performance.now()` may differ per thread (a worker may have a
 * time origin of its own; on Node 20 it shares the process's, which nothing here relies on), the
 * monotonic `process.hrtime` does not. `originMs` is the hrtime, in ms, at which the measuring
 * thread's `performance.now()` was 0; `now()` reads that thread's clock here.
 */
export class SharedClock {
  readonly originMs: number;
  /** This thread's `performance.now()` plus this is the measuring thread's. */
  readonly #offsetMs: number;

  constructor(originMs: number) {
    this.originMs = originMs;
    // Measured once: `now()` is then one `performance.now()`, where `process.hrtime()` would
    // allocate an array on every read of the publisher's hot loop.
    this.#offsetMs = SharedClock.here() - originMs;
  }

  /** The origin of this thread's `performance.now()`, for the thread that sends it. */
  static here(): number {
    // The reading between two of this thread's: their mean is the same instant to within half
    // the time between them, usually under a microsecond. Of a few tries, the narrowest wins, so
    // a thread descheduled in the middle of one does not skew the clock. (A first
    // `performance.now()` may take most of a millisecond to set itself up.)
    let best = Number.POSITIVE_INFINITY;
    let origin = 0;
    for (let i = 0; i < 5; i++) {
      const before = performance.now();
      const hr = hrtimeMs();
      const after = performance.now();
      if (after - before < best) {
        best = after - before;
        origin = hr - (before + after) / 2;
      }
    }
    return origin;
  }

  now(): number {
    return performance.now() + this.#offsetMs;
  }
}

function hrtimeMs(): number {
  const [seconds, nanos] = process.hrtime();
  return seconds * 1000 + nanos / 1e6;
}

/** Atomics.wait oversleeps by about Linux's default timer slack (50 µs); wake that much early. */
const WAKE_EARLY_MS = 0.05;
/** Waits longer than this go to a timer, so that the thread's I/O runs meanwhile. */
const TIMER_THRESHOLD_MS = 2;

const pause = new Int32Array(new SharedArrayBuffer(4));
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Sends on an exact schedule, for a thread of its own (a worker): each message is sent at its
 * due time to within tens of microseconds, where a timer would send ten at a time on 1 ms ticks
 * and charge every subject up to a millisecond of its own making. Short waits block the thread
 * in `Atomics.wait` (no CPU spent, unlike a spin, which would take a core from the servers under
 * test); between two messages the thread yields one turn, so acknowledgements are read.
 *
 * Each payload carries its due time on `clock`, whether or not the sender kept up: latency
 * counts the wait of a message sent late, a stalled sender included (no coordinated omission).
 */
export async function publishPaced(
  publisher: BusPublisher,
  plan: PacedPlan,
  clock: SharedClock,
): Promise<PacedOutcome> {
  const period = 1000 / plan.rate;
  const sentLateMs = new Float64Array(plan.count).fill(Number.NaN);
  const startedAt = clock.now();
  const deadline = startedAt + plan.maxMs;
  let seq = 0;
  while (seq < plan.count) {
    const dueAt = startedAt + seq * period;
    let ahead = dueAt - clock.now();
    if (ahead > TIMER_THRESHOLD_MS) {
      await sleep(ahead - TIMER_THRESHOLD_MS / 2);
      ahead = dueAt - clock.now();
    }
    if (ahead > WAKE_EARLY_MS) Atomics.wait(pause, 0, 0, ahead - WAKE_EARLY_MS);
    const sendAt = clock.now();
    if (sendAt > deadline) break;
    sentLateMs[seq] = Math.max(0, sendAt - dueAt);
    const wait = publisher.send(
      seq % plan.keys,
      versionOf(plan.run, seq),
      encodePayload(dueAt, plan.run, seq),
    );
    seq++;
    if (wait !== undefined) await wait;
    else await nextTurn();
  }
  const sentAt = clock.now();
  await publisher.flush();
  return { published: seq, startedAt, sentAt, confirmedAt: clock.now(), sentLateMs };
}
