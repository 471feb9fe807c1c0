import { SbmpError } from '../core/errors.js';

/** How the client spaces reconnection attempts. */
export interface ReconnectOptions {
  /** Delay before the first attempt after a disconnect. Default 100 ms. */
  readonly initialDelayMs?: number;
  /** The delay doubles per failed attempt up to this cap. Default 10 000 ms. */
  readonly maxDelayMs?: number;
  /**
   * Fraction of each delay that is randomized, 0..1. Default 0.5: a delay of `d` becomes a
   * value in `[d * 0.5, d]`, so clients dropped together by one server do not return together.
   */
  readonly jitter?: number;
  /** Give up (and close the client with `unavailable`) after this many failed attempts. Default: never. */
  readonly maxAttempts?: number;
  /** `false` turns reconnection off: a disconnect closes the client. Default true. */
  readonly enabled?: boolean;
}

export type ResolvedReconnectOptions = Required<ReconnectOptions>;

export const RECONNECT_DEFAULTS: ResolvedReconnectOptions = {
  initialDelayMs: 100,
  maxDelayMs: 10_000,
  jitter: 0.5,
  maxAttempts: Number.POSITIVE_INFINITY,
  enabled: true,
};

export function resolveReconnectOptions(options: ReconnectOptions = {}): ResolvedReconnectOptions {
  const resolved = { ...RECONNECT_DEFAULTS, ...stripUndefined(options) };
  requireNumber(resolved.initialDelayMs, 'reconnect.initialDelayMs', 0);
  requireNumber(resolved.maxDelayMs, 'reconnect.maxDelayMs', resolved.initialDelayMs);
  requireNumber(resolved.jitter, 'reconnect.jitter', 0, 1);
  requireNumber(resolved.maxAttempts, 'reconnect.maxAttempts', 1);
  return resolved;
}

/**
 * Delay before reconnection attempt `attempt` (0-based): exponential from `initialDelayMs`,
 * capped at `maxDelayMs`, with the top `jitter` fraction randomized. A server's GOAWAY hint
 * (`floorMs`) is a lower bound: the delay is then spread over `[floor, floor * (1 + jitter)]`,
 * so a drained server's clients neither come back early nor all at once.
 */
export function backoffDelay(
  attempt: number,
  options: ResolvedReconnectOptions,
  floorMs = 0,
  random: () => number = Math.random,
): number {
  if (floorMs > 0) return floorMs * (1 + options.jitter * random());
  const exponential = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** Math.min(attempt, 52));
  return exponential * (1 - options.jitter * random());
}

function requireNumber(value: number, option: string, min: number, max = Number.POSITIVE_INFINITY): void {
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
    throw new SbmpError('bad_config', `${option} must be a number from ${min} to ${max}, got ${value}`, {
      details: { option },
    });
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
