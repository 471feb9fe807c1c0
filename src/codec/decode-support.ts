import type { SbmpError } from '../core/errors.js';
import type { TraceContext } from '../core/snapshot.js';
import { badFrame, type ProtoReader, WireType, wireTypeName } from './protobuf-wire.js';
import { TRACE_FIELD } from './wire-schema.js';

/** Helpers shared by the message decoders. */

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export const V = WireType.varint;
export const L = WireType.len;

/** Throws unless `tag` carries the wire type the schema gives its field. */
export function expect(tag: number, wireType: number, what: string): void {
  if ((tag & 7) !== wireType) {
    throw badFrame(
      `${what} (field ${tag >>> 3}) has wire type ${wireTypeName(tag & 7)}, expected ${wireTypeName(wireType)}`,
    );
  }
}

/**
 * Narrows the reader to the length-delimited field that starts at its position, and returns the
 * end to give back to `r.end` once the field is read. For a caller whose decoder would otherwise
 * need a closure (see `nested`).
 */
export function enterNested(r: ProtoReader, what: string): number {
  const length = r.length(what);
  const outerEnd = r.end;
  r.end = r.pos + length;
  return outerEnd;
}

/** Runs `decode` over the length-delimited field that starts at the reader's position. */
export function nested<T>(r: ProtoReader, what: string, decode: (r: ProtoReader) => T): T {
  const outerEnd = enterNested(r, what);
  const value = decode(r);
  r.end = outerEnd;
  return value;
}

export function missing(what: string): SbmpError {
  return badFrame(`${what} is missing`);
}

export function decodeTrace(r: ProtoReader): TraceContext {
  let traceparent = '';
  let tracestate = '';
  while (r.pos < r.end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case TRACE_FIELD.traceparent:
        expect(tag, L, 'trace.traceparent');
        traceparent = r.string('trace.traceparent');
        break;
      case TRACE_FIELD.tracestate:
        expect(tag, L, 'trace.tracestate');
        tracestate = r.string('trace.tracestate');
        break;
      default:
        r.skip(tag);
    }
  }
  if (traceparent === '') throw missing('trace.traceparent');
  return tracestate === '' ? { traceparent } : { traceparent, tracestate };
}

export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

/** Messages whose only field is one varint: UNSUBSCRIBE, PING, PONG. */
export function decodeSingleVarint(
  r: ProtoReader,
  field: number,
  what: string,
  read: 'uint32' | 'uint64',
): number {
  let value = 0;
  while (r.pos < r.end) {
    const tag = r.tag();
    if (tag >>> 3 === field) {
      expect(tag, V, what);
      value = read === 'uint32' ? r.uint32(what) : r.uint64(what);
    } else {
      r.skip(tag);
    }
  }
  return value;
}
