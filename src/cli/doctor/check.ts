import type { ServeSettings } from '../serve-config.js';
import type { LiveServer } from './live-server.js';

/**
 * - `pass`: checked and fine;
 * - `fail`: checked and wrong; the result carries the fix, and `sbmp doctor` exits 1;
 * - `skip`: the check does not apply here (nothing configured for it, or what it needs failed
 *   and is reported by another check); the finding says which.
 */
export type CheckStatus = 'pass' | 'fail' | 'skip';

/** One line of the doctor's report. Plain data: `--format json` prints an array of these. */
export interface CheckResult {
  /** Stable, kebab-case: `config`, `store-data`, `port`, `server-ready`, ... */
  readonly name: string;
  readonly status: CheckStatus;
  /** What was found, with the figures behind the verdict. */
  readonly finding: string;
  /** What to do about a failure; only on `fail`. */
  readonly fix?: string;
}

export function pass(name: string, finding: string): CheckResult {
  return { name, status: 'pass', finding };
}

export function fail(name: string, finding: string, fix: string): CheckResult {
  return { name, status: 'fail', finding, fix };
}

export function skip(name: string, finding: string): CheckResult {
  return { name, status: 'skip', finding };
}

/** What `sbmp doctor` was asked to check: the serve flags plus the doctor's own. */
export interface DoctorInput {
  readonly config?: string;
  readonly store?: string;
  readonly port?: number;
  readonly host?: string;
  /** As typed: parsing it is one of the checks. */
  readonly memoryLimit?: string;
  /** A NATS server to check for JetStream, e.g. `nats://127.0.0.1:4222`. */
  readonly nats?: string;
  /** A running server (`http://host:port`) to check from outside. */
  readonly url?: string;
  /** A PEM (or DER) certificate file to check for validity and expiry. */
  readonly cert?: string;
}

/** Shared by every check group: the input, the settings `sbmp serve` would use, and the live server's answers. */
export interface DoctorContext {
  readonly input: DoctorInput;
  /** Undefined when the config did not load (the `config` check says why). */
  readonly settings: ServeSettings | undefined;
  /** Undefined without `--url`. */
  readonly live: LiveServer | undefined;
}

/** A set of related checks, run as one unit with a time bound. */
export interface CheckGroup {
  /** Named in the failure reported when the group throws or overruns. */
  readonly name: string;
  /** Longest the group may take. */
  readonly timeoutMs: number;
  run(ctx: DoctorContext): Promise<readonly CheckResult[]>;
}

/** For checks that need the settings: the line to print when the config did not load. */
export function skipWithoutSettings(name: string): CheckResult {
  return skip(name, 'not checked: the configuration did not load (see the config check)');
}

/** `12.3 MiB`: sizes in findings, in binary units like the memory figures they are compared with. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** The message of anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The system error code (ECONNREFUSED, EADDRINUSE, ...) behind a failure, wherever in its cause chain. */
export function systemCodeOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current !== null && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
