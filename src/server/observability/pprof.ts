import type { IncomingMessage, ServerResponse } from 'node:http';
import { Session } from 'node:inspector/promises';
import { pipeline } from 'node:stream/promises';
import { getHeapSnapshot } from 'node:v8';
import { SbmpError } from '../../core/errors.js';
import type { ServerContext } from '../context.js';
import { sendJsonText } from '../http/respond.js';
import { checkProfilingAccess } from './debug-access.js';

/** Path prefix of the profiling endpoints. */
export const PPROF_PATH = '/debug/pprof';
/** `seconds` of a profile when the query gives none: 10. */
export const DEFAULT_PROFILE_SECONDS = 10;
/** Longest profile: 60 s (a request held open longer would outlast most proxies and clients). */
export const MAX_PROFILE_SECONDS = 60;
/** Bytes allocated between two samples of the sampling heap profiler: 32 KiB (V8's default). */
const HEAP_SAMPLING_INTERVAL_BYTES = 32 * 1024;

/**
 * The V8 profilers belong to the process, not to one server: two profiles at once would each
 * see the other's overhead. So one profiling request at a time per process, whichever server
 * it came to; `until` is when the running one ends (for `Retry-After`).
 */
let running: { until: number } | undefined;

/**
 * `GET /debug/pprof/profile?seconds=N` and `GET /debug/pprof/heap[?seconds=N | ?snapshot=1]`,
 * for administrators (see `checkProfilingAccess`):
 * - `profile`: a CPU profile of the next N seconds (1..60, default 10) as `.cpuprofile` JSON
 *   (`nodes`, `startTime`, `endTime`, `samples`, `timeDeltas`), which Chrome DevTools and VS
 *   Code open;
 * - `heap`: a sampling heap profile of the next N seconds as `.heapprofile` JSON (`head`,
 *   `samples`): where the memory still alive at the end was allocated;
 * - `heap?snapshot=1`: a full `.heapsnapshot` now, streamed; refused with `too_large` above
 *   `debug.maxHeapSnapshotBytes`. It blocks the event loop while it is taken.
 *
 * One at a time per process: another request meanwhile gets 429 `limit_exceeded` with
 * `Retry-After`. A client that goes away stops its profile early.
 */
export async function servePprof(
  ctx: ServerContext,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: URLSearchParams,
): Promise<void> {
  const what = path.slice(PPROF_PATH.length + 1);
  if (what !== 'profile' && what !== 'heap') {
    throw new SbmpError(
      'not_found',
      `no profile at ${path}; use ${PPROF_PATH}/profile or ${PPROF_PATH}/heap`,
      {
        details: { path },
      },
    );
  }
  checkProfilingAccess(ctx.debug, req, path);
  const snapshot = what === 'heap' && parseSnapshotFlag(query);
  if (snapshot && query.has('seconds')) {
    throw new SbmpError('bad_request', 'a heap snapshot is taken at once: give either snapshot=1 or seconds');
  }
  const seconds = snapshot ? 0 : parseSeconds(query);
  if (snapshot) {
    const heapUsed = process.memoryUsage().heapUsed;
    const limit = ctx.debug.maxHeapSnapshotBytes;
    if (heapUsed > limit) {
      throw new SbmpError(
        'too_large',
        `the heap holds ${heapUsed} bytes, more than the ${limit}-byte limit for a snapshot (debug.maxHeapSnapshotBytes); use a sampling profile instead`,
        { details: { heapUsedBytes: heapUsed, limit } },
      );
    }
  }
  const release = acquire(seconds * 1000);
  try {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const name = `sbmp-${ctx.serverId.replace(/[^A-Za-z0-9._-]/g, '_')}-${stamp}`;
    if (what === 'profile') await sendCpuProfile(res, seconds, `${name}.cpuprofile`);
    else if (snapshot) await sendHeapSnapshot(res, `${name}.heapsnapshot`);
    else await sendHeapProfile(res, seconds, `${name}.heapprofile`);
  } finally {
    release();
  }
}

/** `seconds` from the query: an integer 1..60, default 10; anything else is `bad_request`. */
export function parseSeconds(query: URLSearchParams): number {
  const text = query.get('seconds');
  if (text === null) return DEFAULT_PROFILE_SECONDS;
  const seconds = /^[0-9]{1,3}$/.test(text) ? Number(text) : Number.NaN;
  if (!(seconds >= 1 && seconds <= MAX_PROFILE_SECONDS)) {
    throw new SbmpError(
      'bad_request',
      `seconds must be an integer from 1 to ${MAX_PROFILE_SECONDS}, got '${text.slice(0, 40)}'`,
      { details: { min: 1, max: MAX_PROFILE_SECONDS } },
    );
  }
  return seconds;
}

function parseSnapshotFlag(query: URLSearchParams): boolean {
  const text = query.get('snapshot');
  if (text === null || text === '0' || text === 'false') return false;
  if (text === '1' || text === 'true') return true;
  throw new SbmpError('bad_request', `snapshot must be 1 or 0, got '${text.slice(0, 40)}'`);
}

function acquire(durationMs: number): () => void {
  if (running !== undefined) {
    const retryAfterMs = Math.max(1000, running.until - Date.now());
    throw new SbmpError('limit_exceeded', 'another profile is being taken in this process; one at a time', {
      details: { retryAfterMs },
    });
  }
  const lease = { until: Date.now() + durationMs };
  running = lease;
  return () => {
    if (running === lease) running = undefined;
  };
}

/** Resolves true after `ms`, or false as soon as the client goes away. */
function profileWindow(res: ServerResponse, ms: number): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const gone = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      res.off('close', gone);
      resolve(true);
    }, ms);
    res.once('close', gone);
  });
}

function download(res: ServerResponse, text: string, filename: string): void {
  sendJsonText(res, 200, text, { 'Content-Disposition': `attachment; filename="${filename}"` });
}

async function sendCpuProfile(res: ServerResponse, seconds: number, filename: string): Promise<void> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    const complete = await profileWindow(res, seconds * 1000);
    const { profile } = await session.post('Profiler.stop');
    await session.post('Profiler.disable');
    if (complete) download(res, JSON.stringify(profile), filename);
  } finally {
    session.disconnect();
  }
}

async function sendHeapProfile(res: ServerResponse, seconds: number, filename: string): Promise<void> {
  const session = new Session();
  session.connect();
  try {
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', { samplingInterval: HEAP_SAMPLING_INTERVAL_BYTES });
    const complete = await profileWindow(res, seconds * 1000);
    const { profile } = await session.post('HeapProfiler.stopSampling');
    await session.post('HeapProfiler.disable');
    if (complete) download(res, JSON.stringify(profile), filename);
  } finally {
    session.disconnect();
  }
}

/** Streams the snapshot (it can be larger than the longest string V8 makes, so never as one string). */
async function sendHeapSnapshot(res: ServerResponse, filename: string): Promise<void> {
  const stream = getHeapSnapshot();
  res.writeHead(200, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Disposition': `attachment; filename="${filename}"`,
    'Cache-Control': 'no-store',
  });
  try {
    await pipeline(stream, res);
  } catch {
    // The client went away mid-download: nothing to answer, the stream is already closed.
    stream.destroy();
  }
}
