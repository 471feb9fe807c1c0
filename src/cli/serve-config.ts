import { readFile } from 'node:fs/promises';
import { isSbmpError, SbmpError } from '../core/errors.js';
import { parseByteSize } from '../server/guards/byte-size.js';
import { MIN_MEMORY_LIMIT_BYTES } from '../server/guards/memory-limit.js';
import { MemoryWatermark } from '../server/guards/memory-watermark.js';
import type { ServerLimits } from '../server/limits.js';
import { resolveLimits } from '../server/limits.js';
import type { DebugOptions } from '../server/observability/debug-access.js';
import { resolveDebugOptions } from '../server/observability/debug-access.js';
import { checkStoreOptions } from '../server/run-config.js';
import type { EmbeddedStoreOptions } from '../store/open.js';
import { parseStoreSpec } from '../store/open.js';

/** Thresholds of the memory watermark, as fractions of the memory limit. */
export interface WatermarkSettings {
  readonly shedAt?: number;
  readonly refusePublishesAt?: number;
  readonly recoverBelow?: number;
}

/** What `sbmp serve` runs with, after defaults, the config file, the environment and flags. */
export interface ServeSettings {
  readonly host: string;
  readonly port: number;
  readonly store: string;
  /** The embedded store's `sync` and `cachedHeads` (lmdb stores only); its defaults when absent. */
  readonly storeOptions?: EmbeddedStoreOptions;
  /** Bytes; undefined: the process limit (cgroup or V8 heap limit) applies. */
  readonly memoryLimitBytes?: number;
  readonly serverId?: string;
  readonly limits: Partial<ServerLimits>;
  /** Watermark thresholds; the server's defaults (0.85, 0.92, 0.75) where absent. */
  readonly memoryWatermark?: WatermarkSettings;
  /** Period of store compaction in ms (0: off); the server's default (60 s) when absent. */
  readonly compactIntervalMs?: number;
  /** Time a shutdown gives clients and in-flight publishes, in ms; the server's default (5 s) when absent. */
  readonly drainMs?: number;
  /** Debug endpoints: `{ pprof: true }` serves profiles to loopback clients; `vars: 'any'` opens /debug/vars. */
  readonly debug?: DebugOptions;
}

export const SERVE_DEFAULTS = { host: '127.0.0.1', port: 7400, store: 'lmdb:./sbmp-data' } as const;

/** Flags as commander hands them over: undefined where not given. */
export interface ServeFlags {
  readonly host?: string;
  readonly port?: number;
  readonly store?: string;
  readonly memoryLimit?: string;
  readonly config?: string;
}

const CONFIG_KEYS = [
  'host',
  'port',
  'store',
  'storeOptions',
  'memoryLimit',
  'serverId',
  'limits',
  'memoryWatermark',
  'compactIntervalMs',
  'drainMs',
  'debug',
] as const;

const WATERMARK_KEYS = ['shedAt', 'refusePublishesAt', 'recoverBelow'] as const;

/**
 * Environment variables `sbmp serve` reads, by setting. Others (`SBMP_URL`, `SBMP_TOKEN`, ...)
 * belong to the client commands and are left alone.
 */
export const SERVE_ENV = {
  config: 'SBMP_CONFIG',
  host: 'SBMP_HOST',
  port: 'SBMP_PORT',
  store: 'SBMP_STORE',
  memoryLimit: 'SBMP_MEMORY_LIMIT',
  serverId: 'SBMP_SERVER_ID',
} as const;

/** The flag for each setting that has one, named in errors. */
const FLAGS: Readonly<Record<string, string>> = {
  host: '--host',
  port: '--port',
  store: '--store',
  memoryLimit: '--memory-limit',
  config: '--config',
};

/** A value and where it came from (`--port`, `SBMP_PORT`, `config file x.json: port`). */
interface Sourced<T> {
  readonly value: T;
  readonly from: string;
}

/**
 * Merges the settings of `sbmp serve`: defaults < config file < environment (`SBMP_HOST`,
 * `SBMP_PORT`, `SBMP_STORE`, `SBMP_MEMORY_LIMIT`, `SBMP_SERVER_ID`) < flags. The file is named
 * by `--config` or `SBMP_CONFIG` and holds a JSON object with any of `host`, `port`, `store`,
 * `storeOptions` (`{sync, cachedHeads}`, lmdb stores only), `memoryLimit` ("512MB"),
 * `serverId`, `limits` (see `ServerLimits`), `memoryWatermark` (`{shedAt, refusePublishesAt,
 * recoverBelow}`), `compactIntervalMs` and `drainMs`.
 *
 * Everything is checked here, before anything starts: an unknown key, a wrong type, a port out
 * of range, an unknown store spec, an unparsable memory limit or one below 32MiB, contradictory
 * watermark thresholds, a bad limit. Each is `bad_config` whose message names the setting as
 * the user gave it (flag, variable or file key) and the fix; `details.option` names the setting.
 */
