import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { summarize } from '../lib/measure.js';
import type { Row } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';
import { nextWorkerMessage, startTsWorker } from '../lib/worker.js';
import type { Backlog } from './backlog.js';
import { serverBacklog } from './backlog.js';
import { NETWORK_SUBJECTS } from './delivery-scenario.js';
import { publishRun, warnIfRefused } from './drive.js';
import { busClientFor } from './endpoint.js';
import type { MetricSpec } from './rows.js';
import { comparedRows, measuredOf } from './rows.js';
import type { FromWorker, SlowWorkerData, ToWorker } from './slow-view.js';
import { SlowView } from './slow-view.js';
import type { Subject } from './subjects.js';
import { measureEachSubject, serverResidentBytes } from './subjects.js';

const KEYS = 10_000;
const RATE = 20_000;
const SECONDS = 3;
/** 1% of the publish rate: 200 messages/s, 5 ms each. */
const SLOW_SHARE = 0.01;
const WINDOW = 1024;
const CATCH_UP_TIMEOUT_MS = 8000;
const WORKER_TIMEOUT_MS = 10_000;
const TOPIC = 'bench.slow';
const MIB = 1024 * 1024;

interface SlowFigures {
  readonly memoryGrowth: number | undefined;
  /** Node servers (SBMP, ws relay): heap and external memory after a full GC, growth. */
  readonly heapGrowth: number | undefined;
  readonly backlog: Backlog;
  readonly maxVersionGap: number;
  readonly readToCatchUp: number | undefined;
  readonly catchUpMs: number | undefined;
  readonly cutOff: boolean;
}

let nextRun = 2_000_000;

/**
 * A subscriber that reads at 1% of the publish rate (20,000 messages/s over 10,000 hot keys
 * for 3 s): what it costs the server (resident memory growth of the server process, and the
 * backlog the server itself reports for it) and how stale it is (the largest version gap
 * between the newest version of a key and the one it holds when publishing stops; then, read
 * at full speed, how many messages and how long until it holds the newest version of every
 * key). Every server runs in its own process, started for the scenario, so its memory is
 * attributable; the subscriber runs in a worker thread that blocks 5 ms per message.
 */
export const slowConsumerScenario: Scenario = {
  name: 'slow-consumer',
  description: 'a subscriber reading at 1% of the publish rate: server memory and staleness',
  async run(): Promise<Row[]> {
    const results = await measureEachSubject(NETWORK_SUBJECTS, measureSlowConsumer, {
      fresh: true,
      monitor: true,
    });
    const rows = (
      spec: Omit<MetricSpec, 'scenario'>,
      value: (f: SlowFigures) => number | { readonly missing: string } | undefined,
    ): Row[] =>
      comparedRows(
        { ...spec, scenario: 'slow-consumer' },
        measuredOf(results, (f) => {
          // A figure a server does not have (a heap for a native server) is left out, not skipped.
          const v = value(f);
          return v === undefined || typeof v === 'object' ? v : summarize([v]);
        }),
      );
    const caughtUp = (v: number | undefined) =>
      v ?? { missing: `did not hold every key's newest version within ${CATCH_UP_TIMEOUT_MS} ms` };
    return [
      ...rows({ metric: 'server RSS growth', unit: 'MiB', better: 'lower' }, (f) =>
        f.memoryGrowth === undefined ? undefined : f.memoryGrowth / MIB,
      ),
      ...rows({ metric: 'server heap+external growth after GC', unit: 'MiB', better: 'lower' }, (f) =>
        f.heapGrowth === undefined ? undefined : f.heapGrowth / MIB,
      ),
      ...rows({ metric: 'backlog the server reports', unit: 'KiB', better: 'lower' }, (f) =>
        f.backlog.bytes === undefined ? undefined : f.backlog.bytes / 1024,
      ),
      ...rows(
        { metric: 'keys pending (conflating)', unit: 'keys', better: 'lower', compare: false },
        (f) => f.backlog.pendingKeys,
      ),
      ...rows(
        { metric: 'snapshots conflated by server', unit: 'msgs', better: 'higher', compare: false },
        (f) => f.backlog.conflated,
      ),
      ...rows(
        { metric: 'max version gap when publishing stops', unit: 'versions', better: 'lower' },
        (f) => f.maxVersionGap,
      ),
      ...rows({ metric: 'messages read to catch up', unit: 'msgs', better: 'lower' }, (f) =>
        caughtUp(f.readToCatchUp),
      ),
      ...rows({ metric: 'time to catch up', unit: 'ms', better: 'lower' }, (f) => caughtUp(f.catchUpMs)),
      ...rows(
        { metric: 'subscriber cut off by server', unit: '1=yes', better: 'lower', compare: false },
        (f) => (f.cutOff ? 1 : 0),
      ),
    ];
  },
};

