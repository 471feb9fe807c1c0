import { SbmpError } from './errors.js';

/** Longest key, in bytes. Keys are ASCII by construction, so bytes equal characters. */
export const MAX_KEY_BYTES = 256;

const SEGMENT = /^[A-Za-z0-9_.:=-]+$/;
const KEY = /^[A-Za-z0-9_.:=-]+(?:\/[A-Za-z0-9_.:=-]+)*$/;

/** True when `key` is a valid key: 1..256 bytes of `/`-separated segments of `[A-Za-z0-9_.:=-]`. */
export function isValidKey(key: unknown): key is string {
  return typeof key === 'string' && key.length > 0 && key.length <= MAX_KEY_BYTES && KEY.test(key);
}

/** Returns `key` when valid, else throws `bad_key` saying exactly what is wrong. */
export function validateKey(key: unknown): string {
  if (isValidKey(key)) return key;
  throw new SbmpError('bad_key', describeBadKey(key), { details: { key: String(key).slice(0, 300) } });
}

function describeBadKey(key: unknown): string {
  if (typeof key !== 'string') return `key must be a string, got ${typeof key}`;
  if (key.length === 0) return 'key is empty';
  if (key.length > MAX_KEY_BYTES)
    return `key is ${key.length} bytes, longer than the ${MAX_KEY_BYTES}-byte limit`;
  const segments = key.split('/');
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment.length === 0) return `key '${key}' has an empty segment (segment ${i + 1})`;
    if (!SEGMENT.test(segment)) {
      const bad = [...segment].find((c) => !SEGMENT.test(c));
      return `key '${key}' has character ${JSON.stringify(bad)} in segment ${i + 1}; allowed are A-Z a-z 0-9 _ . : = -`;
    }
  }
  return `key '${key}' is not valid`;
}

/**
 * A compiled subscription pattern. `*` matches exactly one segment; a trailing `>`
 * matches one or more segments. A pattern without wildcards matches only itself.
 */
export interface KeyPattern {
  readonly source: string;
  /** The literal part before the first wildcard (`orders/eu/` for `orders/eu/*`), for prefix scans. */
  readonly prefix: string;
  /** True when the pattern has no wildcard. */
  readonly exact: boolean;
  matches(key: string): boolean;
}

/** Validates and compiles `pattern` once; matching then costs one string compare or one regex test. */
export function compilePattern(pattern: unknown): KeyPattern {
  if (typeof pattern !== 'string' || pattern.length === 0 || pattern.length > MAX_KEY_BYTES) {
    throw new SbmpError('bad_pattern', `pattern must be a string of 1..${MAX_KEY_BYTES} bytes`, {
      details: { pattern: String(pattern).slice(0, 300) },
    });
  }
  const segments = pattern.split('/');
  let regex = '^';
  let prefix = '';
  let wild = false;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const sep = i === 0 ? '' : '/';
    if (segment === '>') {
      if (i !== segments.length - 1) {
        throw new SbmpError('bad_pattern', `pattern '${pattern}': '>' may only be the last segment`, {
          details: { pattern },
        });
      }
      regex += `${sep}[^/]+(?:/[^/]+)*`;
      wild = true;
    } else if (segment === '*') {
      regex += `${sep}[^/]+`;
      wild = true;
    } else if (SEGMENT.test(segment)) {
      regex += sep + segment.replace(/[.]/g, '\\.');
      if (!wild) prefix += sep + segment;
    } else {
      throw new SbmpError(
        'bad_pattern',
        `pattern '${pattern}' has an invalid segment ${JSON.stringify(segment)} (segment ${i + 1})`,
        { details: { pattern } },
      );
    }
  }
  if (!wild) {
    return { source: pattern, prefix: pattern, exact: true, matches: (key) => key === pattern };
  }
  // Prefix of a wildcard pattern always ends at a segment boundary.
  const literalPrefix = prefix.length > 0 ? `${prefix}/` : '';
  const compiled = new RegExp(`${regex}$`);
  return {
    source: pattern,
    prefix: literalPrefix,
    exact: false,
    matches: (key) => key.startsWith(literalPrefix) && compiled.test(key),
  };
}
