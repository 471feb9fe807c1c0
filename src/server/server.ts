import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { SbmpError } from '../core/errors.js';
import type { PoolRegistry } from '../pool/registry.js';
import type { Store } from '../store/types.js';
import type { ServerContext } from './context.js';
import { ConnectionRegistry } from './context.js';
import { Hub } from './fanout/hub.js';
import { registerGuardMetrics } from './guards/guard-metrics.js';
import type { ServerGuardOptions } from './guards/server-guards.js';
import { ServerGuards } from './guards/server-guards.js';
import type { HealthReport } from './http/health.js';
import { healthReport } from './http/health.js';
import { createRequestHandler } from './http/router.js';
import type { ServerLimits } from './limits.js';
import { resolveLimits } from './limits.js';
import { ServerMetrics } from './metrics.js';
import type { DebugOptions } from './observability/debug-access.js';
import { resolveDebugOptions } from './observability/debug-access.js';
import { defaultLogger } from './observability/logging.js';
import { timeStore } from './observability/store-timing.js';
import { createServerPools } from './pools.js';
import { Publisher } from './publish.js';
import { RateLimiter } from './rate-limit.js';
import type { LagFigures } from './runtime.js';
import { RuntimeStats } from './runtime.js';
import { createUpgradeHandler } from './ws/upgrade.js';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 7400;
/** Default time `close()` gives in-flight publishes and clients to finish: 5 s. */
export const DEFAULT_DRAIN_MS = 5000;
/** Time the store's live watch has to catch up at start-up before `startServer` fails. */
const HUB_START_TIMEOUT_MS = 10_000;
/** After the drain, time left to idle HTTP connections before they are cut. */
const HTTP_CLOSE_GRACE_MS = 250;

export interface ServerOptions {
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /** Port to listen on. Default 7400; 0 picks a free port (see `SbmpServer.port`). */
  port?: number;
  /** The store to serve. Owned by the caller: `close()` does not close it. */
  store: Store;
  /** Overrides of `DEFAULT_SERVER_LIMITS`; validated at start-up (`bad_config`). */
  limits?: Partial<ServerLimits>;
  /** Named in WELCOME frames, health reports and logs. Default `sbmp-<random>`. */
  serverId?: string;
  /** JSON logs go here; `false` for none. Default: a pino logger on stdout. */
  logger?: Logger | false;
  /**
   * The registry the server registers its own pools in (`SERVER_POOLS`), next to any of yours;
   * `/metrics` (`sbmp_pool_*`) and `/debug/vars` report every pool in it. Default: a registry
   * of the server's own.
   */
  pools?: PoolRegistry;
  /**
   * Memory-watermark load shedding, the store circuit breaker and periodic compaction (see
   * `ServerGuardOptions`); all on by default, validated at start-up (`bad_config`).
   */
  guards?: ServerGuardOptions;
  /** The administrators' profiling endpoints, `/debug/pprof/*`; off by default (see `DebugOptions`). */
  debug?: DebugOptions;
}

export interface SbmpServer {
  /** `http://host:port`; the WebSocket endpoint is `ws://host:port/sbmp/v3/ws`. */
  readonly url: string;
  readonly port: number;
  /** `options.store` as given; the server's own calls go through the store breaker. */
  readonly store: Store;
  /** The figures of `/sbmp/v3/health/stream`: status and its reasons, lag, memory, guards, store. */
  health(): HealthReport;
  /**
   * Graceful stop: refuses new requests and connections (503), sends GOAWAY to every WebSocket
   * client, ends SSE streams, waits for in-flight publishes to be acknowledged (at most
   * `drainMs`, default 5 s), then stops listening. The store stays open. Idempotent.
   */
  close(options?: { drainMs?: number }): Promise<void>;
}

function checkOptions(options: ServerOptions): { host: string; port: number } {
  if (options === null || typeof options !== 'object') {
    throw new SbmpError('bad_config', 'startServer needs an options object with a store');
  }
  const store = options.store as Partial<Store> | undefined;
  if (store === undefined || typeof store.put !== 'function' || typeof store.watch !== 'function') {
    throw new SbmpError('bad_config', 'options.store must be an open Store (e.g. from openStore)');
  }
  const host = options.host ?? DEFAULT_HOST;
  if (typeof host !== 'string' || host.length === 0) {
    throw new SbmpError('bad_config', 'options.host must be a non-empty string');
  }
  const port = options.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SbmpError('bad_config', `options.port must be an integer from 0 to 65535, got ${String(port)}`);
  }
  return { host, port };
}

