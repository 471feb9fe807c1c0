import { DEV_MODE } from './env.js';

/** W3C trace context carried with a snapshot from publish to every delivery. */
export interface TraceContext {
  /** `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>` */
  readonly traceparent: string;
  readonly tracestate?: string;
}

/**
 * The whole state of one entity at one version. Immutable once published: in
 * development mode `freezeSnapshot` deep-freezes it; in production nothing is copied.
 */
export interface Snapshot<T = unknown> {
  readonly key: string;
  /** 1..2^53-1, chosen by the producer or assigned by the store. */
  readonly version: number;
  /** Any JSON-compatible value, or bytes when `contentType` says what they are. */
  readonly state: T;
  /** Producer's wall clock, ms since the epoch. */
  readonly ts: number;
  /** Who produced it; used for loop detection when bridging. */
  readonly source: string;
  /** A tombstone: the key was deleted at this version. */
  readonly deleted?: boolean;
  /** Content type of `state` when it is bytes (e.g. `application/octet-stream`). */
  readonly contentType?: string;
  readonly trace?: TraceContext;
}

/** A snapshot as a store holds it: with the store's global revision. */
export interface StoredSnapshot<T = unknown> extends Snapshot<T> {
  readonly revision: number;
}

/** Deep-freezes `value` in development mode so a published state cannot be mutated; returns it. */
export function deepFreeze<T>(value: T): T {
  if (!DEV_MODE) return value;
  freezeValue(value);
  return value;
}

function freezeValue(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  // Typed arrays cannot be frozen while they have elements; their owner treats them as read-only.
  if (ArrayBuffer.isView(value)) return;
  Object.freeze(value);
  for (const child of Object.values(value)) freezeValue(child);
}

/** Freezes the snapshot and its state (development mode only) and returns it. */
export function freezeSnapshot<S extends Snapshot>(snapshot: S): S {
  return deepFreeze(snapshot);
}

/**
 * True when two states are the same content: JSON-equal values, or equal bytes.
 * Used to tell an idempotent retry (`duplicate`) from a `conflict` at the same version.
 */
export function sameState(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b);
  }
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameState(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ak = Object.keys(a);
  const bk = Object.keys(b);
  if (ak.length !== bk.length) return false;
  for (const k of ak) {
    if (!Object.hasOwn(b, k)) return false;
    if (!sameState((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/** Same content: same state, same tombstone flag, same content type. Timestamps and source do not count. */
export function sameContent(a: Snapshot, b: Snapshot): boolean {
  return (
    (a.deleted ?? false) === (b.deleted ?? false) &&
    (a.contentType ?? '') === (b.contentType ?? '') &&
    sameState(a.state, b.state)
  );
}