export async function resolveServeSettings(
  flags: ServeFlags,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<ServeSettings> {
  const configPath = pick<string>('config', flags.config, envText(env, 'config'), undefined);
  const file = configPath === undefined ? {} : await readConfigFile(configPath.value);
  const inFile = (key: string) => `config file ${configPath?.value}: ${key}`;
  const fromFile = <T>(key: keyof ConfigFile): Sourced<T> | undefined =>
    file[key] === undefined ? undefined : { value: file[key] as T, from: inFile(key) };

  const host = pick<string>('host', flags.host, envText(env, 'host'), fromFile('host'));
  const port = pick<number>('port', flags.port, envPort(env), fromFile('port'));
  const store = pick<string>('store', flags.store, envText(env, 'store'), fromFile('store'));
  const memoryLimit = pick<string>(
    'memoryLimit',
    flags.memoryLimit,
    envText(env, 'memoryLimit'),
    fromFile('memoryLimit'),
  );
  const serverId = pick<string>('serverId', undefined, envText(env, 'serverId'), fromFile('serverId'));

  if (host !== undefined && host.value.trim() === '') {
    throw badSetting(
      'host',
      `${host.from} must not be empty`,
      'give an address such as 127.0.0.1 or 0.0.0.0',
    );
  }
  if (store !== undefined) checkStoreSpec(store);
  if (file.storeOptions !== undefined) {
    try {
      checkStoreOptions(file.storeOptions, store?.value ?? SERVE_DEFAULTS.store);
    } catch (error) {
      if (!isSbmpError(error, 'bad_config')) throw error;
      // The message names the setting (`storeOptions.sync must be ...`); say where it was written.
      throw new SbmpError('bad_config', `config file ${configPath?.value}: ${error.message}`, {
        details: error.details,
      });
    }
  }
  const memoryLimitBytes = memoryLimit === undefined ? undefined : checkMemoryLimit(memoryLimit);
  const limits = file.limits ?? {};
  relabel(
    () => resolveLimits(limits),
    (option) => inFile(`limits.${option}`),
  );
  const memoryWatermark = file.memoryWatermark;
  if (memoryWatermark !== undefined) checkWatermark(memoryWatermark, memoryLimitBytes, inFile);
  if (file.debug !== undefined)
    relabel(
      () => resolveDebugOptions(file.debug),
      () => inFile('debug'),
    );
  for (const key of ['compactIntervalMs', 'drainMs'] as const) {
    const value = file[key];
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
      throw badSetting(key, `${inFile(key)} must be an integer number of ms >= 0, got ${value}`);
    }
  }
  return {
    host: host?.value ?? SERVE_DEFAULTS.host,
    port: port?.value ?? SERVE_DEFAULTS.port,
    store: store?.value ?? SERVE_DEFAULTS.store,
    limits,
    ...(file.storeOptions === undefined ? {} : { storeOptions: file.storeOptions }),
    ...(memoryLimitBytes === undefined ? {} : { memoryLimitBytes }),
    ...(serverId === undefined ? {} : { serverId: serverId.value }),
    ...(memoryWatermark === undefined ? {} : { memoryWatermark }),
    ...(file.compactIntervalMs === undefined ? {} : { compactIntervalMs: file.compactIntervalMs }),
    ...(file.drainMs === undefined ? {} : { drainMs: file.drainMs }),
    ...(file.debug === undefined ? {} : { debug: file.debug }),
  };
}

/** The first of flag, environment and file that is set, with where it came from. */
function pick<T>(
  setting: string,
  flag: T | undefined,
  fromEnv: Sourced<T> | undefined,
  fromFile: Sourced<T> | undefined,
): Sourced<T> | undefined {
  if (flag !== undefined) return { value: flag, from: FLAGS[setting] ?? setting };
  return fromEnv ?? fromFile;
}

function envText(
  env: Readonly<Record<string, string | undefined>>,
  setting: keyof typeof SERVE_ENV,
): Sourced<string> | undefined {
  const name = SERVE_ENV[setting];
  const value = env[name];
  // An empty variable counts as unset, as shells make `SBMP_PORT= sbmp serve` easy to write.
  return value === undefined || value === '' ? undefined : { value, from: name };
}

function envPort(env: Readonly<Record<string, string | undefined>>): Sourced<number> | undefined {
  const text = envText(env, 'port');
  if (text === undefined) return undefined;
  const port = Number(text.value);
  if (!/^[0-9]{1,5}$/.test(text.value.trim()) || port > 65_535) {
    throw badSetting(
      'port',
      `${text.from} must be a port number from 0 to 65535 (0 picks a free port), got '${text.value}'`,
    );
  }
  return { value: port, from: text.from };
}

