import type { IncomingMessage } from 'node:http';
import { SbmpError } from '../../core/errors.js';

/** Options of the administrators' debug endpoints (`ServerOptions.debug`). */
export interface DebugOptions {
  /**
   * Serve `/debug/pprof/profile` and `/debug/pprof/heap`, to loopback clients only. Default
   * false: they answer 404. (Profiling slows the process and a heap snapshot holds every
   * state in memory, so it is opt-in and never reachable from the network.)
   */
  readonly pprof?: boolean;
  /**
   * Largest V8 heap, in bytes in use, a full heap snapshot (`/debug/pprof/heap?snapshot=1`) is
   * taken of; above it the request is refused with `too_large`. Default 256 MiB: taking a
   * snapshot needs about as much memory again and blocks the event loop meanwhile.
   */
  readonly maxHeapSnapshotBytes?: number;
  /**
   * Who may read `/debug/vars` (runtime, fan-out and per-connection figures): `'loopback'`
   * (default) answers clients on this host only, `'any'` every client, for a dashboard opened
   * from another machine on a trusted network.
   */
  readonly vars?: 'loopback' | 'any';
}

export interface ResolvedDebugOptions {
  readonly pprof: boolean;
  readonly maxHeapSnapshotBytes: number;
  readonly vars: 'loopback' | 'any';
}

export const DEFAULT_MAX_HEAP_SNAPSHOT_BYTES = 256 * 1024 * 1024;

/** Defaults filled in; `bad_config` naming the option for a wrong type or value. */
export function resolveDebugOptions(options: DebugOptions | undefined): ResolvedDebugOptions {
  if (options === undefined) {
    return { pprof: false, maxHeapSnapshotBytes: DEFAULT_MAX_HEAP_SNAPSHOT_BYTES, vars: 'loopback' };
  }
  if (options === null || typeof options !== 'object') {
    throw new SbmpError('bad_config', 'options.debug must be an object such as { pprof: true }');
  }
  const pprof = options.pprof ?? false;
  if (typeof pprof !== 'boolean') {
    throw new SbmpError('bad_config', `options.debug.pprof must be true or false, got ${String(pprof)}`);
  }
  const max = options.maxHeapSnapshotBytes ?? DEFAULT_MAX_HEAP_SNAPSHOT_BYTES;
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new SbmpError(
      'bad_config',
      `options.debug.maxHeapSnapshotBytes must be a positive integer, got ${String(max)}`,
    );
  }
  const vars = options.vars ?? 'loopback';
  if (vars !== 'loopback' && vars !== 'any') {
    throw new SbmpError('bad_config', `options.debug.vars must be 'loopback' or 'any', got ${String(vars)}`);
  }
  return { pprof, maxHeapSnapshotBytes: max, vars };
}

/** Lets a request through to `/debug/vars`, or throws `forbidden` (403) for a remote client. */
export function checkVarsAccess(debug: ResolvedDebugOptions, req: IncomingMessage): void {
  if (debug.vars === 'any') return;
  const remote = req.socket.remoteAddress;
  if (!isLoopbackAddress(remote)) {
    throw new SbmpError(
      'forbidden',
      '/debug/vars answers only clients on the loopback interface; start the server with debug: { vars: "any" } to open it',
      { details: { path: '/debug/vars', remote: remote ?? 'unknown' } },
    );
  }
}

/** True for 127.0.0.0/8 and ::1, also in their IPv4-mapped IPv6 form. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4)) return true;
  return address === '::1' || address === '0:0:0:0:0:0:0:1';
}

/**
 * Lets a request through to a profiling endpoint, or throws: `not_found` (404) when the
 * endpoints are disabled, `forbidden` (403) for a client that is not on the loopback interface.
 * There is no administrator identity yet, so being local is what makes an administrator. A
 * reverse proxy on the same host makes every client local: do not route `/debug/` through one.
 */
export function checkProfilingAccess(debug: ResolvedDebugOptions, req: IncomingMessage, path: string): void {
  if (!debug.pprof) {
    throw new SbmpError(
      'not_found',
      `${path} is disabled; start the server with debug: { pprof: true } to profile it from this host`,
      { details: { path } },
    );
  }
  const remote = req.socket.remoteAddress;
  if (!isLoopbackAddress(remote)) {
    throw new SbmpError('forbidden', `${path} answers only clients on the loopback interface`, {
      details: { path, remote: remote ?? 'unknown' },
    });
  }
}
