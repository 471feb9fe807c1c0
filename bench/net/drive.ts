import { setTimeout as sleep } from 'node:timers/promises';
import type { BusPublisher, PublisherStats } from './bus.js';
import { encodePayload } from './payload.js';
import type { Subject } from './subjects.js';

export interface PublishPlan {
  readonly run: number;
  /** Most messages in the run. */
  readonly count: number;
  /** The run stops sending after this long even if `count` is not reached, ms. */
  readonly maxMs: number;
  /** Key slots, round-robin (SBMP keys `<topic>/k0..k<keys-1>`). */
  readonly keys: number;
  /**
   * Messages per second on a fixed schedule; omitted: as fast as the window allows.
   *
   * The schedule is one tick per millisecond (the finest a timer gives without blocking the
   * thread), each tick due `rate / 1000` messages: message i is due at
   * start + floor(i * 1000 / rate) ms. Good enough to hold a rate; the latency scenario, which
   * needs each message sent on time, publishes from a worker thread instead (paced.ts).
   * That due time travels in the payload whether or not the sender kept up, so latency counts
   * the wait of a message sent late, a stalled sender included (no coordinated omission).
   */
  readonly rate?: number;
}

export interface PublishOutcome {
  readonly published: number;
  readonly startedAt: number;
  /** When the last message was handed to the client. */
  readonly sentAt: number;
  /** When every message was confirmed. */
  readonly confirmedAt: number;
}

/** Versions rise across runs: run r uses (r * VERSION_STRIDE, (r + 1) * VERSION_STRIDE]. */
const VERSION_STRIDE = 10_000_000;

export function versionOf(run: number, seq: number): number {
  return run * VERSION_STRIDE + seq + 1;
}

export async function publishRun(publisher: BusPublisher, plan: PublishPlan): Promise<PublishOutcome> {
  const count = Math.min(plan.count, VERSION_STRIDE - 1);
  const startedAt = performance.now();
  const deadline = startedAt + plan.maxMs;
  let seq = 0;
  if (plan.rate === undefined) {
    while (seq < count) {
      // The clock is read once per 64 sends; the payload's time is only needed on a schedule.
      if ((seq & 63) === 0 && performance.now() > deadline) break;
      const wait = publisher.send(seq % plan.keys, versionOf(plan.run, seq), encodePayload(0, plan.run, seq));
      seq++;
      if (wait !== undefined) await wait;
    }
  } else {
    const period = 1000 / plan.rate;
    const dueAt = (i: number) => startedAt + Math.floor(i * period);
    while (seq < count) {
      const now = performance.now();
      if (now > deadline) break;
      while (seq < count && dueAt(seq) <= now) {
        const wait = publisher.send(
          seq % plan.keys,
          versionOf(plan.run, seq),
          encodePayload(dueAt(seq), plan.run, seq),
        );
        seq++;
        if (wait !== undefined) await wait;
      }
      // Until the next tick: deliveries (measured in this process) are handled meanwhile.
      await sleep(Math.max(0, dueAt(seq) - performance.now()));
    }
  }
  const sentAt = performance.now();
  await publisher.flush();
  return { published: seq, startedAt, sentAt, confirmedAt: performance.now() };
}

/**
 * Says so on stderr when publishes failed or (SBMP) were not applied: a figure measured over
 * refused publishes would be meaningless, and a refusal is a bug in the bench or the server.
 */
export function warnIfRefused(subject: Subject, stats: PublisherStats): void {
  const { sent, confirmed, applied, failed, lastError } = stats;
  const notApplied = subject.endpoint.kind === 'sbmp' ? confirmed - applied : 0;
  if (failed > 0 || notApplied > 0) {
    console.error(
      `bench: ${subject.label}: of ${sent} publishes ${failed} failed and ${notApplied} were not applied` +
        (lastError === undefined ? '' : `; last error: ${String(lastError)}`),
    );
  }
}
