import type { Figure } from './measure.js';
import { summarize } from './measure.js';

export interface WindowRateOptions {
  /** Operations kept in flight: a new one starts as soon as one completes. */
  readonly window: number;
  /** How long one run lasts, ms. */
  readonly runMs?: number;
  /** How many runs make the figure. */
  readonly runs?: number;
  /** Untimed warm-up, ms. */
  readonly warmupMs?: number;
}

/**
 * Completions per second of an async `op` kept `window` at a time (a sliding window, as a
 * pipelining client keeps it, unlike `measureAsyncRate`, which awaits whole batches). `op`
 * gets a rising index, so it can choose keys and versions. A failed op fails the measurement.
 */
export async function measureWindowRate(
  op: (i: number) => Promise<unknown>,
  options: WindowRateOptions,
): Promise<Figure> {
  let next = 0;
  const runFor = (ms: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const start = performance.now();
      const deadline = start + ms;
      let completed = 0;
      let inFlight = 0;
      let stopping = false;
      let failed = false;
      const launch = (): void => {
        inFlight++;
        op(next++).then(onDone, onError);
      };
      const onDone = (): void => {
        inFlight--;
        completed++;
        if (failed) return;
        if (!stopping && (completed & 63) === 0 && performance.now() >= deadline) stopping = true;
        if (!stopping) launch();
        else if (inFlight === 0) resolve((completed * 1000) / (performance.now() - start));
      };
      const onError = (err: unknown): void => {
        if (failed) return;
        failed = true;
        reject(err);
      };
      for (let k = 0; k < options.window; k++) launch();
    });
  await runFor(options.warmupMs ?? 200);
  const samples: number[] = [];
  for (let r = 0; r < (options.runs ?? 3); r++) samples.push(await runFor(options.runMs ?? 1000));
  return summarize(samples);
}