async function measureSlowConsumer(subject: Subject): Promise<SlowFigures> {
  // The warm-up run comes first, so its versions are below the measured run's.
  const warmup = nextRun++;
  const run = nextRun++;
  const view = new SlowView(KEYS);
  const data: SlowWorkerData = {
    endpoint: subject.endpoint,
    topic: TOPIC,
    keys: KEYS,
    run,
    sleepMs: 1000 / (RATE * SLOW_SHARE),
    shared: view.shared,
  };
  const publisher = await busClientFor(subject.endpoint).publisher(subject.endpoint, TOPIC, WINDOW);
  let worker: Worker | undefined;
  let exited: Promise<unknown> | undefined;
  try {
    // One round over every key before the subscriber arrives, so that SBMP's store already
    // holds all 10,000 keys and its later growth is the subscriber's, not the store's; the
    // peers get the same warm-up (their servers drop messages nobody subscribed to).
    await publishRun(publisher, { run: warmup, count: KEYS, maxMs: 10_000, keys: KEYS });
    worker = startTsWorker(new URL('./slow-subscriber-worker.ts', import.meta.url), data);
    exited = once(worker, 'exit');
    const ready = await nextWorkerMessage<FromWorker>(worker, WORKER_TIMEOUT_MS, 'the slow subscriber');
    if (ready.type !== 'ready') {
      throw new Error(ready.type === 'failed' ? ready.error : `worker said ${ready.type}`);
    }
    const before = await serverResidentBytes(subject);
    const heapBefore = await subject.serverMemory();
    const outcome = await publishRun(publisher, {
      run,
      count: RATE * SECONDS,
      maxMs: SECONDS * 1500,
      keys: KEYS,
      rate: RATE,
    });
    warnIfRefused(subject, publisher.stats);
    const after = await serverResidentBytes(subject);
    const heapAfter = await subject.serverMemory();
    const backlog = await serverBacklog(subject);
    const maxVersionGap = maxVersionGapOf(view, outcome.published);
    const deliveredWhenStopped = view.delivered;
    const cutOff = view.lost;

    const catchUpStart = performance.now();
    view.goFast();
    worker.postMessage({
      type: 'published',
      count: outcome.published,
      timeoutMs: CATCH_UP_TIMEOUT_MS,
    } satisfies ToWorker);
    const caughtUp = await nextWorkerMessage<FromWorker>(
      worker,
      CATCH_UP_TIMEOUT_MS + 2000,
      'the slow subscriber',
    );
    const complete = caughtUp.type === 'caught-up' && caughtUp.complete;
    return {
      memoryGrowth: before === undefined || after === undefined ? undefined : after - before,
      heapGrowth:
        heapBefore === undefined || heapAfter === undefined
          ? undefined
          : heapAfter.heapUsed + heapAfter.external - (heapBefore.heapUsed + heapBefore.external),
      backlog,
      maxVersionGap,
      readToCatchUp: complete ? view.delivered - deliveredWhenStopped : undefined,
      catchUpMs: complete ? performance.now() - catchUpStart : undefined,
      cutOff: cutOff || view.lost,
    };
  } finally {
    view.goFast();
    await publisher.close().catch(() => {});
    if (worker !== undefined) {
      worker.postMessage({ type: 'close' } satisfies ToWorker);
      const timer = setTimeout(() => void worker?.terminate(), 3000);
      await exited;
      clearTimeout(timer);
    }
  }
}

/**
 * Versions are rounds over the key slots: sequence number i is version floor(i / KEYS) + 1 of
 * slot i % KEYS. A slot never seen counts as holding version 0.
 */
function maxVersionGapOf(view: SlowView, published: number): number {
  let maxGap = 0;
  for (let slot = 0; slot < Math.min(KEYS, published); slot++) {
    const latest = Math.floor((published - 1 - slot) / KEYS) + 1;
    const seenSeq = view.lastSeq[slot]!;
    const held = seenSeq < 0 ? 0 : Math.floor(seenSeq / KEYS) + 1;
    maxGap = Math.max(maxGap, latest - held);
  }
  return maxGap;
}
