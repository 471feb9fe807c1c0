import { SbmpError } from '../../core/errors.js';

/** Multipliers by unit, case ignored: decimal units are powers of 1000, binary ones of 1024. */
const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  kib: 1024,
  m: 1e6,
  mb: 1e6,
  mib: 1024 ** 2,
  g: 1e9,
  gb: 1e9,
  gib: 1024 ** 3,
  t: 1e12,
  tb: 1e12,
  tib: 1024 ** 4,
};

/**
 * Parses a byte size such as `512MB`, `1.5GiB` or `65536` (the `--memory-limit` flag and the
 * `memoryLimit` config key). Fractions are rounded down to whole bytes. Anything else, or a size
 * below 1 byte or above 2^53-1, is `bad_config` with a message naming `what`.
 */
export function parseByteSize(text: string, what: string): number {
  const match = typeof text === 'string' ? /^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$/.exec(text) : null;
  const unit = match === null ? undefined : UNITS[match[2]!.toLowerCase()];
  if (match === null || unit === undefined) {
    throw new SbmpError(
      'bad_config',
      `${what} must be a size such as 512MB, 1GiB or a number of bytes, got '${String(text)}'`,
      { details: { option: what } },
    );
  }
  const bytes = Math.floor(Number(match[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    throw new SbmpError('bad_config', `${what} must be from 1 byte to 2^53-1 bytes, got '${text}'`, {
      details: { option: what },
    });
  }
  return bytes;
}
