import type { TraceContext } from '../core/snapshot.js';
import {
  badFrame,
  lenFieldSize,
  type ProtoWriter,
  SHORT_STRING,
  tagOf,
  utf8Length,
  varintSize,
  WireType,
} from './protobuf-wire.js';
import { TRACE_FIELD } from './wire-schema.js';

/*
 * Encoding is two passes over the frame: `sizeOf*` validates every value and adds up the exact
 * size, then `write*` fills one Uint8Array of that size. Every field number is below 16, so every
 * tag is one byte (the `1 +` in the sizers). Fields are written in field-number order, zero /
 * empty / false values of implicit-presence fields are left out, and `optional` fields are
 * written whenever they are defined: the output is canonical, so equal frames give equal bytes.
 */

export const V = WireType.varint;
export const L = WireType.len;

export function uint64(value: unknown, what: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  throw badFrame(`${what} must be an integer from 0 to 2^53-1, got ${String(value)}`);
}

export function uint32(value: unknown, what: string): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffffffff) return value;
  throw badFrame(`${what} must be an integer from 0 to 2^32-1, got ${String(value)}`);
}

export function text(value: unknown, what: string): string {
  if (typeof value === 'string') return value;
  throw badFrame(`${what} must be a string, got ${typeof value}`);
}

export function required(value: string, what: string): string {
  if (value.length === 0) throw badFrame(`${what} is required`);
  return value;
}

export function bytesOf(value: unknown, what: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  throw badFrame(`${what} must be a Uint8Array`);
}

/** Size of an implicit-presence varint field: nothing when 0. */
export function varintField(value: number): number {
  return value === 0 ? 0 : 1 + varintSize(value);
}

/** Size of an `optional` varint field: present whenever defined, even when 0. */
export function optionalVarintField(value: number | undefined): number {
  return value === undefined ? 0 : 1 + varintSize(value);
}

export function stringField(value: string): number {
  return value.length === 0 ? 0 : 1 + lenFieldSize(measuredUtf8Length(value));
}

export function optionalString(value: unknown, what: string): string {
  return value === undefined ? '' : text(value, what);
}

export function writeVarintField(w: ProtoWriter, field: number, value: number): void {
  if (value === 0) return;
  w.tag(tagOf(field, V));
  w.varint(value);
}

export function writeOptionalVarintField(w: ProtoWriter, field: number, value: number | undefined): void {
  if (value === undefined) return;
  w.tag(tagOf(field, V));
  w.varint(value);
}

export function writeBoolField(w: ProtoWriter, field: number, value: boolean | undefined): void {
  if (value !== true) return;
  w.tag(tagOf(field, V));
  w.varint(1);
}

export function writeStringField(w: ProtoWriter, field: number, value: string | undefined): void {
  if (value === undefined || value.length === 0) return;
  w.tag(tagOf(field, L));
  w.string(value, measuredUtf8Length(value));
}

export function writeBytesField(w: ProtoWriter, field: number, value: Uint8Array): void {
  if (value.length === 0) return;
  w.tag(tagOf(field, L));
  w.bytes(value);
}

// --- trace --------------------------------------------------------------------------------

export function sizeOfTrace(trace: TraceContext, what: string): number {
  const traceparent = required(text(trace.traceparent, `${what}.traceparent`), `${what}.traceparent`);
  return stringField(traceparent) + stringField(optionalString(trace.tracestate, `${what}.tracestate`));
}

export function traceField(trace: TraceContext | undefined, what: string): number {
  if (trace === undefined) return 0;
  if (trace === null || typeof trace !== 'object') throw badFrame(`${what} must be an object`);
  return 1 + lenFieldSize(sizeOfTrace(trace, what));
}

export function writeTraceField(w: ProtoWriter, field: number, trace: TraceContext | undefined): void {
  if (trace === undefined) return;
  w.tag(tagOf(field, L));
  w.varint(sizeOfTrace(trace, 'trace'));
  writeStringField(w, TRACE_FIELD.traceparent, trace.traceparent);
  writeStringField(w, TRACE_FIELD.tracestate, trace.tracestate);
}

const MEMO_SLOTS = 8;
const memoText: (string | undefined)[] = new Array(MEMO_SLOTS).fill(undefined);
const memoBytes = new Int32Array(MEMO_SLOTS);

/**
 * `utf8Length`, remembered for the last short strings measured, in 8 slots chosen by a string's
 * length. An encoder measures each string twice, once to size the frame and once to write its
 * length prefix, and the second look is usually a hit (a miss only when a string whose length
 * falls in the same slot was measured in between, such as another entry of a SNAPSHOTS frame).
 * A key, source or content type that recurs from frame to frame is a hit the first time too.
 * Equal strings have equal UTF-8 lengths, so a hit is exact whatever object it came from.
 * Encoding a 256-byte PUBLISH with a 19-character key and a 24-character content type went
 * from 561-624 to 469-508 ns (a million frames a round, Node 20), the scan being the frame's
 * costliest part. Only strings shorter than `SHORT_STRING` are remembered, as in the decoder's
 * `StringMemo`: the slots keep at most 8 such strings alive.
 */
function measuredUtf8Length(text: string): number {
  if (text.length >= SHORT_STRING) return utf8Length(text);
  const slot = text.length & (MEMO_SLOTS - 1);
  if (memoText[slot] === text) return memoBytes[slot]!;
  const bytes = utf8Length(text);
  memoText[slot] = text;
  memoBytes[slot] = bytes;
  return bytes;
}
