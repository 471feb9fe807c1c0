import { Channel } from '../../src/index.js';
import type { Figure } from '../lib/measure.js';
import { measureSyncRate, summarize } from '../lib/measure.js';
import type { Row } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';

/** Values per batch on the sync path, and the buffered channel's capacity on the async path. */
const BATCH = 256;
/** Values one async run moves from producer to consumer. */
const ASYNC_ITEMS_PER_RUN = 200_000;
const ASYNC_RUNS = 5;
const GOAL_RATIO = 0.5;

/** Untimed warm-up, ms: the async paths take several runs before the JIT has settled. */
const ASYNC_WARMUP_MS = 600;

type MoveItems = (n: number) => Promise<void>;

/**
 * Items per second of each `moveItems(n)` (moves `n` items, resolves when the last one has
 * arrived). Runs alternate between the subjects, so that load on the machine during the
 * measurement affects them alike: untimed warm-up rounds, then `ASYNC_RUNS` timed ones.
 */
async function measureAsyncItems(subjects: readonly MoveItems[]): Promise<Figure[]> {
  const warmupEnd = performance.now() + ASYNC_WARMUP_MS;
  while (performance.now() < warmupEnd) for (const move of subjects) await move(ASYNC_ITEMS_PER_RUN);
  const samples: number[][] = subjects.map(() => []);
  for (let r = 0; r < ASYNC_RUNS; r++) {
    for (let s = 0; s < subjects.length; s++) {
      const start = performance.now();
      await subjects[s]!(ASYNC_ITEMS_PER_RUN);
      samples[s]!.push((ASYNC_ITEMS_PER_RUN * 1000) / (performance.now() - start));
    }
  }
  return samples.map(summarize);
}

/** A producer loop awaiting every `send` and a consumer loop awaiting every `recv`, concurrently. */
async function channelPingPong(n: number): Promise<void> {
  const channel = new Channel<number>(BATCH);
  let sum = 0;
  const producer = async () => {
    for (let i = 0; i < n; i++) await channel.send(i);
  };
  const consumer = async () => {
    for (let i = 0; i < n; i++) {
      const received = await channel.recv();
      sum += received.value ?? 0;
    }
  };
  await Promise.all([producer(), consumer()]);
  if (sum !== (n * (n - 1)) / 2) throw new Error(`channel lost values: sum ${sum}`);
}

/** A batch rate turned into an item rate. */
function perItem(batches: Figure): Figure {
  return { ...batches, median: batches.median * BATCH, min: batches.min * BATCH, max: batches.max * BATCH };
}

const READY: Promise<void> = Promise.resolve();

/** The least an async hand-over can cost: push, one await, shift, per item. */
async function arrayAwaitLoop(n: number): Promise<void> {
  const queue: number[] = [];
  let sum = 0;
  for (let i = 0; i < n; i++) {
    queue.push(i);
    await READY;
    sum += queue.shift()!;
  }
  if (sum !== (n * (n - 1)) / 2) throw new Error(`array lost values: sum ${sum}`);
}

/**
 * The same two awaiting loops as the channel's, handing over through a plain array: the
 * most two loops can do when each awaits once per item, so the ceiling for the channel.
 */
async function arrayTwoLoops(n: number): Promise<void> {
  const queue: number[] = [];
  let sum = 0;
  const producer = async () => {
    for (let i = 0; i < n; i++) {
      queue.push(i);
      await READY;
    }
  };
  const consumer = async () => {
    for (let i = 0; i < n; i++) {
      await READY;
      sum += queue.shift()!;
    }
  };
  await Promise.all([producer(), consumer()]);
  if (sum !== (n * (n - 1)) / 2) throw new Error(`array lost values: sum ${sum}`);
}

function ratioGoal(subject: Figure, baseline: Figure, against: string): { text: string; met: boolean } {
  return {
    text: `>= ${GOAL_RATIO}x ${against}`,
    met: subject.median >= GOAL_RATIO * baseline.median,
  };
}

/**
 * Channel hand-over (one send and one receive per value) against a plain array queue:
 * synchronously in batches of 256 (trySend x256 then tryRecv x256, against push x256 then
 * shift x256), and asynchronously (a producer awaiting `send` and a consumer awaiting `recv`
 * over a channel buffering 256, against one loop that awaits once per pushed and shifted item).
 * The channel's two loops await twice per item where that loop awaits once, so half its rate
 * is the goal; a third row shows what two array loops awaiting once each reach, the ceiling.
 */
export const channelScenario: Scenario = {
  name: 'channel',
  description: 'Channel trySend/tryRecv and await send/recv vs plain array push/shift',
  async run(): Promise<Row[]> {
    let sink = 0;
    const channel = new Channel<number>(BATCH);
    const syncChannel = perItem(
      measureSyncRate(
        (i) => {
          for (let k = 0; k < BATCH; k++) channel.trySend(i + k);
          for (let k = 0; k < BATCH; k++) sink += channel.tryRecv()!.value ?? 0;
        },
        { batch: 64 },
      ),
    );
    const queue: number[] = [];
    const syncArray = perItem(
      measureSyncRate(
        (i) => {
          for (let k = 0; k < BATCH; k++) queue.push(i + k);
          for (let k = 0; k < BATCH; k++) sink += queue.shift()!;
        },
        { batch: 64 },
      ),
    );
    if (sink === 0) throw new Error('nothing moved');

    const [asyncChannel, asyncArray, asyncTwoLoops] = (await measureAsyncItems([
      channelPingPong,
      arrayAwaitLoop,
      arrayTwoLoops,
    ])) as [Figure, Figure, Figure];

    const row = (subject: string, metric: string, figure: Figure): Row => ({
      scenario: 'channel',
      subject,
      metric,
      unit: 'items/s',
      figure,
      better: 'higher',
    });
    return [
      {
        ...row('sbmp Channel trySend+tryRecv', 'sync items/s', syncChannel),
        baseline: 'array push+shift',
        goal: ratioGoal(syncChannel, syncArray, 'array'),
      },
      row('array push+shift', 'sync items/s', syncArray),
      {
        ...row('sbmp Channel await send+recv', 'async items/s', asyncChannel),
        baseline: 'array push+await+shift',
        goal: ratioGoal(asyncChannel, asyncArray, 'array'),
      },
      row('array push+await+shift', 'async items/s', asyncArray),
      {
        ...row('array producer+consumer, await each', 'async items/s', asyncTwoLoops),
        baseline: 'array push+await+shift',
      },
    ];
  },
};
