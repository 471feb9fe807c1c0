import type { Logger } from 'pino';
import { SbmpError } from '../core/errors.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/types.js';
import type { LifecycleHook } from './guards/lifecycle.js';
import { Lifecycle } from './guards/lifecycle.js';
import { defaultLogger } from './observability/logging.js';
import type { CheckedRunConfig, RunServerConfig } from './run-config.js';
import { checkRunConfig, RUN_SERVER_STOP_TIMEOUT_MS } from './run-config.js';
import type { SbmpServer } from './server.js';
import { startServer } from './server.js';

/** What lifecycle hooks see. `config` is set before the first hook; `store` and `server` from `onServiceBound`. */
export interface RunContext {
  readonly config: CheckedRunConfig;
  readonly store: Store | undefined;
  readonly server: SbmpServer | undefined;
  readonly logger: Logger | undefined;
}

/**
 * Code that embeds the server hooks into its start-up and shutdown here. A start-up hook that
 * throws stops start-up like a failed step (everything started is stopped again).
 */
export interface RunServerHooks {
  /** After pre-init: the configuration is loaded and checked. */
  readonly onConfigLoaded?: LifecycleHook<RunContext>;
  /** After core-init: the store is open and the server listens. */
  readonly onServiceBound?: LifecycleHook<RunContext>;
  /** After post-init: the heartbeat runs and the server is ready. */
  readonly onRuntimeReady?: LifecycleHook<RunContext>;
  /** At shutdown, before the server drains and the store closes. */
  readonly onShutdown?: LifecycleHook<RunContext>;
}

export interface RunningServer {
  readonly server: SbmpServer;
  readonly store: Store;
  readonly url: string;
  readonly config: CheckedRunConfig;
  /**
   * Graceful stop, in reverse start-up order: `onShutdown` hooks, heartbeat, the server (GOAWAY
   * to WebSocket clients, in-flight publishes acknowledged within `drainMs`, SSE streams ended),
   * then the store when it was opened from a spec. Rejects with `internal` listing every step
   * that failed (`details.failures`) after trying them all. Idempotent.
   */
  shutdown(): Promise<void>;
}

interface MutableContext {
  config: CheckedRunConfig;
  store: Store | undefined;
  server: SbmpServer | undefined;
  logger: Logger | undefined;
}

/**
 * Starts an SBMP server through the start-up lifecycle (see `Lifecycle`), the same way
 * `sbmp serve` does:
 *
 *   pre-init   'configuration'  load (when `config` is a function) and check every setting
 *   core-init  'store'          open the store from its spec
 *              'server'         guards (memory watermark, store breaker, compaction), HTTP and
 *                               WebSocket listener, live fan-out
 *   post-init  'memory headroom' refuse to run already above the memory watermark
 *              'heartbeat'      a log line with the health figures every `heartbeatMs`
 *
 * with the hooks after their phases. A failure anywhere rolls back what started and rejects
 * with an `SbmpError` whose message names the phase, the step and the cause, and whose
 * `details` hold `{ phase, step }`; a bad setting keeps its `bad_config` code. Passing a
 * function as `config` makes loading it (files, environment) part of pre-init.
 */
