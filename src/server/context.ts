import type { Logger } from 'pino';
import type { BufferPool } from '../pool/buffer-pool.js';
import type { PoolRegistry } from '../pool/registry.js';
import type { Store } from '../store/types.js';
import type { Hub } from './fanout/hub.js';
import type { ServerGuards } from './guards/server-guards.js';
import type { ServerLimits } from './limits.js';
import type { ConnectionKind, ServerMetrics } from './metrics.js';
import type { ResolvedDebugOptions } from './observability/debug-access.js';
import type { Publisher } from './publish.js';
import type { RuntimeStats } from './runtime.js';

/** Figures one streaming connection reports to `/debug/vars`. */
export interface ConnectionStats {
  readonly id: number;
  readonly kind: ConnectionKind;
  readonly remote: string;
  readonly openedAt: number;
  readonly subscriptions: number;
  readonly pendingKeys: number;
  readonly bufferedBytes: number;
  readonly waitingForDrain: boolean;
  readonly delivered: number;
  readonly conflated: number;
}

/** A long-lived connection the server must end on close: a WebSocket, an SSE watch, a health stream. */
export interface StreamConnection {
  readonly id: number;
  readonly kind: ConnectionKind;
  stats(): ConnectionStats;
  /** Ends the connection gracefully (GOAWAY for WebSockets), within `drainMs`. */
  shutdown(drainMs: number): Promise<void>;
  /** Ends it now. */
  terminate(): void;
}

/** The open streaming connections, counted against `maxConnections` and mirrored in `sbmp_connections`. */
export class ConnectionRegistry {
  readonly #open = new Set<StreamConnection>();
  readonly #metrics: ServerMetrics;
  #nextId = 1;

  constructor(metrics: ServerMetrics) {
    this.#metrics = metrics;
  }

  nextId(): number {
    return this.#nextId++;
  }

  get size(): number {
    return this.#open.size;
  }

  add(connection: StreamConnection): void {
    this.#open.add(connection);
    this.#metrics.connections.inc({ kind: connection.kind });
  }

  delete(connection: StreamConnection): void {
    if (this.#open.delete(connection)) this.#metrics.connections.dec({ kind: connection.kind });
  }

  countOf(kind: ConnectionKind): number {
    let n = 0;
    for (const connection of this.#open) if (connection.kind === kind) n++;
    return n;
  }

  all(): StreamConnection[] {
    return [...this.#open];
  }
}

/** What every handler of one server shares. */
export interface ServerContext {
  readonly store: Store;
  readonly hub: Hub;
  readonly limits: ServerLimits;
  readonly metrics: ServerMetrics;
  readonly publisher: Publisher;
  readonly logger: Logger | undefined;
  readonly serverId: string;
  readonly connections: ConnectionRegistry;
  readonly runtime: RuntimeStats;
  /** Memory watermark, store breaker and compaction; `store` above is already behind the breaker. */
  readonly guards: ServerGuards;
  readonly pools: PoolRegistry;
  /** Buffers request bodies are read into (`sbmp.http.body.v1`). */
  readonly bodyPool: BufferPool;
  /** The administrators' debug endpoints (`/debug/pprof/*`): off unless `ServerOptions.debug` turns them on. */
  readonly debug: ResolvedDebugOptions;
  /** True once `close()` began: new requests and connections are refused with 503. */
  readonly closing: boolean;
}
