import { SbmpError } from './errors.js';
import { isValidVersion, MAX_VERSION, validateVersion } from './version.js';

/**
 * A hybrid logical clock version is one integer, so it is a valid SBMP version and
 * compares with `<` like any other:
 *
 *   version = physicalMs * 2^10 + logical
 *
 *   bit 52 ............................ 10 9 ........ 0
 *       [ physical: ms since 1970, 43 bits ][ logical ]
 *
 * - 43 bits of milliseconds reach 2^43 ms = 8,796,093,022,208 ms ≈ 278.7 years, i.e. the
 *   year 2248; 11 logical bits would stop at 2109 and 12 at 2039, so 10 is the widest
 *   counter that leaves the clock a long life.
 * - 10 logical bits give 1,024 versions per millisecond (about a million per second) before
 *   the counter spills into the next millisecond. The spill is plain `+1` on the integer, so
 *   the clock stays monotonic and simply runs slightly ahead of the wall clock under load.
 * - The largest version, 2^53-1, is physical 2^43-1 with logical 1023.
 */
export const HLC_LOGICAL_BITS = 10;

/** 2^10: the number of logical ticks per millisecond. */
const LOGICAL_SPAN = 2 ** HLC_LOGICAL_BITS;

/** The largest physical time (ms since the epoch) a version can carry: 2^43-1. */
export const HLC_MAX_PHYSICAL_MS = Math.floor(MAX_VERSION / LOGICAL_SPAN);

/** Default for `maxDriftMs`: a remote clock more than a minute ahead of ours is refused. */
export const DEFAULT_MAX_DRIFT_MS = 60_000;

export interface HlcParts {
  /** Milliseconds since the epoch. */
  readonly physical: number;
  /** 0..1023: events within the same millisecond. */
  readonly logical: number;
}

export interface HybridLogicalClockOptions {
  /** The wall clock in ms since the epoch; default `Date.now`. Fractions are dropped. */
  now?: () => number;
  /**
   * How far (ms) a remote version's physical part may be ahead of our wall clock before
   * `update` refuses it with `bad_version`; default 60,000. Without this bound, one peer with
   * a clock set years ahead would drag every version far into the future for good.
   */
  maxDriftMs?: number;
  /**
   * Start strictly after this version, e.g. the highest version persisted before a restart,
   * so versions keep rising even when the machine's clock went back in between.
   */
  after?: number;
}

/** Splits a hybrid logical clock version into its physical (ms) and logical parts. */
export function decodeHlc(version: number): HlcParts {
  validateVersion(version);
  const logical = version % LOGICAL_SPAN;
  return { physical: (version - logical) / LOGICAL_SPAN, logical };
}

/** Builds the version for `physical` ms and `logical` tick; throws `bad_version` when out of range. */
export function encodeHlc(physical: number, logical = 0): number {
  if (!Number.isSafeInteger(physical) || physical < 0 || physical > HLC_MAX_PHYSICAL_MS) {
    throw new SbmpError(
      'bad_version',
      `HLC physical time must be an integer from 0 to ${HLC_MAX_PHYSICAL_MS} ms, got ${physical}`,
      { details: { physical } },
    );
  }
  if (!Number.isInteger(logical) || logical < 0 || logical >= LOGICAL_SPAN) {
    throw new SbmpError(
      'bad_version',
      `HLC logical counter must be an integer from 0 to ${LOGICAL_SPAN - 1}, got ${logical}`,
      { details: { logical } },
    );
  }
  return validateVersion(physical * LOGICAL_SPAN + logical, 'HLC version');
}

/**
 * A hybrid logical clock (Kulkarni et al.): versions that follow the wall clock closely, never
 * go backwards even when the wall clock does, and order causally across processes when every
 * received version is passed to `update`.
 */
export class HybridLogicalClock {
  readonly #wall: () => number;
  readonly #maxDriftMs: number;
  /** The last version handed out (0 before the first). */
  #last: number;

  constructor(options: HybridLogicalClockOptions = {}) {
    this.#wall = options.now ?? Date.now;
    const maxDriftMs = options.maxDriftMs ?? DEFAULT_MAX_DRIFT_MS;
    if (typeof maxDriftMs !== 'number' || !(maxDriftMs >= 0) || !Number.isFinite(maxDriftMs)) {
      throw new SbmpError(
        'bad_config',
        `options.maxDriftMs must be a finite number of ms >= 0, got ${String(maxDriftMs)}`,
      );
    }
    this.#maxDriftMs = maxDriftMs;
    this.#last = options.after === undefined ? 0 : validateVersion(options.after, 'options.after');
  }

  /** The last version handed out by `now` or `update` (0 before the first). */
  get last(): number {
    return this.#last;
  }

  /** A new version, strictly greater than every version this clock handed out or received. */
  now(): number {
    const candidate = this.#wallVersion();
    this.#last = candidate > this.#last ? candidate : this.#advance(this.#last);
    return this.#last;
  }

  /**
   * Merges a version received from another clock and returns a new version greater than
   * both it and everything this clock handed out. A remote version whose physical time is
   * more than `maxDriftMs` ahead of our wall clock is refused with `bad_version`, and the
   * clock is left unchanged.
   */
  update(remote: number): number {
    if (!isValidVersion(remote)) validateVersion(remote, 'remote HLC version');
    const candidate = this.#wallVersion();
    const remotePhysical = Math.floor(remote / LOGICAL_SPAN);
    const localPhysical = candidate / LOGICAL_SPAN;
    if (remotePhysical - localPhysical > this.#maxDriftMs) {
      throw new SbmpError(
        'bad_version',
        `remote clock is ${remotePhysical - localPhysical} ms ahead of the local clock, more than maxDriftMs ${this.#maxDriftMs}`,
        {
          details: {
            remote,
            remotePhysical,
            localPhysical,
            driftMs: remotePhysical - localPhysical,
            maxDriftMs: this.#maxDriftMs,
          },
        },
      );
    }
    const highest = remote > this.#last ? remote : this.#last;
    this.#last = candidate > highest ? candidate : this.#advance(highest);
    return this.#last;
  }

  /** The wall clock as a version with logical 0. */
  #wallVersion(): number {
    const wall = this.#wall();
    if (typeof wall !== 'number' || !Number.isFinite(wall) || wall < 0) {
      throw new SbmpError('bad_config', `the clock returned ${String(wall)}, not a time in ms since 1970`);
    }
    const physical = Math.floor(wall);
    if (physical > HLC_MAX_PHYSICAL_MS) {
      throw new SbmpError(
        'bad_version',
        `the clock reads ${physical} ms, beyond the last time an HLC version can hold (${HLC_MAX_PHYSICAL_MS} ms)`,
        { details: { physical } },
      );
    }
    return physical * LOGICAL_SPAN;
  }

  /** One logical tick after `version`; a full counter rolls into the next millisecond by itself. */
  #advance(version: number): number {
    if (version >= MAX_VERSION) {
      throw new SbmpError(
        'bad_version',
        `the hybrid logical clock reached the largest version ${MAX_VERSION}`,
      );
    }
    return version + 1;
  }
}
