/**
 * The one error class of SBMP. Expected outcomes (stale, duplicate, conflict) are
 * values (see `ApplyResult`); an `SbmpError` is thrown only for failures and bad input.
 * Every code has one HTTP status, defined here and nowhere else.
 */
export const ERROR_STATUS = {
  stale: 409,
  conflict: 409,
  bad_key: 400,
  bad_pattern: 400,
  bad_version: 400,
  bad_state: 400,
  bad_request: 400,
  bad_frame: 400,
  bad_config: 400,
  too_large: 413,
  not_found: 404,
  method_not_allowed: 405,
  unsupported_media_type: 415,
  unauthorized: 401,
  forbidden: 403,
  limit_exceeded: 429,
  overloaded: 503,
  unavailable: 503,
  closed: 503,
  timeout: 504,
  aborted: 499,
  corrupt_store: 500,
  pool_unregistered: 500,
  pool_misuse: 500,
  internal: 500,
} as const;

export type SbmpErrorCode = keyof typeof ERROR_STATUS;

/** Codes a caller may retry after a while without changing the request. */
const RETRYABLE: ReadonlySet<SbmpErrorCode> = new Set([
  'overloaded',
  'unavailable',
  'timeout',
  'limit_exceeded',
]);

export interface SbmpErrorOptions {
  cause?: unknown;
  /** Machine-readable facts about the failure, e.g. `{ current: 17 }` for a stale put. */
  details?: Record<string, unknown>;
}

export class SbmpError extends Error {
  override readonly name = 'SbmpError';
  readonly code: SbmpErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: SbmpErrorCode, message: string, options: SbmpErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.retryable = RETRYABLE.has(code);
    this.details = options.details;
  }

  /** The JSON body served for this error: `{ code, message, ...details }`. */
  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...this.details };
  }
}

/** True when `err` is an `SbmpError`, and, when `code` is given, carries that code. */
export function isSbmpError(err: unknown, code?: SbmpErrorCode): err is SbmpError {
  return err instanceof SbmpError && (code === undefined || err.code === code);
}

export function isErrorCode(value: unknown): value is SbmpErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_STATUS, value);
}
