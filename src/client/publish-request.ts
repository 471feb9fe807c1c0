import type { StateEncoding } from '../codec/frame-types.js';
import { encodeState } from '../codec/state.js';
import { copyKept } from '../core/byte-slab.js';
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
 * Validates a publish and encodes its state now, so bad input fails before anything is queued
 * and a later change to the caller's object cannot alter what is sent. `maxStateBytes` is the
 * server's limit from WELCOME (0 when not known yet).
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
    // A copy, so a caller reusing its buffer cannot change a queued publish (`slice` on a Node
    // Buffer would be a view, not a copy).
    bytes = copyKept(state);
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
  return {
    key,
    state: bytes,
    ts: options.ts ?? Date.now(),
    ...(options.version === undefined ? {} : { version: options.version }),
    ...(options.ifVersion === undefined ? {} : { ifVersion: options.ifVersion }),
    ...(options.deleted === true ? { deleted: true } : {}),
    ...(options.contentType === undefined ? {} : { contentType: options.contentType }),
    ...(options.trace === undefined ? {} : { trace: options.trace }),
  };
}
