/**
 * What each server itself says it holds for the slow subscriber: bytes queued for it, and for
 * SBMP also the keys pending (conflated) for it. Undefined where a server has no such figure.
 */

import { connectRedis } from './clients/redis.js';
import type { RelayStats } from './servers.js';
import type { Subject } from './subjects.js';

export interface Backlog {
  /** Bytes the server holds for the subscriber (write buffers, output queues). */
  readonly bytes: number | undefined;
  /** SBMP: keys with a snapshot pending for the subscriber (at most one each). */
  readonly pendingKeys?: number;
  /** SBMP: snapshots the server replaced by a newer one before sending (conflated). */
  readonly conflated?: number;
}

interface SbmpDebugVars {
  readonly connections: readonly {
    readonly kind: string;
    readonly subscriptions: number;
    readonly pendingKeys: number;
    readonly bufferedBytes: number;
    readonly conflated: number;
  }[];
}

interface NatsConnz {
  readonly connections?: readonly { readonly pending_bytes?: number; readonly subscriptions?: number }[];
}

/** Bounded, so that a server too busy to answer does not stall the scenario. */
async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

export async function serverBacklog(subject: Subject): Promise<Backlog> {
  const endpoint = subject.endpoint;
  switch (endpoint.kind) {
    case 'sbmp': {
      const vars = await getJson<SbmpDebugVars>(`${endpoint.url}/debug/vars`);
      const subscribers = vars.connections.filter((c) => c.subscriptions > 0);
      return {
        bytes: subscribers.reduce((n, c) => n + c.bufferedBytes, 0),
        pendingKeys: subscribers.reduce((n, c) => n + c.pendingKeys, 0),
        conflated: subscribers.reduce((n, c) => n + c.conflated, 0),
      };
    }
    case 'nats': {
      if (subject.monitorPort === undefined) return { bytes: undefined };
      const connz = await getJson<NatsConnz>(`http://127.0.0.1:${subject.monitorPort}/connz`);
      const pending = (connz.connections ?? []).map((c) => c.pending_bytes ?? 0);
      return { bytes: pending.length === 0 ? 0 : Math.max(...pending) };
    }
    case 'redis': {
      const redis = connectRedis(endpoint, 'sbmp-bench-inspect');
      try {
        const list = String(await redis.client('LIST'));
        const line = list.split('\n').find((l) => l.includes('name=sbmp-bench-sub'));
        const omem = line === undefined ? undefined : /\bomem=(\d+)/.exec(line)?.[1];
        return { bytes: omem === undefined ? undefined : Number(omem) };
      } finally {
        redis.disconnect();
      }
    }
    case 'ws-relay': {
      const stats = await subject.request<RelayStats>('stats');
      return { bytes: stats?.maxBufferedBytes };
    }
  }
}
