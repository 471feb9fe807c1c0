import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CheckGroup, type CheckResult, fail, pass, skip } from './check.js';

/** How long this process's event loop is watched: 200 ms. */
export const LAG_SAMPLE_MS = 200;
/** Event-loop lag p99 above this fails the check: 100 ms (a publish would wait that long before being read). */
export const LAG_P99_LIMIT_MS = 100;
/** Period of the timer whose lateness is the lag: 10 ms. */
const LAG_RESOLUTION_MS = 10;

/**
 * Event-loop lag. `loop-lag`: this process, idle, over 200 ms: lag here means the machine
 * cannot give a Node process its turn (CPU starved or throttled). `server-loop-lag` (with
 * `--url`): the live server's p99 over its last second, from `/debug/vars` or its health stream.
 */
export const loopLagChecks: CheckGroup = {
  name: 'loop-lag',
  timeoutMs: 10_000,
  async run(ctx) {
    const results = [await measureLoopLag(LAG_SAMPLE_MS)];
    const live = ctx.live;
    if (live !== undefined) {
      const figures = live.figures;
      if (figures?.ok !== true || figures.value.lagP99Ms === undefined) {
        const why = live.healthz.ok
          ? `the server reported no event-loop figures${figures?.ok === false ? ` (${figures.error})` : ''}`
          : 'the server did not answer (see server-health)';
        results.push(skip('server-loop-lag', `not checked: ${why}`));
      } else {
        results.push(judgeServerLag(figures.value.lagP99Ms, figures.value.source));
      }
    }
    return results;
  },
};

/**
 * Watches this process's event loop for `sampleMs` and judges the p99 lag: how late a 10 ms
 * timer fires, time after time. Node's delay histogram would miss a block that starts before its
 * own first firing, which a loaded machine makes likely over so short a window.
 */
export async function measureLoopLag(sampleMs: number): Promise<CheckResult> {
  const endsAt = performance.now() + sampleMs;
  const lags: number[] = [];
  let now: number;
  do {
    const dueAt = performance.now() + LAG_RESOLUTION_MS;
    await sleep(LAG_RESOLUTION_MS);
    now = performance.now();
    lags.push(Math.round(Math.max(0, now - dueAt) * 100) / 100);
  } while (now < endsAt);
  lags.sort((a, b) => a - b);
  const p99Ms = lags[Math.ceil(lags.length * 0.99) - 1] as number;
  const maxMs = lags[lags.length - 1] as number;
  const summary = `p99 ${p99Ms} ms, max ${maxMs} ms over ${sampleMs} ms`;
  if (p99Ms > LAG_P99_LIMIT_MS) {
    return fail(
      'loop-lag',
      `this process's event loop lags: ${summary} (limit ${LAG_P99_LIMIT_MS} ms)`,
      'the machine is short of CPU: check its load and the CPU limit (cgroup cpu.max), or move work elsewhere',
    );
  }
  return pass('loop-lag', `this process: ${summary}`);
}

function judgeServerLag(p99Ms: number, source: string): CheckResult {
  if (p99Ms > LAG_P99_LIMIT_MS) {
    return fail(
      'server-loop-lag',
      `the server's event loop lags: p99 ${p99Ms} ms over its last second (limit ${LAG_P99_LIMIT_MS} ms, from ${source})`,
      'the server is short of CPU or blocked by long tasks: reduce its load (publish rate, very large states), give it more CPU, or run more servers',
    );
  }
  return pass('server-loop-lag', `p99 ${p99Ms} ms over the server's last second (from ${source})`);
}
