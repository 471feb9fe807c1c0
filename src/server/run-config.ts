import type { Logger } from 'pino';
import { SbmpError } from '../core/errors.js';
import type { PoolRegistry } from '../pool/registry.js';
import type { EmbeddedStoreOptions } from '../store/open.js';
import { EMBEDDED_STORE_OPTION_KEYS, parseStoreSpec } from '../store/open.js';
import type { Store } from '../store/types.js';
import type { LifecycleOptions } from './guards/lifecycle.js';
import type { MemoryLimit } from './guards/memory-limit.js';
import { MIN_MEMORY_LIMIT_BYTES } from './guards/memory-limit.js';
import type { MemoryWatermarkOptions } from './guards/memory-watermark.js';
import { MemoryWatermark } from './guards/memory-watermark.js';
import type { ServerGuardOptions } from './guards/server-guards.js';
import type { ServerLimits } from './limits.js';
import { resolveLimits } from './limits.js';
import type { DebugOptions } from './observability/debug-access.js';
import { resolveDebugOptions } from './observability/debug-access.js';
import { DEFAULT_DRAIN_MS, DEFAULT_HOST, DEFAULT_PORT } from './server.js';

/** Default period of the heartbeat log line: 30,000 ms. */
export const DEFAULT_HEARTBEAT_MS = 30_000;

/**
 * Longest one shutdown step may take under `runServer` unless `lifecycle.stopTimeoutMs` says
 * otherwise: 30,000 ms. Closing the server takes up to twice `drainMs` (clients, then in-flight
 * publishes), so `drainMs` must fit in it twice.
 */
export const RUN_SERVER_STOP_TIMEOUT_MS = 30_000;

/** What `runServer` starts. Everything but `store` has a default. */
export interface RunServerConfig {
  /** Interface to listen on. Default 127.0.0.1. */
  readonly host?: string;
  /** Port; 0 picks a free one. Default 7400. */
  readonly port?: number;
  /**
   * A store spec (`memory`, `lmdb:<dir>`; see `openStore`), opened at start-up and closed at
   * shutdown; or an open `Store`, which stays the caller's (never closed here).
   */
  readonly store: string | Store;
  /**
   * Settings of an embedded store opened from an `lmdb:<dir>` spec: `sync` (flush to disk before
   * acknowledging) and `cachedHeads` (see `LmdbStoreOptions`). Defaults: no sync, 1,000,000 heads.
   */
  readonly storeOptions?: EmbeddedStoreOptions;
  /** Overrides of `DEFAULT_SERVER_LIMITS`. */
  readonly limits?: Partial<ServerLimits>;
  /**
   * Memory watermark, store breaker and compaction (see `ServerGuardOptions`). The memory limit
   * in force, explicit or found, must be at least `MIN_MEMORY_LIMIT_BYTES`.
   */
  readonly guards?: ServerGuardOptions;
  readonly serverId?: string;
  /** JSON logs; `false` for none. Default: pino on stdout. */
  readonly logger?: Logger | false;
  readonly pools?: PoolRegistry;
  /** Administrators' debug endpoints (`/debug/pprof/*`, who may read `/debug/vars`). */
  readonly debug?: DebugOptions;
  /** Time shutdown gives in-flight publishes and clients, in ms. Default 5,000. */
  readonly drainMs?: number;
  /** Period of the heartbeat log line, in ms; 0 turns it off. Default 30,000. */
  readonly heartbeatMs?: number;
  /**
   * Time limits of start-up steps and of stopping (see `LifecycleOptions`). Read when `runServer`
   * gets the configuration itself; a loader function's value comes too late to set them.
   */
  readonly lifecycle?: LifecycleOptions;
}

/** A checked configuration, with defaults filled in and the memory limit resolved. */
export interface CheckedRunConfig extends RunServerConfig {
  readonly host: string;
  readonly port: number;
  readonly drainMs: number;
  readonly heartbeatMs: number;
  /** The limit the memory watermark will use; undefined when the memory guard is off. */
  readonly memoryLimit: MemoryLimit | undefined;
}

const KNOWN_KEYS: ReadonlySet<string> = new Set([
  'host',
  'port',
  'store',
  'storeOptions',
  'limits',
  'guards',
  'serverId',
  'logger',
  'pools',
  'drainMs',
  'heartbeatMs',
  'lifecycle',
  'debug',
]);

function bad(option: string, problem: string, fix?: string): SbmpError {
  return new SbmpError('bad_config', `${option} ${problem}${fix === undefined ? '' : `; ${fix}`}`, {
    details: { option },
  });
}

