import { messageOf, systemCodeOf } from './check.js';
import { type ProbeResponse, probeFirstEvent, probeGet } from './http-probe.js';

/** Time each request to the live server may take: 2 s. */
export const LIVE_PROBE_TIMEOUT_MS = 2000;

export type Outcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string };

/** The parts of a server's health report the checks use; any of them may be missing from an older server. */
export interface LiveFigures {
  /** Where the figures came from: `/debug/vars` or the health stream. */
  readonly source: string;
  readonly serverId?: string;
  readonly status?: string;
  readonly lagP99Ms?: number;
  readonly rssBytes?: number;
  readonly store?: { readonly kind?: string; readonly revision?: number; readonly live?: boolean };
  /** The server's memory watermark: its limit, where that came from, and the state. */
  readonly memoryGuard?: {
    readonly state?: string;
    readonly ratio?: number;
    readonly usageBytes?: number;
    readonly limitBytes?: number;
    readonly limitSource?: string;
  };
  /** Names of the pools the server reports (from `/debug/vars` only). */
  readonly poolNames?: readonly string[];
}

/** What a running server answered, gathered once and read by several checks. */
export interface LiveServer {
  readonly url: string;
  readonly healthz: Outcome<ProbeResponse>;
  /** Undefined when `/healthz` was not reachable. */
  readonly readyz?: Outcome<ProbeResponse>;
  readonly figures?: Outcome<LiveFigures>;
}

/**
 * Asks the server at `url` for `/healthz`, `/readyz` and its runtime figures (`/debug/vars`,
 * or the first event of `/sbmp/v3/health/stream` when the debug endpoint is refused). Never
 * throws: each answer is an outcome.
 */
export async function probeLiveServer(url: string): Promise<LiveServer> {
  const base = url.replace(/\/+$/, '');
  const healthz = await outcome(probeGet(`${base}/healthz`, LIVE_PROBE_TIMEOUT_MS));
  if (!healthz.ok) return { url: base, healthz };
  const readyz = await outcome(probeGet(`${base}/readyz`, LIVE_PROBE_TIMEOUT_MS));
  const figures = await outcome(readFigures(base));
  return { url: base, healthz, readyz, figures };
}

async function readFigures(base: string): Promise<LiveFigures> {
  const vars = await outcome(probeGet(`${base}/debug/vars`, LIVE_PROBE_TIMEOUT_MS));
  if (vars.ok && vars.value.status === 200) {
    const body = parseObject(vars.value.body);
    const pools = Array.isArray(body.pools) ? body.pools : [];
    return {
      ...figuresFrom(asObject(body.health), '/debug/vars'),
      poolNames: pools.map((p) => asObject(p).name).filter((n): n is string => typeof n === 'string'),
    };
  }
  const data = await probeFirstEvent(`${base}/sbmp/v3/health/stream`, 'health', LIVE_PROBE_TIMEOUT_MS);
  return figuresFrom(parseObject(data), 'the health stream');
}

function figuresFrom(health: Record<string, unknown>, source: string): LiveFigures {
  const lag = asObject(health.eventLoopLag);
  const memory = asObject(health.memory);
  const store = asObject(health.store);
  const memoryGuard = asObject(asObject(health.guards).memory);
  return {
    source,
    ...(typeof health.serverId === 'string' ? { serverId: health.serverId } : {}),
    ...(typeof health.status === 'string' ? { status: health.status } : {}),
    ...(typeof lag.p99Ms === 'number' ? { lagP99Ms: lag.p99Ms } : {}),
    ...(typeof memory.rssBytes === 'number' ? { rssBytes: memory.rssBytes } : {}),
    ...(typeof memoryGuard.limitBytes === 'number'
      ? {
          memoryGuard: {
            ...pickTyped(memoryGuard, 'state', 'string'),
            ...pickTyped(memoryGuard, 'ratio', 'number'),
            ...pickTyped(memoryGuard, 'usageBytes', 'number'),
            limitBytes: memoryGuard.limitBytes,
            ...pickTyped(memoryGuard, 'limitSource', 'string'),
          },
        }
      : {}),
    ...(health.store === undefined
      ? {}
      : {
          store: {
            ...(typeof store.kind === 'string' ? { kind: store.kind } : {}),
            ...(typeof store.revision === 'number' ? { revision: store.revision } : {}),
            ...(typeof store.live === 'boolean' ? { live: store.live } : {}),
          },
        }),
  };
}

/** `{ [key]: value }` when `object[key]` has `type`, else `{}`. */
function pickTyped(
  object: Record<string, unknown>,
  key: string,
  type: 'string' | 'number',
): Record<string, unknown> {
  return typeof object[key] === type ? { [key]: object[key] } : {};
}

/** The JSON object in `text`; `{}` for anything else, so a strange answer reads as missing figures. */
export function parseObject(text: string): Record<string, unknown> {
  try {
    return asObject(JSON.parse(text));
  } catch {
    return {};
  }
}

function asObject(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

async function outcome<T>(work: Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await work };
  } catch (error) {
    const code = systemCodeOf(error);
    const message = messageOf(error);
    return {
      ok: false,
      error: code !== undefined && !message.includes(code) ? `${code} ${message}` : message,
    };
  }
}
