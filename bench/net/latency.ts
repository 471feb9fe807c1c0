import type { LatencyFigures } from '../lib/latency.js';
import { latencyFigures } from '../lib/latency.js';
import type { Figure } from '../lib/measure.js';
import { summarize } from '../lib/measure.js';
import { processCpuMs } from '../lib/process-cpu.js';
import type { Row } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';
import type { BusSubscriber } from './bus.js';
import { warnIfRefused } from './drive.js';
import { busClientFor } from './endpoint.js';
import { PacedPublisher } from './paced-publisher.js';
import { comparedRows, measuredOf } from './rows.js';
import type { Subject, SubjectKind } from './subjects.js';
import { measureEachSubject } from './subjects.js';
import { DeliveryTracker } from './tracker.js';

const RATE = 10_000;
/** The p99 goal: at most 1 ms, and no worse than the best peer's. */
const GOAL_P99_MICROS = 1000;
const MEASURED_SECONDS = 3;
const WARMUP_MS = 500;
const KEYS = 10_000;
const WINDOW = 1024;
const DRAIN_MS = 3000;
/**
 * SBMP on both single-node stores: the memory store, which keeps every key's current state on
 * the JavaScript heap, and the embedded LMDB store (the server's default), which keeps it in its
 * memory-mapped file and commits before it acknowledges.
 */
const LATENCY_SUBJECTS: readonly SubjectKind[] = ['sbmp', 'sbmp-lmdb', 'nats', 'redis', 'ws-relay'];

let nextRun = 1_000_000;

/**
 * Publish-to-delivery latency at a fixed 10,000 messages/s for 3 s, each server in its own
 * process. The subscriber runs in the bench thread; the publisher in a worker thread of its
 * own, sending each message at its due time on an exact schedule (paced.ts), so that neither
 * waits for the other. Each message's latency runs from its INTENDED send time (carried in the
 * payload, on the bench thread's clock) to its delivery, so a sender held up by a stall is
 * charged for it (no coordinated omission). Percentiles are computed per second; the figure is
 * their median, min and max.
 */
export const latencyScenario: Scenario = {
  name: 'latency',
  description: 'publish-to-delivery latency p50/p99/p99.9 at 10,000 msg/s (no coordinated omission)',
  async run(): Promise<Row[]> {
    // Servers started here (`fresh`), so that their process, and its CPU time, is known.
    const results = await measureEachSubject(LATENCY_SUBJECTS, measureLatency, { fresh: true });
    const pick = (f: (l: SubjectLatency) => Figure | { readonly missing: string }) => measuredOf(results, f);
    const base = { scenario: 'latency', unit: 'µs', better: 'lower' as const };
    const count = RATE * MEASURED_SECONDS;
    return [
      ...comparedRows(
        { ...base, metric: 'p50' },
        pick((l) => l.p50),
      ),
      ...comparedRows(
        {
          ...base,
          metric: 'p99',
          goal: (sbmp, peers) => {
            const best = Math.min(...[...peers.values()].map((peer) => peer.median));
            return {
              text: '<= 1 ms and <= the best peer',
              met: peers.size > 0 && sbmp.median <= GOAL_P99_MICROS && sbmp.median <= best,
            };
          },
        },
        pick((l) => l.p99),
      ),
      ...comparedRows(
        { ...base, metric: 'p99.9' },
        pick((l) => l.p999),
      ),
      ...comparedRows(
        { ...base, metric: 'sent late p99 (the publishing thread held up)' },
        pick((l) => l.sentLateP99),
      ),
      ...comparedRows(
        { ...base, metric: 'not delivered (conflated or lost)', unit: '%', compare: false },
        pick((l) => summarize([(100 * l.missing) / count])),
      ),
      ...comparedRows(
        { ...base, metric: 'server CPU per message', unit: 'µs' },
        pick((l) =>
          l.serverCpuMicros === undefined
            ? { missing: 'server process not known' }
            : summarize([l.serverCpuMicros]),
        ),
      ),
      ...comparedRows(
        { ...base, metric: 'clients CPU per message (publisher and subscriber)', unit: 'µs' },
        pick((l) => summarize([l.clientCpuMicros])),
      ),
      ...comparedRows(
        {
          ...base,
          metric: `sent/s (schedule ${RATE.toLocaleString('en-US')}/s)`,
          unit: 'msg/s',
          better: 'higher',
          compare: false,
        },
        pick((l) => summarize([l.sentPerSecond])),
      ),
    ];
  },
};

