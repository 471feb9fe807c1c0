import { performance } from 'node:perf_hooks';
import { type CheckGroup, type CheckResult, fail, pass, skip } from './check.js';
import type { ProbeResponse } from './http-probe.js';

/** Earliest plausible wall-clock time: 2024-01-01, before this software existed. */
export const CLOCK_FLOOR_MS = Date.UTC(2024, 0, 1);
/** Latest plausible wall-clock time: 2100-01-01. */
export const CLOCK_CEILING_MS = Date.UTC(2100, 0, 1);
/** Interval over which wall and monotonic clocks are compared: 100 ms. */
export const CLOCK_SAMPLE_MS = 100;
/** Largest accepted difference between wall and monotonic time over that interval: 250 ms. */
export const CLOCK_MAX_DRIFT_MS = 250;
/** Largest accepted offset between this machine's clock and the live server's: 2 s. */
export const CLOCK_MAX_SKEW_MS = 2000;

const TIME_FIX = 'set the clock and keep it synchronised (NTP: timedatectl set-ntp true, or chrony)';

/**
 * Is the clock sane? Versions from clocks (hybrid logical clocks), snapshot timestamps,
 * tombstone retention and certificate checks all trust it. `clock`: this machine's time is
 * plausible and does not jump against the monotonic clock; `server-clock` (with `--url`): the
 * live server's `Date` header agrees with it.
 */
export const clockChecks: CheckGroup = {
  name: 'clock',
  timeoutMs: 10_000,
  async run(ctx) {
    const results = [await checkLocalClock(CLOCK_SAMPLE_MS)];
    if (ctx.live !== undefined) {
      results.push(
        ctx.live.healthz.ok
          ? checkServerClock(ctx.live.healthz.value)
          : skip('server-clock', 'not checked: the server did not answer (see server-health)'),
      );
    }
    return results;
  },
};

/** Wall time within 2024..2100, and moving with the monotonic clock over `sampleMs`. */
export async function checkLocalClock(sampleMs: number, now: () => number = Date.now): Promise<CheckResult> {
  const wallStart = now();
  const monoStart = performance.now();
  if (wallStart < CLOCK_FLOOR_MS || wallStart >= CLOCK_CEILING_MS) {
    return fail(
      'clock',
      `this machine's clock reads ${new Date(wallStart).toISOString()}, which cannot be right`,
      TIME_FIX,
    );
  }
  await new Promise((resolve) => setTimeout(resolve, sampleMs));
  const wall = now() - wallStart;
  const mono = performance.now() - monoStart;
  if (Math.abs(wall - mono) > CLOCK_MAX_DRIFT_MS) {
    return fail(
      'clock',
      `the wall clock moved ${Math.round(wall)} ms while ${Math.round(mono)} ms passed: it was stepped`,
      `${TIME_FIX}; let NTP slew the clock instead of stepping it`,
    );
  }
  return pass(
    'clock',
    `${new Date(wallStart).toISOString()}; moves with the monotonic clock (${Math.round(wall - mono)} ms over ${Math.round(mono)} ms)`,
  );
}

/**
 * The offset of the server's clock from ours, from its `Date` header. The header has whole
 * seconds, so the server's time lies in [Date, Date + 1 s): its middle is compared with the
 * middle of the request, and half the round trip is allowed on top of the 2 s limit.
 */
export function checkServerClock(
  response: Pick<ProbeResponse, 'headers' | 'sentAt' | 'receivedAt'>,
): CheckResult {
  const header = response.headers.date;
  const serverMs = header === undefined ? Number.NaN : Date.parse(header);
  if (!Number.isFinite(serverMs)) {
    return skip('server-clock', 'not checked: the server sent no Date header');
  }
  const localMs = (response.sentAt + response.receivedAt) / 2;
  const skew = serverMs + 500 - localMs;
  const slack = (response.receivedAt - response.sentAt) / 2;
  const offset = `${(Math.abs(skew) / 1000).toFixed(1)} s ${skew > 0 ? 'ahead of' : 'behind'} this machine's`;
  if (Math.abs(skew) > CLOCK_MAX_SKEW_MS + slack) {
    return fail(
      'server-clock',
      `the server's clock is ${offset} (Date: ${header}; limit ${CLOCK_MAX_SKEW_MS / 1000} s)`,
      `${TIME_FIX} on both machines`,
    );
  }
  return pass('server-clock', `the server's clock is ${offset}, within ${CLOCK_MAX_SKEW_MS / 1000} s`);
}
