import { SbmpError } from '../core/errors.js';
import type { RetentionPolicy } from './types.js';

/** Tombstones are kept 24 hours by default: long enough for a replica that was away a day to learn of deletes. */
export const DEFAULT_TOMBSTONE_MS = 24 * 60 * 60 * 1000;
/** By default a tombstone is also dropped once it is more than 1,000,000 revisions behind the newest. */
export const DEFAULT_MAX_REVISIONS = 1_000_000;

export interface ResolvedRetention {
  readonly tombstoneMs: number;
  readonly maxRevisions: number;
}

/**
 * Merges a `compact` call's policy over the store's defaults, refusing nonsense with `bad_config`
 * (negative or non-integer numbers). `Infinity` turns a rule off.
 */
export function resolveRetention(policy: RetentionPolicy | undefined, defaults: ResolvedRetention) {
  const resolved: ResolvedRetention = {
    tombstoneMs: check(policy?.tombstoneMs, defaults.tombstoneMs, 'tombstoneMs'),
    maxRevisions: check(policy?.maxRevisions, defaults.maxRevisions, 'maxRevisions'),
  };
  return resolved;
}

function check(value: unknown, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (value === Number.POSITIVE_INFINITY) return value;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new SbmpError(
      'bad_config',
      `retention ${what} must be an integer >= 0 or Infinity, got ${String(value)}`,
    );
  }
  return value;
}

/**
 * True when a tombstone written at `storedAt` (store clock) with `revision` is past retention:
 * older than `tombstoneMs`, or more than `maxRevisions` revisions behind `currentRevision`.
 */
export function tombstoneExpired(
  storedAt: number,
  revision: number,
  now: number,
  currentRevision: number,
  retention: ResolvedRetention,
): boolean {
  return now - storedAt >= retention.tombstoneMs || currentRevision - revision > retention.maxRevisions;
}
