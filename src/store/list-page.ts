import { SbmpError } from '../core/errors.js';
import { MAX_KEY_BYTES } from '../core/key.js';

/** Largest `limit` of a list page: 1000. The default is 100. */
export const MAX_LIST_LIMIT = 1000;
export const DEFAULT_LIST_LIMIT = 100;

const PREFIX = /^[A-Za-z0-9_.:=/-]*$/;

/** Validates a list prefix: '' (every key) or up to 256 bytes of key characters and `/`. */
export function validatePrefix(prefix: unknown): string {
  if (typeof prefix !== 'string' || prefix.length > MAX_KEY_BYTES || !PREFIX.test(prefix)) {
    throw new SbmpError(
      'bad_key',
      `prefix must be a string of at most ${MAX_KEY_BYTES} characters of A-Z a-z 0-9 _ . : = - /`,
      { details: { prefix: String(prefix).slice(0, 300) } },
    );
  }
  return prefix;
}

/** Validates a page size: an integer 1..1000, default 100; else `bad_request`. */
export function validateListLimit(limit: unknown): number {
  if (limit === undefined) return DEFAULT_LIST_LIMIT;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new SbmpError(
      'bad_request',
      `limit must be an integer from 1 to ${MAX_LIST_LIMIT}, got ${String(limit)}`,
    );
  }
  return limit;
}

/** A list cursor names the last key of the previous page, so a page starts right after it. */
export function encodeListCursor(lastKey: string): string {
  return Buffer.from(lastKey, 'utf8').toString('base64url');
}

/** The last key of the previous page; `bad_request` when the cursor is not one of ours for `prefix`. */
export function decodeListCursor(cursor: unknown, prefix: string): string {
  const lastKey = typeof cursor === 'string' ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  if (
    typeof cursor !== 'string' ||
    encodeListCursor(lastKey) !== cursor ||
    !lastKey.startsWith(prefix) ||
    lastKey.length === 0
  ) {
    throw new SbmpError('bad_request', 'cursor is not a cursor of this listing', {
      details: { cursor: String(cursor).slice(0, 300) },
    });
  }
  return lastKey;
}

/**
 * Where a page starts in `sortedKeys`: right after the cursor's key, or at the first key
 * with `prefix`. Binary search, so paging through n keys costs O(log n) per page.
 */
export function listStartIndex(
  sortedKeys: readonly string[],
  prefix: string,
  cursor: string | undefined,
): number {
  const after = cursor === undefined ? undefined : decodeListCursor(cursor, prefix);
  let lo = 0;
  let hi = sortedKeys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const key = sortedKeys[mid]!;
    const before = after === undefined ? key < prefix : key <= after;
    if (before) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
