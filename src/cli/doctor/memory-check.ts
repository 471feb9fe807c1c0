import {
  type MemoryLimit,
  MIN_MEMORY_LIMIT_BYTES,
  resolveMemoryLimit,
} from '../../server/guards/memory-limit.js';
import { DEFAULT_WATERMARK_THRESHOLDS } from '../../server/guards/memory-watermark.js';
import {
  type CheckGroup,
  type CheckResult,
  fail,
  formatBytes,
  messageOf,
  pass,
  skip,
  skipWithoutSettings,
} from './check.js';
import { memoryLimitText } from './config-check.js';
import type { LiveFigures } from './live-server.js';

const SOURCES: Readonly<Record<string, string>> = {
  explicit: 'explicit: --memory-limit, SBMP_MEMORY_LIMIT or memoryLimit',
  'cgroup-v2': 'cgroup v2: memory.max',
  'cgroup-v1': 'cgroup v1: memory.limit_in_bytes',
  'v8-heap': 'V8 heap limit: no cgroup limit and no --memory-limit',
};

/**
 * Is the memory limit known and usable? `memory-limit`: the limit is resolved as the server
 * resolves it (explicit, else cgroup, else V8's heap limit) and its source reported; it fails
 * when the explicit limit cannot be parsed or is below the 32 MiB minimum, or when the memory
 * this process already uses reaches the watermark's shedding point (85% of the limit unless
 * configured), where the server refuses to start. `server-memory` (with `--url`): the live
 * server's own limit, usage and watermark state.
 */
export const memoryChecks: CheckGroup = {
  name: 'memory-limit',
  timeoutMs: 5000,
  async run(ctx) {
    const text = memoryLimitText(ctx.input);
    const results =
      text === undefined && ctx.settings === undefined
        ? [skipWithoutSettings('memory-limit')]
        : [
            checkMemoryLimit(
              text ?? ctx.settings?.memoryLimitBytes,
              process.memoryUsage.rss(),
              ctx.settings?.memoryWatermark?.shedAt,
            ),
          ];
    if (ctx.live !== undefined) {
      const figures = ctx.live.figures;
      results.push(
        figures === undefined
          ? skip('server-memory', 'not checked: the server did not answer (see server-health)')
          : figures.ok
            ? checkServerMemory(figures.value)
            : skip('server-memory', 'not checked: the server reported no figures (see server-store)'),
      );
    }
    return results;
  },
};

/** The verdict on a limit (`undefined`: none set) against the resident memory in use now. */
export function checkMemoryLimit(
  limit: string | number | undefined,
  rssBytes: number,
  shedAt: number = DEFAULT_WATERMARK_THRESHOLDS.shedAt,
): CheckResult {
  let resolved: MemoryLimit;
  try {
    resolved = resolveMemoryLimit(limit === undefined ? {} : { limitBytes: limit });
  } catch (error) {
    return fail(
      'memory-limit',
      `the memory limit '${String(limit)}' cannot be used: ${messageOf(error)}`,
      'give the memory limit as a size such as 512MB or 1GiB',
    );
  }
  const limitText = `${formatBytes(resolved.bytes)} (${SOURCES[resolved.source] ?? resolved.source})`;
  const share = `${Math.round((rssBytes / resolved.bytes) * 100)}%`;
  const shedPercent = `${Math.round(shedAt * 100)}%`;
  if (resolved.source === 'explicit' && resolved.bytes < MIN_MEMORY_LIMIT_BYTES) {
    return fail(
      'memory-limit',
      `the memory limit ${limitText} is below the minimum of ${formatBytes(MIN_MEMORY_LIMIT_BYTES)}, and below the ${formatBytes(rssBytes)} this process already uses`,
      `give at least ${formatBytes(MIN_MEMORY_LIMIT_BYTES)} (e.g. 256MB), or leave it out to use the cgroup or heap limit`,
    );
  }
  if (resolved.source === 'explicit' && resolved.bytes < rssBytes) {
    return fail(
      'memory-limit',
      `the memory limit ${limitText} is below the ${formatBytes(rssBytes)} this process already uses`,
      `raise the memory limit well above ${formatBytes(rssBytes / shedAt)} (the server sheds load from ${shedPercent} of it)`,
    );
  }
  if (rssBytes >= resolved.bytes * shedAt) {
    return fail(
      'memory-limit',
      `this process already uses ${formatBytes(rssBytes)}, ${share} of the limit ${limitText}: from ${shedPercent} the server sheds load, so it would refuse to start`,
      resolved.source === 'explicit'
        ? `raise the memory limit well above ${formatBytes(rssBytes / shedAt)}`
        : 'give the process more memory (the cgroup limit, or node --max-old-space-size), or set --memory-limit',
    );
  }
  return pass('memory-limit', `limit ${limitText}; this process uses ${formatBytes(rssBytes)} (${share})`);
}

/** The live server's watermark: its limit and source, and a state other than `normal` fails. */
export function checkServerMemory(figures: LiveFigures): CheckResult {
  const guard = figures.memoryGuard;
  if (guard?.limitBytes === undefined) {
    return skip(
      'server-memory',
      `not checked: the server reports no memory watermark (from ${figures.source})`,
    );
  }
  const source =
    guard.limitSource === undefined ? '' : ` (${SOURCES[guard.limitSource] ?? guard.limitSource})`;
  const usage =
    guard.usageBytes === undefined
      ? ''
      : `; uses ${formatBytes(guard.usageBytes)}${guard.ratio === undefined ? '' : ` (${Math.round(guard.ratio * 100)}%)`}`;
  const summary = `limit ${formatBytes(guard.limitBytes)}${source}${usage}; watermark ${guard.state ?? 'unknown'}`;
  if (guard.state !== undefined && guard.state !== 'normal') {
    return fail(
      'server-memory',
      `the server is ${guard.state === 'critical' ? 'refusing publishes' : 'refusing new connections and subscriptions'}: ${summary}`,
      'give the server more memory (raise --memory-limit or the cgroup limit), reduce its load (fewer or slower subscribers, smaller states), or run more servers',
    );
  }
  return pass('server-memory', `${summary} (from ${figures.source})`);
}