export async function runServer(
  config: RunServerConfig | (() => RunServerConfig | Promise<RunServerConfig>),
  hooks: RunServerHooks = {},
): Promise<RunningServer> {
  const lifecycleOptions = typeof config === 'function' ? undefined : config?.lifecycle;
  const lifecycle = new Lifecycle<MutableContext>({
    ...lifecycleOptions,
    stopTimeoutMs: lifecycleOptions?.stopTimeoutMs ?? RUN_SERVER_STOP_TIMEOUT_MS,
  });
  // Filled step by step; hooks only ever run after 'configuration' has set `config`.
  const ctx = { store: undefined, server: undefined, logger: undefined } as unknown as MutableContext;
  let heartbeat: NodeJS.Timeout | undefined;
  let ownsStore = false;

  lifecycle.addStep('pre-init', {
    name: 'configuration',
    async start(context) {
      const loaded = typeof config === 'function' ? await config() : config;
      context.config = checkRunConfig(loaded);
      const { logger } = context.config;
      context.logger = logger === false ? undefined : (logger ?? defaultLogger());
    },
  });
  lifecycle.addStep('core-init', {
    name: 'store',
    async start(context) {
      const { store, limits, storeOptions } = context.config;
      if (typeof store !== 'string') {
        context.store = store;
        return;
      }
      context.store = await openStore(store, {
        ...storeOptions,
        ...(limits?.maxStateBytes === undefined ? {} : { maxStateBytes: limits.maxStateBytes }),
      });
      ownsStore = true;
    },
    async stop(context) {
      if (ownsStore) await context.store?.close();
    },
  });
  lifecycle.addStep('core-init', {
    name: 'server',
    async start(context) {
      const { host, port, limits, guards, serverId, pools } = context.config;
      context.server = await startServer({
        host,
        port,
        store: context.store as Store,
        logger: context.logger ?? false,
        ...(limits === undefined ? {} : { limits }),
        ...(guards === undefined ? {} : { guards }),
        ...(serverId === undefined ? {} : { serverId }),
        ...(pools === undefined ? {} : { pools }),
        ...(context.config.debug === undefined ? {} : { debug: context.config.debug }),
      });
    },
    async stop(context) {
      await context.server?.close({ drainMs: context.config.drainMs });
    },
  });
  lifecycle.addStep('post-init', {
    name: 'memory headroom',
    start(context) {
      const memory = context.server?.health().guards.memory;
      if (memory === null || memory === undefined || memory.state === 'normal') return;
      throw new SbmpError(
        'bad_config',
        `memory in use (${memory.usageBytes} bytes) is already at ${Math.round(memory.ratio * 100)}% of the ` +
          `${memory.limitBytes}-byte limit (${memory.limitSource}), so the server would refuse work from the start; ` +
          'raise the memory limit',
        { details: { option: 'limitBytes', ratio: memory.ratio } },
      );
    },
  });
  lifecycle.addStep('post-init', {
    name: 'heartbeat',
    start(context) {
      const { heartbeatMs } = context.config;
      const beat = () => logHeartbeat(context);
      beat();
      if (heartbeatMs === 0) return;
      heartbeat = setInterval(beat, heartbeatMs);
      heartbeat.unref();
    },
    stop() {
      clearInterval(heartbeat);
      heartbeat = undefined;
    },
  });
  if (hooks.onConfigLoaded !== undefined) lifecycle.onConfigLoaded(hooks.onConfigLoaded);
  if (hooks.onServiceBound !== undefined) lifecycle.onServiceBound(hooks.onServiceBound);
  if (hooks.onRuntimeReady !== undefined) lifecycle.onRuntimeReady(hooks.onRuntimeReady);
  if (hooks.onShutdown !== undefined) lifecycle.onShutdown(hooks.onShutdown);

  await lifecycle.start(ctx);
  const server = ctx.server as SbmpServer;
  ctx.logger?.info({ url: server.url }, 'sbmp server ready');
  return {
    server,
    store: ctx.store as Store,
    url: server.url,
    config: ctx.config,
    shutdown: () => lifecycle.shutdown(),
  };
}

/** One info line with the figures an operator scans for: status, lag, memory, breaker, connections. */
function logHeartbeat(context: MutableContext): void {
  const health = context.server?.health();
  if (health === undefined || context.logger === undefined) return;
  const { memory, storeBreaker } = health.guards;
  context.logger.info(
    {
      status: health.status,
      reasons: health.reasons,
      uptimeMs: health.uptimeMs,
      eventLoopLagMs: { p99: health.eventLoopLag.p99Ms, max: health.eventLoopLag.maxMs },
      memory: memory === null ? null : { state: memory.state, ratio: Math.round(memory.ratio * 1000) / 1000 },
      storeBreaker: storeBreaker?.state ?? null,
      connections: health.connections,
      revision: health.store.revision,
    },
    'heartbeat',
  );
}