function listenError(err: NodeJS.ErrnoException, host: string, port: number): SbmpError {
  const where = `${host}:${port}`;
  if (err.code === 'EADDRINUSE') {
    return new SbmpError(
      'bad_config',
      `cannot listen on ${where}: the port is in use; stop the other process or choose another port`,
      {
        cause: err,
        details: { host, port },
      },
    );
  }
  if (err.code === 'EACCES') {
    return new SbmpError(
      'bad_config',
      `cannot listen on ${where}: permission denied; use a port above 1023`,
      {
        cause: err,
        details: { host, port },
      },
    );
  }
  if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') {
    return new SbmpError('bad_config', `cannot listen on ${where}: no such local address; check the host`, {
      cause: err,
      details: { host, port },
    });
  }
  return new SbmpError('unavailable', `cannot listen on ${where}: ${err.message}`, { cause: err });
}

/**
 * Starts one SBMP server: the HTTP API, Server-Sent Events, the WebSocket protocol, health
 * and metrics, all on one port, over `options.store`. Resolves once it is listening and the
 * live fan-out is caught up with the store; rejects with `bad_config` naming the option or the
 * fix, or `unavailable` when the store cannot be watched.
 */
export async function startServer(options: ServerOptions): Promise<SbmpServer> {
  const { host, port } = checkOptions(options);
  const limits = resolveLimits(options.limits);
  const debug = resolveDebugOptions(options.debug);
  const logger = options.logger === false ? undefined : (options.logger ?? defaultLogger());
  const pools = createServerPools(options.pools);
  const metrics = new ServerMetrics(pools.registry);
  // Timed inside the breaker: the figures are the store's own latency, not that of fast refusals.
  const guards = new ServerGuards(timeStore(options.store, metrics.storeSeconds), options.guards, logger);
  // Wrapped once: every handler, the publisher and compaction share one breaker.
  const store = guards.store;
  const serverId = options.serverId ?? `sbmp-${randomUUID().slice(0, 8)}`;
  let observeLagWindow: ((figures: LagFigures) => void) | undefined;
  const runtime = new RuntimeStats({ onLagWindow: (figures) => observeLagWindow?.(figures) });
  observeLagWindow = registerGuardMetrics(metrics.registry, guards, runtime).observeLagWindow;
  const hub = new Hub(store, logger);
  try {
    await hub.start(HUB_START_TIMEOUT_MS);
  } catch (err) {
    hub.stop();
    runtime.stop();
    pools.close();
    throw err instanceof SbmpError
      ? err
      : new SbmpError('unavailable', `cannot watch the ${store.kind} store: ${(err as Error).message}`, {
          cause: err,
        });
  }
  const publisher = new Publisher(store, metrics, new RateLimiter(limits.publishRatePerIdentity), guards);
  const connections = new ConnectionRegistry(metrics);
  let closing = false;
  const ctx: ServerContext = {
    store,
    hub,
    limits,
    metrics,
    publisher,
    logger,
    serverId,
    connections,
    runtime,
    guards,
    pools: pools.registry,
    bodyPool: pools.httpBody,
    debug,
    get closing() {
      return closing;
    },
  };
  const http = createServer(createRequestHandler(ctx));
  const upgrade = createUpgradeHandler(ctx);
  http.on('upgrade', upgrade.handle);
  http.on('clientError', (err, socket) => {
    logger?.debug({ err }, 'malformed HTTP request');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, host, () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    hub.stop();
    runtime.stop();
    pools.close();
    throw listenError(err as NodeJS.ErrnoException, host, port);
  }
  http.on('error', (err) => logger?.error({ err }, 'http server error'));
  guards.start();
  const address = http.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${urlHost}:${address.port}`;
  logger?.info(
    { url, serverId, store: store.kind, revision: hub.revision, memoryLimit: guards.memory?.limit },
    'sbmp server listening',
  );

  let closed: Promise<void> | undefined;
  const close = async (drainMs: number) => {
    closing = true;
    const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
    http.closeIdleConnections();
    await Promise.all(connections.all().map((connection) => connection.shutdown(drainMs)));
    await publisher.waitIdle(drainMs);
    hub.stop();
    upgrade.close();
    http.closeIdleConnections();
    const grace = setTimeout(() => http.closeAllConnections(), HTTP_CLOSE_GRACE_MS);
    await stopped;
    clearTimeout(grace);
    runtime.stop();
    await guards.stop();
    pools.close();
    metrics.registry.clear();
    logger?.info({ serverId }, 'sbmp server closed');
  };

  return {
    url,
    port: address.port,
    store: options.store,
    health: () => healthReport(ctx),
    close(closeOptions) {
      const drainMs = closeOptions?.drainMs ?? DEFAULT_DRAIN_MS;
      if (!Number.isFinite(drainMs) || drainMs < 0) {
        return Promise.reject(
          new SbmpError('bad_config', `drainMs must be a number >= 0, got ${String(drainMs)}`),
        );
      }
      closed ??= close(drainMs);
      return closed;
    },
  };
}
