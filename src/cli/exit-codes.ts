import { isSbmpError } from '../core/errors.js';

/**
 * Exit codes of every `sbmp` command, so scripts can branch on the outcome:
 *
 * | code | meaning                                                              |
 * |------|----------------------------------------------------------------------|
 * | 0    | success (a duplicate put counts: the server holds what was sent)      |
 * | 1    | failure: server unreachable, server error, start-up failure           |
 * | 2    | bad input: usage, key, version, JSON, state too large, bad config     |
 * | 3    | refused by the apply rules: `stale` or `conflict` (current version printed) |
 * | 4    | not found (`get` of a missing or deleted key)                         |
 */
export const EXIT = {
  ok: 0,
  failure: 1,
  badInput: 2,
  refused: 3,
  notFound: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const BAD_INPUT = new Set([
  'bad_key',
  'bad_pattern',
  'bad_version',
  'bad_state',
  'bad_request',
  'bad_config',
  'too_large',
]);

/** The exit code for a failure. */
export function exitCodeFor(error: unknown): ExitCode {
  if (!isSbmpError(error)) return EXIT.failure;
  if (BAD_INPUT.has(error.code)) return EXIT.badInput;
  if (error.code === 'stale' || error.code === 'conflict') return EXIT.refused;
  if (error.code === 'not_found') return EXIT.notFound;
  return EXIT.failure;
}
