import { SbmpError } from './errors.js';

/** Largest version: 2^53-1, the largest integer a JavaScript number (and JSON) carries exactly. */
export const MAX_VERSION = Number.MAX_SAFE_INTEGER;

export function isValidVersion(version: unknown): version is number {
  return typeof version === 'number' && Number.isSafeInteger(version) && version >= 1;
}

/** Returns `version` when it is an integer in 1..2^53-1, else throws `bad_version`. */
export function validateVersion(version: unknown, what = 'version'): number {
  if (isValidVersion(version)) return version;
  throw new SbmpError(
    'bad_version',
    `${what} must be an integer from 1 to ${MAX_VERSION}, got ${String(version)}`,
    {
      details: { version: typeof version === 'number' ? version : String(version) },
    },
  );
}

/**
 * Parses a decimal version as it arrives in a header or CLI argument (`"17"`, or an
 * ETag's `"\"17\""`). Anything else, including values beyond 2^53-1, is `bad_version`.
 */
export function parseVersion(text: string, what = 'version'): number {
  const unquoted = text
    .trim()
    .replace(/^W\//, '')
    .replace(/^"(.*)"$/, '$1');
  if (!/^[0-9]{1,16}$/.test(unquoted)) {
    throw new SbmpError(
      'bad_version',
      `${what} must be a decimal integer from 1 to ${MAX_VERSION}, got '${text}'`,
    );
  }
  return validateVersion(Number(unquoted), what);
}
