/**
 * Parent side of the servers under test that run in child processes: the SBMP server (over a
 * memory or LMDB store), the plain `ws` relay peer, and the bare SBMP server of
 * `bench/tools/client-ceiling.ts`.
 */
import type { ServerLimits } from '../../src/server/limits.js';
import type { ChildHandle } from '../lib/child.js';
import { startChild } from '../lib/child.js';

export interface SbmpServerInit {
  readonly store: { readonly kind: 'memory' } | { readonly kind: 'lmdb'; readonly path: string };
  readonly limits?: Partial<ServerLimits>;
}

export interface ServerReady {
  /** SBMP: the HTTP origin (`http://127.0.0.1:PORT`); relay: `ws://127.0.0.1:PORT`. */
  readonly url: string;
}

/** Bytes the relay holds for its subscribers (the sum and the largest of their `bufferedAmount`). */
export interface RelayStats {
  readonly subscribers: number;
  readonly bufferedBytes: number;
  readonly maxBufferedBytes: number;
}

/**
 * The server's publish rate limit is per identity and defaults to 100,000/s; the peers have
 * none, so the bench lifts it out of the way. Every other limit keeps its default.
 */
export const BENCH_SERVER_LIMITS: Partial<ServerLimits> = Object.freeze({
  publishRatePerIdentity: 1_000_000_000,
});

export function startSbmpServer(init: SbmpServerInit): Promise<ChildHandle<ServerReady>> {
  return startChild<ServerReady>(new URL('./sbmp-server-child.ts', import.meta.url), init);
}

export function startWsRelay(): Promise<ChildHandle<ServerReady>> {
  return startChild<ServerReady>(new URL('./ws-relay-child.ts', import.meta.url), null);
}

/** The wire protocol alone: acknowledges and forwards, stores nothing (bare-server-child.ts). */
export function startBareServer(): Promise<ChildHandle<ServerReady>> {
  return startChild<ServerReady>(new URL('./bare-server-child.ts', import.meta.url), null);
}
