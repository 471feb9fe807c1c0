import { SbmpError } from '../core/errors.js';

/** Why a pool refused an operation; carried in `SbmpError.details.reason` for `pool_misuse`. */
export type PoolMisuseReason =
  | 'double_put'
  | 'double_release'
  | 'use_after_put'
  | 'not_from_pool'
  | 'not_the_acquired_view'
  | 'bad_size'
  | 'closed'
  | 'already_bound'
  | 'arena_released'
  | 'not_from_arena';

/** A typed `pool_misuse` error naming the pool and the reason. */
export function poolMisuse(pool: string, reason: PoolMisuseReason, message: string): SbmpError {
  return new SbmpError('pool_misuse', `pool ${pool}: ${message}`, { details: { pool, reason } });
}

/** Throws `bad_config` naming the option unless `value` is an integer in [min, max]. */
export function requireIntegerOption(option: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new SbmpError('bad_config', `options.${option} must be an integer in [${min}, ${max}]`, {
      details: { option, value: typeof value === 'number' ? value : String(value) },
    });
  }
  return value;
}

/** Throws `bad_config` naming the option unless `value` is a function. */
export function requireFunctionOption<F>(option: string, value: F | undefined): F {
  if (typeof value !== 'function') {
    throw new SbmpError('bad_config', `options.${option} must be a function`, { details: { option } });
  }
  return value;
}
