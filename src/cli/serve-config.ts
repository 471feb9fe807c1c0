import { readFile } from 'node:fs/promises';
import { SbmpError } from '../core/errors.js';
import { parseByteSize } from '../server/guards/byte-size.js';
import type { ServerLimits } from '../server/limits.js';

/** What `sbmp serve` runs with, after defaults, the config file and flags (flags win). */
export interface ServeSettings {
  readonly host: string;
  readonly port: number;
  readonly store: string;
  /** Bytes; undefined: the process limit (cgroup or V8 heap limit) applies. */
  readonly memoryLimitBytes?: number;
  readonly serverId?: string;
  readonly limits: Partial<ServerLimits>;
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

const CONFIG_KEYS = ['host', 'port', 'store', 'memoryLimit', 'serverId', 'limits'] as const;

/**
 * Reads the JSON config file (when given) and merges: defaults < file < flags. The file is an
 * object with any of `host`, `port`, `store`, `memoryLimit` ("512MB"), `serverId` and `limits`
 * (see `ServerLimits`). An unknown key or a wrong type is `bad_config` naming it, so a typo
 * stops start-up instead of being ignored.
 */
export async function resolveServeSettings(flags: ServeFlags): Promise<ServeSettings> {
  const file = flags.config === undefined ? {} : await readConfigFile(flags.config);
  const memoryLimit = flags.memoryLimit ?? file.memoryLimit;
  return {
    host: flags.host ?? file.host ?? SERVE_DEFAULTS.host,
    port: flags.port ?? file.port ?? SERVE_DEFAULTS.port,
    store: flags.store ?? file.store ?? SERVE_DEFAULTS.store,
    limits: file.limits ?? {},
    ...(memoryLimit === undefined ? {} : { memoryLimitBytes: parseByteSize(memoryLimit, 'memory limit') }),
    ...(file.serverId === undefined ? {} : { serverId: file.serverId }),
  };
}

interface ConfigFile {
  host?: string;
  port?: number;
  store?: string;
  memoryLimit?: string;
  serverId?: string;
  limits?: Partial<ServerLimits>;
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
  expect('memoryLimit', 'string');
  expect('serverId', 'string');
  expect('limits', 'object');
  const port = config.port as number | undefined;
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65_535)) {
    throw new SbmpError('bad_config', `config file ${path}: 'port' must be 0..65535`, {
      details: { option: 'port' },
    });
  }
  return config as ConfigFile;
}