export interface SubjectLatency extends LatencyFigures {
  /** Messages per second actually sent: below the schedule's rate when the sender was held up. */
  readonly sentPerSecond: number;
  /**
   * How late the publishing thread sent, p99 per second, µs (see `PacedOutcome.sentLateMs`):
   * the part of the tail that is there before a message leaves the publisher.
   */
  readonly sentLateP99: Figure;
  /**
   * CPU time per message sent in the measured run: the server's process, and this process
   * (publisher and subscriber). Two cores are shared by all of them, so CPU time spent on each
   * message is what lets queues, and the tail, grow.
   */
  readonly serverCpuMicros: number | undefined;
  readonly clientCpuMicros: number;
}

function serverCpuMs(subject: Subject): Promise<number | undefined> {
  return subject.serverPid === undefined ? Promise.resolve(undefined) : processCpuMs(subject.serverPid);
}

/** One subject's latency figures at 10,000 messages/s (see `latencyScenario`). */
export async function measureLatency(subject: Subject): Promise<SubjectLatency> {
  const client = busClientFor(subject.endpoint);
  const tracker = new DeliveryTracker(KEYS);
  let subscriber: BusSubscriber | undefined;
  let publisher: PacedPublisher | undefined;
  try {
    subscriber = await client.subscriber(subject.endpoint, 'bench.latency', tracker.onMessage);
    publisher = await PacedPublisher.start(subject.endpoint, 'bench.latency', WINDOW);
    const warmup = nextRun++;
    tracker.begin(warmup);
    const warm = await publisher.run(
      { run: warmup, count: (RATE * WARMUP_MS) / 1000, maxMs: WARMUP_MS * 2, keys: KEYS, rate: RATE },
      WARMUP_MS * 2 + DRAIN_MS,
    );
    await tracker.end(warm.outcome.published, DRAIN_MS);

    const count = RATE * MEASURED_SECONDS;
    const latencies = new Float64Array(count).fill(Number.NaN);
    const run = nextRun++;
    tracker.begin(run, latencies);
    const serverCpuBefore = await serverCpuMs(subject);
    const clientCpuBefore = process.cpuUsage();
    // Generous time bound: a subject that cannot keep the rate still ends the run.
    const maxMs = MEASURED_SECONDS * 2000;
    const { outcome, stats } = await publisher.run(
      { run, count, maxMs, keys: KEYS, rate: RATE },
      maxMs + DRAIN_MS,
    );
    await tracker.end(outcome.published, DRAIN_MS);
    const clientCpu = process.cpuUsage(clientCpuBefore);
    const serverCpuAfter = await serverCpuMs(subject);
    warnIfRefused(subject, stats);
    const sentPerSecond = (outcome.published * 1000) / (outcome.sentAt - outcome.startedAt);
    return {
      ...latencyFigures(latencies, count, MEASURED_SECONDS),
      sentPerSecond,
      sentLateP99: latencyFigures(outcome.sentLateMs, count, MEASURED_SECONDS).p99,
      serverCpuMicros:
        serverCpuBefore === undefined || serverCpuAfter === undefined
          ? undefined
          : ((serverCpuAfter - serverCpuBefore) * 1000) / outcome.published,
      clientCpuMicros: (clientCpu.user + clientCpu.system) / outcome.published,
    };
  } finally {
    await publisher?.close().catch(() => {});
    await subscriber?.close().catch(() => {});
  }
}
