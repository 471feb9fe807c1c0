import { Packr } from 'msgpackr';
import { SbmpError } from '../core/errors.js';
import type { StateEncoding } from './frame-types.js';

/**
 * State bytes: how a snapshot's state travels inside PUBLISH and SNAPSHOTS frames. A connection
 * chooses MessagePack (the default) or JSON in HELLO; a frame's `contentType` overrides it, and
 * any content type other than the two below marks the state as opaque bytes passed through as
 * they are.
 *
 * States are JSON-compatible values in both encodings, so a state published as MessagePack and
 * delivered as JSON (or back) is the same value: null, booleans, finite numbers, strings, arrays
 * and plain objects. Object properties whose value is `undefined` are left out, as
 * `JSON.stringify` does. Everything else (functions, symbols, BigInt, NaN, Infinity, Date, Map,
 * class instances, typed arrays, `undefined` array items, circular references, a `__proto__`
 * key, nesting deeper than `MAX_STATE_DEPTH`) is `bad_state`, naming where it was found.
 */

export const STATE_CONTENT_TYPE = {
  msgpack: 'application/msgpack',
  json: 'application/json',
} as const satisfies { readonly [E in StateEncoding]: string };

/** Deepest nesting of arrays and objects in a state: 256 levels. Deeper is `bad_state`. */
export const MAX_STATE_DEPTH = 256;

// useRecords: false writes plain maps (no msgpackr-only record extension another language could
// not read); moreTypes: false keeps to standard MessagePack types; skipValues drops undefined
// properties as JSON does. Keys are written in insertion order, as JSON.stringify does.
const packr = new Packr({
  useRecords: false,
  moreTypes: false,
  mapsAsObjects: true,
  skipValues: [undefined],
} as ConstructorParameters<typeof Packr>[0]);

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

function badState(message: string, cause?: unknown): SbmpError {
  return new SbmpError('bad_state', message, cause === undefined ? {} : { cause });
}

function where(path: readonly (string | number)[]): string {
  let text = 'state';
  for (const segment of path) {
    text +=
      typeof segment === 'number'
        ? `[${segment}]`
        : /^[A-Za-z_$][\w$]*$/.test(segment)
          ? `.${segment}`
          : `[${JSON.stringify(segment)}]`;
  }
  return text;
}

function describe(value: unknown): string {
  if (typeof value === 'object' && value !== null) {
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor
      ?.name;
    return `a ${name ?? 'non-plain object'}`;
  }
  if (typeof value === 'number') return String(value);
  return `a ${typeof value}`;
}

/** Names the first place the walk came back to an object it was already inside. */
function describeCycle(
  ancestors: readonly object[],
  value: object,
  path: readonly (string | number)[],
): string {
  const chain = [...ancestors, value];
  for (let depth = 1; depth < chain.length; depth++) {
    const first = chain.indexOf(chain[depth]!);
    if (first < depth) {
      return `${where(path.slice(0, depth))} is a circular reference to ${where(path.slice(0, first))}`;
    }
  }
  return `${where(path)} is a circular reference`;
}

/**
 * Throws `bad_state` unless `value` is JSON-compatible (see the module comment). Recursive, but
 * never deeper than `MAX_STATE_DEPTH`; a circular structure is caught at that depth.
 * `allowUndefinedProperties`: true when encoding (they are dropped), false for decoded values.
 */
function checkJsonCompatible(
  value: unknown,
  ancestors: object[],
  path: (string | number)[],
  allowUndefinedProperties: boolean,
): void {
  switch (typeof value) {
    case 'string':
      if (isWellFormed(value)) return;
      throw badState(`${where(path)} has a lone surrogate, which UTF-8 cannot carry`);
    case 'boolean':
      return;
    case 'number':
      if (Number.isFinite(value)) return;
      throw badState(`${where(path)} is ${value}; JSON-compatible states hold finite numbers only`);
    case 'object':
      if (value === null) return;
      break;
    default:
      throw badState(`${where(path)} is ${describe(value)}; states must be JSON-compatible`);
  }
  if (ancestors.length >= MAX_STATE_DEPTH) {
    if (ancestors.includes(value)) throw badState(describeCycle(ancestors, value, path));
    throw badState(`${where(path)} is nested deeper than ${MAX_STATE_DEPTH} levels`);
  }
  ancestors.push(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      path.push(i);
      if (item === undefined) throw badState(`${where(path)} is undefined; JSON would turn it into null`);
      checkJsonCompatible(item, ancestors, path, allowUndefinedProperties);
      path.pop();
    }
  } else {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw badState(
        `${where(path)} is ${describe(value)}; only plain objects and arrays are JSON-compatible`,
      );
    }
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const item = record[key];
      path.push(key);
      if (key === '__proto__') throw badState(`${where(path)}: the key '__proto__' is not allowed`);
      if (!isWellFormed(key)) throw badState(`${where(path)}: a property name has a lone surrogate`);
      if (item === undefined) {
        if (!allowUndefinedProperties) throw badState(`${where(path)} is undefined`);
      } else {
        checkJsonCompatible(item, ancestors, path, allowUndefinedProperties);
      }
      path.pop();
    }
  }
  ancestors.pop();
}

