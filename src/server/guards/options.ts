import { SbmpError } from '../../core/errors.js';

/**
 * Up-front checks for the guards' options. Each failure is `bad_config` and names the option,
 * so a typo in a config file is reported at start-up instead of surfacing as odd behaviour later.
 */

/** A fraction in (0, 1]: thresholds of the memory watermark and of the breaker. */
export function checkFraction(value: unknown, option: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 1) {
    throw badOption(option, `must be between 0 and 1 (a fraction such as 0.85), got ${String(value)}`);
  }
  return value;
}

/** An integer >= `min`, e.g. an interval or a timeout in ms. */
export function checkInteger(value: unknown, option: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw badOption(option, `must be an integer of at least ${min}, got ${String(value)}`);
  }
  return value;
}

/** A positive finite number (may be fractional, e.g. requests per second). */
export function checkPositive(value: unknown, option: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw badOption(option, `must be a positive number, got ${String(value)}`);
  }
  return value;
}

export function checkFunction<F>(value: unknown, option: string): F {
  if (typeof value !== 'function') throw badOption(option, `must be a function, got ${typeof value}`);
  return value as F;
}

export function badOption(option: string, problem: string): SbmpError {
  return new SbmpError('bad_config', `options.${option} ${problem}`, { details: { option } });
}
