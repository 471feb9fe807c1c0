import { decodeState, encodeState, stateEncodingOf } from '../codec/state.js';
import type { ApplyResult } from '../core/apply.js';
import { copyKept } from '../core/byte-slab.js';
import { SbmpError } from '../core/errors.js';
import { validateKey } from '../core/key.js';
import type { Snapshot, StoredSnapshot, TraceContext } from '../core/snapshot.js';
import { MAX_VERSION, validateVersion } from '../core/version.js';
import type { PutOptions, SnapshotInput } from './types.js';

/** Default largest state, in bytes of its MessagePack encoding (or of the bytes themselves): 1 MiB. */
export const DEFAULT_MAX_STATE_BYTES = 1024 * 1024;
/** Longest `source` and `contentType`: 256 characters. */
export const MAX_LABEL_CHARS = 256;
/** Longest `trace.tracestate`: 512 characters (the W3C limit). */
export const MAX_TRACESTATE_CHARS = 512;

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** Store-wide settings the validation needs. */
export interface InputDefaults {
  readonly maxStateBytes: number;
  /** The `source` of snapshots put without one. */
  readonly source: string;
  /** The `ts` of snapshots put without one. */
  readonly clock: () => number;
}

/**
 * A put whose input passed every check, ready to be applied. `version` is undefined when the
 * store must assign `current + 1` at apply time (inside its write transaction).
 * `stateBytes` is the MessagePack encoding of `state` (the bytes themselves for a byte state);
 * it was measured against the size limit and durable stores keep it as is.
 */
export interface PreparedPut {
  readonly key: string;
  readonly version: number | undefined;
  readonly ifVersion: number | undefined;
  readonly state: unknown;
  readonly stateBytes: Uint8Array;
  readonly ts: number;
  readonly source: string;
  readonly deleted: boolean;
  readonly contentType: string | undefined;
  readonly trace: TraceContext | undefined;
}

/**
 * Checks everything about a put that does not depend on stored data, so bad input is refused
 * before anything is touched: key (`bad_key`), version and ifVersion (`bad_version`), state
 * (`bad_state`: not JSON-compatible, circular, too deep, lone surrogates; bytes only as the
 * whole state), size (`too_large`), and the labels (`bad_request`).
 */
export function preparePut(input: SnapshotInput, options: PutOptions | undefined, defaults: InputDefaults) {
  if (input === null || typeof input !== 'object') {
    throw new SbmpError('bad_request', 'snapshot must be an object');
  }
  const key = validateKey(input.key);
  const version = input.version === undefined ? undefined : validateVersion(input.version);
  const ifVersion = options?.ifVersion === undefined ? undefined : validateIfVersion(options.ifVersion);
  if (version === undefined && ifVersion === MAX_VERSION) {
    throw new SbmpError('bad_version', `ifVersion ${MAX_VERSION} leaves no next version to assign`, {
      details: { ifVersion },
    });
  }
  const deleted = input.deleted === undefined ? false : checkBoolean(input.deleted, 'deleted');
  // A tombstone needs no state; store null so every reader sees the same value.
  const state = deleted && input.state === undefined ? null : input.state;
  // Validates (bad_state) and encodes with the codec's one MessagePack encoder, so these bytes
  // can be delivered to MessagePack subscribers as they are.
  const encoded = state instanceof Uint8Array ? state : encodeState(state, 'msgpack', { strict: true });
  if (encoded.length > defaults.maxStateBytes) {
    throw new SbmpError(
      'too_large',
      `state of '${key}' is ${encoded.length} bytes, more than the ${defaults.maxStateBytes}-byte limit`,
      { details: { key, size: encoded.length, limit: defaults.maxStateBytes } },
    );
  }
  // Byte states are copied once here, so the store owns them and a caller reusing its buffer
  // cannot change a published state (nor can a kept state pin the caller's larger buffer).
  const stateBytes = encoded === state ? copyKept(encoded) : encoded;
  const contentType =
    input.contentType === undefined ? undefined : checkLabel(input.contentType, 'contentType');
  if (state instanceof Uint8Array && contentType !== undefined) checkLabelledBytes(state, contentType);
  const prepared: PreparedPut = {
    key,
    version: version ?? (ifVersion === undefined ? undefined : ifVersion + 1),
    ifVersion,
    // The store's own copy, decoded from the bytes it stores: a caller that changes its object
    // after the put (reusing it for the next update) cannot change what subscribers receive.
    state: state instanceof Uint8Array ? stateBytes : decodeState(stateBytes, 'msgpack'),
    stateBytes,
    ts: input.ts === undefined ? defaults.clock() : checkTs(input.ts),
    source: input.source === undefined ? defaults.source : checkLabel(input.source, 'source'),
    deleted,
    contentType,
    trace: input.trace === undefined ? undefined : checkTrace(input.trace),
  };
  return prepared;
}