function checkStoreSpec(store: Sourced<string>): void {
  try {
    parseStoreSpec(store.value);
  } catch (error) {
    if (!isSbmpError(error, 'bad_config')) throw error;
    throw badSetting(
      'store',
      `${store.from}: ${error.message}`,
      'use lmdb:<dir> (e.g. lmdb:./sbmp-data) or memory, e.g. --store memory',
    );
  }
}

function checkMemoryLimit(memoryLimit: Sourced<string>): number {
  const bytes = parseByteSize(memoryLimit.value, `memory limit (${memoryLimit.from})`);
  if (bytes < MIN_MEMORY_LIMIT_BYTES) {
    throw badSetting(
      'memoryLimit',
      `memory limit (${memoryLimit.from}) is ${memoryLimit.value}, below the minimum of 32MiB`,
      'give at least 32MiB (e.g. 256MB), or leave it out to use the cgroup or heap limit',
    );
  }
  return bytes;
}

/** The thresholds must be fractions in order: recoverBelow < shedAt <= refusePublishesAt. */
function checkWatermark(
  thresholds: WatermarkSettings,
  limitBytes: number | undefined,
  inFile: (key: string) => string,
): void {
  for (const key of Object.keys(thresholds)) {
    if (!(WATERMARK_KEYS as readonly string[]).includes(key)) {
      throw badSetting(
        `memoryWatermark.${key}`,
        `${inFile(`memoryWatermark.${key}`)} is not a setting`,
        `known: ${WATERMARK_KEYS.join(', ')}`,
      );
    }
  }
  relabel(
    // Built only to validate: with a fixed limit and a zero sample it reads nothing and starts nothing.
    () =>
      new MemoryWatermark({
        ...thresholds,
        limitBytes: limitBytes ?? MIN_MEMORY_LIMIT_BYTES,
        sample: () => 0,
      }),
    (option) => inFile(`memoryWatermark.${option}`),
  );
}

/** Runs `check`; a `bad_config` it throws is re-thrown naming the setting as the user wrote it. */
function relabel(check: () => unknown, where: (option: string) => string, fix?: string): void {
  try {
    check();
  } catch (error) {
    if (!isSbmpError(error, 'bad_config')) throw error;
    const option = typeof error.details?.option === 'string' ? error.details.option : 'setting';
    throw badSetting(option, `${where(option)}: ${error.message}`, fix);
  }
}

function badSetting(option: string, problem: string, fix?: string): SbmpError {
  return new SbmpError('bad_config', fix === undefined ? problem : `${problem}; ${fix}`, {
    details: { option },
  });
}

interface ConfigFile {
  host?: string;
  port?: number;
  store?: string;
  storeOptions?: EmbeddedStoreOptions;
  memoryLimit?: string;
  serverId?: string;
  limits?: Partial<ServerLimits>;
  memoryWatermark?: WatermarkSettings;
  compactIntervalMs?: number;
  drainMs?: number;
  debug?: DebugOptions;
}

async function readConfigFile(path: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new SbmpError('bad_config', `cannot read config file ${path}: ${(cause as Error).message}`, {
      cause,
      details: { option: 'config' },
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new SbmpError('bad_config', `config file ${path} is not valid JSON: ${(cause as Error).message}`, {
      cause,
      details: { option: 'config' },
    });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SbmpError('bad_config', `config file ${path} must hold a JSON object`, {
      details: { option: 'config' },
    });
  }
  const config = parsed as Record<string, unknown>;
  for (const key of Object.keys(config)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(key)) {
      throw new SbmpError(
        'bad_config',
        `config file ${path}: unknown setting '${key}'; known: ${CONFIG_KEYS.join(', ')}`,
        {
          details: { option: key },
        },
      );
    }
  }
  const expect = (key: string, type: 'string' | 'number' | 'object') => {
    const value = config[key];
    if (value !== undefined && (typeof value !== type || value === null || Array.isArray(value))) {
      throw new SbmpError('bad_config', `config file ${path}: '${key}' must be a ${type}`, {
        details: { option: key },
      });
    }
  };
  expect('host', 'string');
  expect('port', 'number');
  expect('store', 'string');
  expect('storeOptions', 'object');
  expect('memoryLimit', 'string');
  expect('serverId', 'string');
  expect('limits', 'object');
  expect('memoryWatermark', 'object');
  expect('compactIntervalMs', 'number');
  expect('drainMs', 'number');
  expect('debug', 'object');
  const port = config.port as number | undefined;
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65_535)) {
    throw new SbmpError('bad_config', `config file ${path}: 'port' must be 0..65535`, {
      details: { option: 'port' },
    });
  }
  return config as ConfigFile;
}