function checkInteger(value: unknown, option: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw bad(option, `must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/**
 * Checks a `runServer` configuration before anything is opened or bound, so that a wrong or
 * contradictory setting stops start-up with `bad_config` naming it (`details.option`) and the
 * fix: unknown keys, host, port range, store spec, limits, memory thresholds (e.g.
 * `recoverBelow` not below `shedAt`), a memory limit below 32 MiB, timers.
 */
export function checkRunConfig(config: RunServerConfig): CheckedRunConfig {
  if (config === null || typeof config !== 'object') {
    throw new SbmpError('bad_config', 'the server configuration must be an object with a store');
  }
  for (const key of Object.keys(config)) {
    if (!KNOWN_KEYS.has(key)) throw bad(key, 'is not a setting', `known: ${[...KNOWN_KEYS].join(', ')}`);
  }
  const host = config.host ?? DEFAULT_HOST;
  if (typeof host !== 'string' || host.trim() === '') throw bad('host', 'must be a non-empty string');
  const port = checkInteger(config.port ?? DEFAULT_PORT, 'port', 0, 65_535);
  checkStore(config.store);
  checkStoreOptions(config.storeOptions, config.store);
  resolveLimits(config.limits);
  resolveDebugOptions(config.debug);
  const guards = config.guards ?? {};
  if (guards === null || typeof guards !== 'object') throw bad('guards', 'must be an object');
  const memory = guards.memory;
  const memoryLimit = memory === false ? undefined : checkMemory(memory ?? {});
  if (guards.compactIntervalMs !== undefined) {
    checkInteger(guards.compactIntervalMs, 'compactIntervalMs', 0, 2 ** 31 - 1);
  }
  const drainMs = checkInteger(config.drainMs ?? DEFAULT_DRAIN_MS, 'drainMs', 0, 2 ** 31 - 1);
  const heartbeatMs = checkInteger(config.heartbeatMs ?? DEFAULT_HEARTBEAT_MS, 'heartbeatMs', 0, 2 ** 31 - 1);
  const stopTimeoutMs = config.lifecycle?.stopTimeoutMs ?? RUN_SERVER_STOP_TIMEOUT_MS;
  if (2 * drainMs + 1000 > stopTimeoutMs) {
    throw bad(
      'drainMs',
      `(${drainMs} ms) does not fit twice in the ${stopTimeoutMs} ms a shutdown step may take`,
      'lower drainMs or raise lifecycle.stopTimeoutMs',
    );
  }
  return { ...config, host, port, drainMs, heartbeatMs, memoryLimit };
}

function checkStore(store: unknown): void {
  if (typeof store === 'string') {
    try {
      parseStoreSpec(store);
    } catch (err) {
      throw bad('store', `is not usable: ${(err as Error).message}`, "use 'memory' or 'lmdb:<dir>'");
    }
    return;
  }
  const candidate = store as Partial<Store> | null | undefined;
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    typeof candidate.put !== 'function' ||
    typeof candidate.watch !== 'function'
  ) {
    throw bad('store', 'must be a store spec (memory, lmdb:<dir>) or an open Store');
  }
}

/**
 * The embedded store's settings: known keys of the right types, and only with a spec that opens
 * the embedded store (a memory store has nothing to tune; an open store was tuned by its opener).
 */
export function checkStoreOptions(options: unknown, store: unknown): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw bad('storeOptions', 'must be an object', `known: ${EMBEDDED_STORE_OPTION_KEYS.join(', ')}`);
  }
  for (const key of Object.keys(options)) {
    if (!(EMBEDDED_STORE_OPTION_KEYS as readonly string[]).includes(key)) {
      throw bad(`storeOptions.${key}`, 'is not a setting', `known: ${EMBEDDED_STORE_OPTION_KEYS.join(', ')}`);
    }
  }
  const { sync, cachedHeads } = options as Record<string, unknown>;
  if (sync !== undefined && typeof sync !== 'boolean') {
    throw bad('storeOptions.sync', `must be true or false, got ${JSON.stringify(sync)}`);
  }
  // The store's own bound (`openLmdbStore`): what the library accepts, the server accepts too.
  if (cachedHeads !== undefined)
    checkInteger(cachedHeads, 'storeOptions.cachedHeads', 0, Number.MAX_SAFE_INTEGER);
  if (typeof store !== 'string') {
    throw bad(
      'storeOptions',
      'apply to a store opened from a spec; an open store was configured by the code that opened it',
      'leave storeOptions out',
    );
  }
  if (parseStoreSpec(store).kind !== 'lmdb') {
    throw bad(
      'storeOptions',
      `apply to the embedded store only, not to '${store}'`,
      'use an lmdb:<dir> store, or leave storeOptions out',
    );
  }
}

/** Validates the watermark options (thresholds, limit) and returns the limit they resolve to. */
function checkMemory(memory: MemoryWatermarkOptions): MemoryLimit {
  // Constructing one validates every option and resolves the limit (explicit, cgroup, V8 heap);
  // it starts no timer, so there is nothing to stop.
  const limit = new MemoryWatermark(memory).limit;
  if (limit.bytes < MIN_MEMORY_LIMIT_BYTES) {
    throw bad(
      'limitBytes',
      `(the memory limit, from ${limit.source}) is ${limit.bytes} bytes, below the minimum of 32MiB (${MIN_MEMORY_LIMIT_BYTES})`,
      'give the process at least 32MiB (e.g. a memory limit of 256MB)',
    );
  }
  return limit;
}