/** False when `text` has a lone surrogate: UTF-8 cannot carry it (it would come back as U+FFFD). */
function isWellFormed(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}

export interface EncodeStateOptions {
  /**
   * Refuse object properties whose value is `undefined` instead of leaving them out. Stores
   * use it: a state they hold in memory must equal what they would read back. Default false.
   */
  readonly strict?: boolean;
}

/**
 * Encodes a JSON-compatible state as MessagePack or UTF-8 JSON. Returns a new buffer owned by
 * the caller (never a view into an encoder's shared scratch memory). Throws `bad_state` for a
 * value that is not JSON-compatible, saying where. This is the one definition of a valid state.
 */
export function encodeState(
  value: unknown,
  encoding: StateEncoding,
  options?: EncodeStateOptions,
): Uint8Array {
  if (value === undefined) throw badState('state is undefined');
  checkJsonCompatible(value, [], [], options?.strict !== true);
  if (encoding === 'json') return textEncoder.encode(JSON.stringify(value));
  if (encoding !== 'msgpack') {
    throw new SbmpError('bad_request', `state encoding must be 'msgpack' or 'json', got ${String(encoding)}`);
  }
  let packed: Uint8Array;
  try {
    packed = packr.pack(value);
  } catch (cause) {
    throw badState('state cannot be encoded as MessagePack', cause);
  }
  // msgpackr returns a slice of a scratch buffer it shares between calls; copying gives the
  // caller an exactly-sized buffer that pins nothing else.
  return new Uint8Array(packed);
}

/**
 * Which state encoding a content type names: `application/msgpack` or `application/json`
 * (case and parameters such as `; charset=utf-8` ignored), else `undefined` (opaque bytes).
 */
export function stateEncodingOf(contentType: string): StateEncoding | undefined {
  // Every entry of a stream usually carries the same content type: answer a repeat without
  // slicing and lower-casing it again.
  if (contentType === lastContentType) return lastEncoding;
  const semicolon = contentType.indexOf(';');
  const mediaType = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  const encoding =
    mediaType === STATE_CONTENT_TYPE.msgpack
      ? 'msgpack'
      : mediaType === STATE_CONTENT_TYPE.json
        ? 'json'
        : undefined;
  lastContentType = contentType;
  lastEncoding = encoding;
  return encoding;
}

let lastContentType: string | undefined;
let lastEncoding: StateEncoding | undefined;

/**
 * Decodes state bytes. `encodingOrContentType` is a connection's encoding (`'msgpack'`,
 * `'json'`) or a frame's content type; a content type other than MessagePack or JSON means
 * opaque bytes, which come back as they are (the same `Uint8Array`, not a copy). Resolve an
 * empty frame content type to the connection's encoding before calling. Throws `bad_state`
 * when the bytes do not decode, or decode to something that is not JSON-compatible.
 */
export function decodeState(bytes: Uint8Array, encodingOrContentType: StateEncoding | string): unknown {
  const encoding =
    encodingOrContentType === 'msgpack' || encodingOrContentType === 'json'
      ? encodingOrContentType
      : stateEncodingOf(encodingOrContentType);
  if (encoding === undefined) return bytes;
  let value: unknown;
  try {
    value = encoding === 'json' ? JSON.parse(textDecoder.decode(bytes)) : packr.unpack(bytes);
  } catch (cause) {
    throw badState(`state is not valid ${encoding === 'json' ? 'UTF-8 JSON' : 'MessagePack'}`, cause);
  }
  checkJsonCompatible(value, [], [], false);
  return value;
}
