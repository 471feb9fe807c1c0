import { AllocationMeter } from '../lib/allocation.js';
import type { Figure } from '../lib/measure.js';
import { summarize } from '../lib/measure.js';
import type { BusPublisher, BusSubscriber } from './bus.js';
import { publishRun, warnIfRefused } from './drive.js';
import { busClientFor } from './endpoint.js';
import type { Subject } from './subjects.js';
import { DeliveryTracker } from './tracker.js';

export interface DeliveryPlan {
  readonly subscribers: number;
  /** Messages per run at most. */
  readonly count: number;
  /** Publishing time per run at most, ms. */
  readonly runMs: number;
  readonly runs: number;
  /** An untimed first run: at most this long, ms, and this many messages. */
  readonly warmupMs: number;
  readonly warmupCount: number;
  /** Key slots (SBMP keys) the publisher cycles through. */
  readonly keys: number;
  /** The publisher's in-flight window. */
  readonly window: number;
  /** Time the subscribers have to receive what was published, after publishing ends, ms. */
  readonly drainMs: number;
}

export interface DeliveryFigures {
  /** Deliveries per second, all subscribers together: from the first send to the last delivery. */
  readonly delivered: Figure;
  /** Confirmed publishes per second: from the first send to the last confirmation. */
  readonly published: Figure;
  /** Share of (published x subscribers) not delivered, %: conflated (SBMP) or lost (peers). */
  readonly undelivered: Figure;
  /**
   * JavaScript heap bytes the server allocated per delivered message, over the measured runs;
   * undefined for servers that do not run in a bench child (NATS, Redis).
   */
  readonly allocatedPerDelivery: Figure | undefined;
  /**
   * JavaScript heap bytes this process (the publisher and every subscriber, with their client
   * library) allocated per delivered message: where fan-out spends its time, the receiving side.
   */
  readonly clientsAllocatedPerDelivery: Figure | undefined;
  /** Runs whose deliveries were not complete within `drainMs`. */
  readonly incompleteRuns: number;
}

let nextRun = 1;

/** One publisher, `plan.subscribers` subscribers on one topic, all in this process. */
export async function measureDelivery(
  subject: Subject,
  topic: string,
  plan: DeliveryPlan,
): Promise<DeliveryFigures> {
  const client = busClientFor(subject.endpoint);
  const trackers = Array.from({ length: plan.subscribers }, () => new DeliveryTracker(plan.keys));
  const subscribers: BusSubscriber[] = [];
  let publisher: BusPublisher | undefined;
  const clientsMeter = new AllocationMeter();
  try {
    for (const tracker of trackers)
      subscribers.push(await client.subscriber(subject.endpoint, topic, tracker.onMessage));
    publisher = await client.publisher(subject.endpoint, topic, plan.window);
    const delivered: number[] = [];
    const published: number[] = [];
    const undelivered: number[] = [];
    const allocated: number[] = [];
    const clientsAllocated: number[] = [];
    let incompleteRuns = 0;
    for (let r = -1; r < plan.runs; r++) {
      const run = nextRun++;
      for (const tracker of trackers) tracker.begin(run);
      const confirmedBefore = publisher.stats.confirmed;
      if (r >= 0) {
        await subject.request('allocationStart');
        clientsMeter.start();
      }
      const outcome = await publishRun(publisher, {
        run,
        count: r < 0 ? plan.warmupCount : plan.count,
        maxMs: r < 0 ? plan.warmupMs : plan.runMs,
        keys: plan.keys,
      });
      const complete = await Promise.all(trackers.map((t) => t.end(outcome.published, plan.drainMs)));
      if (r < 0) continue;
      const clientsBytes = clientsMeter.stop();
      const allocatedBytes = await subject.request<number>('allocationStop');
      if (complete.includes(false)) incompleteRuns++;
      let total = 0;
      let lastAt = outcome.startedAt;
      for (const tracker of trackers) {
        total += tracker.delivered;
        lastAt = Math.max(lastAt, tracker.lastAt);
      }
      delivered.push(total === 0 ? 0 : (total * 1000) / (lastAt - outcome.startedAt));
      published.push(
        ((publisher.stats.confirmed - confirmedBefore) * 1000) / (outcome.confirmedAt - outcome.startedAt),
      );
      const expected = outcome.published * plan.subscribers;
      undelivered.push(expected === 0 ? 0 : (100 * (expected - total)) / expected);
      if (allocatedBytes !== undefined && total > 0) allocated.push(allocatedBytes / total);
      if (clientsBytes !== undefined && total > 0) clientsAllocated.push(clientsBytes / total);
    }
    warnIfRefused(subject, publisher.stats);
    return {
      delivered: summarize(delivered),
      published: summarize(published),
      undelivered: summarize(undelivered),
      allocatedPerDelivery: allocated.length > 0 ? summarize(allocated) : undefined,
      clientsAllocatedPerDelivery: clientsAllocated.length > 0 ? summarize(clientsAllocated) : undefined,
      incompleteRuns,
    };
  } finally {
    clientsMeter.stop();
    await publisher?.close().catch(() => {});
    await Promise.all(subscribers.map((s) => s.close().catch(() => {})));
  }
}