/**
 * Bytes labelled as one of the state encodings must decode as it (`bad_state` otherwise):
 * every subscriber decodes them, and one that cannot would have to skip the snapshot.
 */
function checkLabelledBytes(bytes: Uint8Array, contentType: string): void {
  const encoding = stateEncodingOf(contentType);
  if (encoding !== undefined) decodeState(bytes, encoding);
}

function validateIfVersion(value: unknown): number {
  if (value === 0) return 0;
  return validateVersion(value, 'ifVersion');
}

/**
 * The version a prepared put writes, given the key's current version: its own, or
 * `current + 1` for `next`. A key already at 2^53-1 has no next version: `bad_version`.
 */
export function resolveVersion(prepared: PreparedPut, currentVersion: number): number {
  if (prepared.version !== undefined) return prepared.version;
  if (currentVersion >= MAX_VERSION) {
    throw new SbmpError('bad_version', `'${prepared.key}' is at version ${MAX_VERSION}; there is no next`, {
      details: { key: prepared.key, current: currentVersion },
    });
  }
  return currentVersion + 1;
}

/**
 * The snapshot a prepared put stores, at `version` and `revision`. A store that already holds
 * the key passes its string as `key`, so that every version kept shares one string.
 */
export function toStoredSnapshot(
  prepared: PreparedPut,
  version: number,
  revision: number,
  key: string = prepared.key,
): StoredSnapshot {
  // A byte state's content type is in the literal itself: added afterwards, it would cost every
  // kept snapshot a second object (a property array) for the garbage collector to copy.
  const { state, ts, source, contentType } = prepared;
  const snapshot: { -readonly [K in keyof StoredSnapshot]: StoredSnapshot[K] } =
    contentType !== undefined
      ? { key, version, revision, state, ts, source, contentType }
      : { key, version, revision, state, ts, source };
  if (prepared.deleted) snapshot.deleted = true;
  if (prepared.trace !== undefined) snapshot.trace = prepared.trace;
  return snapshot;
}

/**
 * The apply decision for a prepared put over `current` (SPEC §2, as `decideApply`), and the
 * version it would write. Only an equal version needs more of `current` than its version, and
 * then `compareContent` is asked: a store can keep its current record encoded until then.
 */
export function decidePut<Current extends { readonly version: number }>(
  current: Current | undefined,
  prepared: PreparedPut,
  compareContent: (current: Current, incoming: Snapshot) => boolean,
): { result: ApplyResult; version: number } {
  const currentVersion = current?.version ?? 0;
  if (prepared.ifVersion !== undefined && prepared.ifVersion !== currentVersion) {
    return { result: 'conflict', version: currentVersion };
  }
  const version = resolveVersion(prepared, currentVersion);
  if (current === undefined || version > currentVersion) return { result: 'applied', version };
  if (version < currentVersion) return { result: 'stale', version: currentVersion };
  const incoming = toStoredSnapshot(prepared, version, 0);
  return { result: compareContent(current, incoming) ? 'duplicate' : 'conflict', version: currentVersion };
}

function checkBoolean(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') throw new SbmpError('bad_request', `${what} must be a boolean`);
  return value;
}

function checkTs(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new SbmpError(
      'bad_request',
      `ts must be a finite number of ms since the epoch, got ${String(value)}`,
    );
  }
  return value;
}

function checkLabel(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_LABEL_CHARS) {
    throw new SbmpError('bad_request', `${what} must be a string of 1..${MAX_LABEL_CHARS} characters`);
  }
  return value;
}

function checkTrace(value: unknown): TraceContext {
  const trace = value as Partial<TraceContext> | null;
  if (trace === null || typeof trace !== 'object' || typeof trace.traceparent !== 'string') {
    throw new SbmpError('bad_request', 'trace must be an object with a traceparent');
  }
  if (!TRACEPARENT.test(trace.traceparent)) {
    throw new SbmpError('bad_request', `trace.traceparent '${trace.traceparent.slice(0, 80)}' is malformed`);
  }
  if (trace.tracestate === undefined) return { traceparent: trace.traceparent };
  if (typeof trace.tracestate !== 'string' || trace.tracestate.length > MAX_TRACESTATE_CHARS) {
    throw new SbmpError(
      'bad_request',
      `trace.tracestate must be a string of at most ${MAX_TRACESTATE_CHARS}`,
    );
  }
  return { traceparent: trace.traceparent, tracestate: trace.tracestate };
}

/** Validates `sinceRevision`: an integer 0..2^53-1; else `bad_request`. */
export function validateSinceRevision(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new SbmpError('bad_request', `sinceRevision must be an integer >= 0, got ${String(value)}`);
  }
  return value;
}
