/**
 * Measurement helpers. Every figure is the median of several runs with min and max, and
 * every ratio compares subjects measured in the same process, one after another, so that
 * machine load affects them alike.
 */

export interface Figure {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: number;
}

export function summarize(samples: readonly number[]): Figure {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)!, runs: sorted.length };
}

export interface RateOptions {
  /** Operations per timed batch; the clock is read once per batch. */
  readonly batch?: number;
  /** How long one run lasts, ms. */
  readonly runMs?: number;
  /** How many runs make the figure. */
  readonly runs?: number;
  /** Untimed warm-up, ms, so the JIT has settled before the first run. */
  readonly warmupMs?: number;
}

/**
 * Operations per second of a synchronous `op`, called `batch` times per clock read.
 * `op` receives the iteration index so it can vary its input without allocating.
 */
export function measureSyncRate(op: (i: number) => void, options: RateOptions = {}): Figure {
  const batch = options.batch ?? 1000;
  const runMs = options.runMs ?? 300;
  const runs = options.runs ?? 5;
  let i = 0;
  const runFor = (ms: number): number => {
    const start = performance.now();
    const deadline = start + ms;
    let done = 0;
    let now = start;
    while (now < deadline) {
      for (let k = 0; k < batch; k++) op(i++);
      done += batch;
      now = performance.now();
    }
    return (done * 1000) / (now - start);
  };
  runFor(options.warmupMs ?? 200);
  const samples: number[] = [];
  for (let r = 0; r < runs; r++) samples.push(runFor(runMs));
  return summarize(samples);
}

/** Operations per second of an async `op` run `batch` at a time (each batch awaited). */
export async function measureAsyncRate(
  op: (i: number) => Promise<unknown>,
  options: RateOptions = {},
): Promise<Figure> {
  const batch = options.batch ?? 256;
  const runMs = options.runMs ?? 500;
  const runs = options.runs ?? 5;
  let i = 0;
  const runFor = async (ms: number): Promise<number> => {
    const start = performance.now();
    const deadline = start + ms;
    let done = 0;
    let now = start;
    const pending: Promise<unknown>[] = new Array(batch);
    while (now < deadline) {
      for (let k = 0; k < batch; k++) pending[k] = op(i++);
      await Promise.all(pending);
      done += batch;
      now = performance.now();
    }
    return (done * 1000) / (now - start);
  };
  await runFor(options.warmupMs ?? 200);
  const samples: number[] = [];
  for (let r = 0; r < runs; r++) samples.push(await runFor(runMs));
  return summarize(samples);
}

/** Percentile of an ascending-sorted array (nearest rank). */
export function percentile(sortedAscending: ArrayLike<number>, p: number): number {
  if (sortedAscending.length === 0) return Number.NaN;
  const rank = Math.min(
    sortedAscending.length - 1,
    Math.max(0, Math.ceil((p / 100) * sortedAscending.length) - 1),
  );
  return sortedAscending[rank]!;
}
