import type { StateEncoding } from '../codec/frame-types.js';
import { encodeState } from '../codec/state.js';
import { SbmpError } from '../core/errors.js';
import { validateKey } from '../core/key.js';
import type { TraceContext } from '../core/snapshot.js';
import { validateVersion } from '../core/version.js';
import type { PublishRequest } from './publish-queue.js';

export interface PublishOptions {
  /** Publish exactly this version (1..2^53-1). Omitted: the server assigns current+1. */
  readonly version?: number;
  /** Compare-and-set: apply only if the current version is exactly this (0: key never written). */
  readonly ifVersion?: number;
  /** Publish a tombstone: the key is deleted at this version. */
  readonly deleted?: boolean;
  /** Send `state` (a Uint8Array) as opaque bytes of this content type instead of encoding it. */
  readonly contentType?: string;
  /** Producer's wall clock in ms; default `Date.now()`. */
  readonly ts?: number;
  readonly trace?: TraceContext;
  /** Aborting rejects the publish with `aborted` (one already sent may still be applied). */
  readonly signal?: AbortSignal;
}

/**
 * Validates a publish and makes its PUBLISH frame (request id 0 until it is sent), so bad input
 * fails before anything is queued. A state to encode is encoded now, so a later change to the
 * caller's object cannot alter what is sent. A byte state (`contentType`) is the caller's own
 * buffer: the frame that carries it is encoded, which copies the bytes, as the publish is sent,
 * and the queue copies them first when the publish has to wait (`borrowsState`).
 * `maxStateBytes` is the server's limit from WELCOME (0 when not known yet).
 */
export function buildPublishRequest(
  key: string,
  state: unknown,
  options: PublishOptions,
  encoding: StateEncoding,
  maxStateBytes: number,
): PublishRequest {
  validateKey(key);
  if (options.version !== undefined) validateVersion(options.version);
  if (options.ifVersion !== undefined && options.ifVersion !== 0)
    validateVersion(options.ifVersion, 'ifVersion');
  let bytes: Uint8Array;
  if (options.contentType !== undefined) {
    if (!(state instanceof Uint8Array)) {
      throw new SbmpError(
        'bad_state',
        `a publish with contentType '${options.contentType}' needs a Uint8Array state, got ${typeof state}`,
        { details: { key } },
      );
    }
    bytes = state;
  } else {
    bytes = encodeState(state, encoding);
  }
  if (maxStateBytes > 0 && bytes.length > maxStateBytes) {
    throw new SbmpError(
      'too_large',
      `state of '${key}' is ${bytes.length} bytes encoded, above the server's ${maxStateBytes}-byte limit`,
      { details: { key, bytes: bytes.length, limit: maxStateBytes } },
    );
  }
  // Built in one go, optional fields only when present: no temporary objects per publish.
  const frame: PublishRequest = {
    type: 'publish',
    requestId: 0,
    key,
    state: bytes,
    ts: options.ts ?? Date.now(),
  };
  if (options.version !== undefined) frame.version = options.version;
  if (options.ifVersion !== undefined) frame.ifVersion = options.ifVersion;
  if (options.deleted === true) frame.deleted = true;
  if (options.contentType !== undefined) frame.contentType = options.contentType;
  if (options.trace !== undefined) frame.trace = options.trace;
  return frame;
}

/** True when `request` still carries the caller's own bytes (see `buildPublishRequest`). */
export function borrowsState(request: PublishRequest): boolean {
  return request.contentType !== undefined;
}
