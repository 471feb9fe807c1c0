import { SbmpError } from '../../core/errors.js';
import type { TraceContext } from '../../core/snapshot.js';

/**
 * W3C Trace Context (`traceparent`, `tracestate`) and its equivalent from the seeds,
 * `X-SBMP-Trace-Context-V2: <32 hex trace id>-<16 hex span id>;w=<sampling weight>`.
 *
 * Everything the server keeps is W3C: the V2 header is converted on the way in (sampled flag
 * = weight > 0, the weight itself kept in `tracestate` as `sbmp=w:<weight>`) and rebuilt on
 * the way out from the stored `traceparent` and that `tracestate` entry. Malformed values are
 * refused with `bad_request` naming the header and what is wrong: a trace that silently
 * disappears is worse than a refused write the producer can fix.
 */

/** Header names, lower-case as Node reports them. */
export const TRACEPARENT_HEADER = 'traceparent';
export const TRACESTATE_HEADER = 'tracestate';
export const TRACE_CONTEXT_V2_HEADER = 'x-sbmp-trace-context-v2';

/** Longest `traceparent` accepted: 256 characters (a future version may append fields to the 55 of version 00). */
export const MAX_TRACEPARENT_CHARS = 256;
/** Longest `tracestate`: 512 characters, what W3C asks every vendor to propagate (and what stores keep). */
export const MAX_TRACESTATE_CHARS = 512;
/** Most `tracestate` list members: 32 (W3C). */
export const MAX_TRACESTATE_MEMBERS = 32;
/** Longest `X-SBMP-Trace-Context-V2` value: 128 characters (ids, separators and a weight). */
export const MAX_TRACE_CONTEXT_V2_CHARS = 128;
/** The `tracestate` key under which the V2 sampling weight travels. */
export const SBMP_TRACESTATE_KEY = 'sbmp';

/** The parts of a `traceparent`. */
export interface Traceparent {
  /** 32 lower-case hex digits, not all zero. */
  readonly traceId: string;
  /** 16 lower-case hex digits, not all zero: the producer's span. */
  readonly spanId: string;
  /** The trace flags byte; bit 0 is "sampled". */
  readonly flags: number;
}

/** The parts of an `X-SBMP-Trace-Context-V2` value. */
export interface TraceContextV2 {
  readonly traceId: string;
  readonly spanId: string;
  /** Sampling weight, a finite number >= 0; 0 means "not sampled". */
  readonly weight: number;
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const HEX2 = /^[0-9a-f]{2}$/;
const ZERO32 = '0'.repeat(32);
const ZERO16 = '0'.repeat(16);
/** W3C tracestate keys: a simple key, or `tenant@system`. */
const TRACESTATE_KEY = /^(?:[a-z][a-z0-9_*/-]{0,255}|[a-z0-9][a-z0-9_*/-]{0,240}@[a-z][a-z0-9_*/-]{0,13})$/;
/** W3C tracestate values: printable ASCII without `,` and `=`, not ending in a space. */
const TRACESTATE_VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
/** A decimal number, optionally with a fraction and an exponent (no sign: weights are >= 0). */
const WEIGHT = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

function bad(message: string, header: string): SbmpError {
  return new SbmpError('bad_request', message, { details: { header } });
}

function quote(text: string): string {
  return `'${text.slice(0, 80)}'`;
}

/**
 * Parses a `traceparent` (`<version>-<trace id>-<span id>-<flags>`, lower-case hex). Version
 * `00` must be exactly that; a higher version may append `-`-separated fields, which are
 * dropped (W3C: a receiver reads the fields it knows). Version `ff`, all-zero ids and
 * upper-case hex are invalid. Throws `bad_request` naming `header`.
 */
export function parseTraceparent(text: string, header = TRACEPARENT_HEADER): Traceparent {
  if (typeof text !== 'string') throw bad(`${header} must be a string`, header);
  const value = text.trim();
  if (value.length > MAX_TRACEPARENT_CHARS) {
    throw bad(`${header} is longer than ${MAX_TRACEPARENT_CHARS} characters`, header);
  }
  const version = value.slice(0, 2);
  const shape = '<version>-<32 hex trace id>-<16 hex span id>-<2 hex flags>, lower-case';
  if (!HEX2.test(version) || version === 'ff') {
    throw bad(`${header} ${quote(value)} has an invalid version; expected ${shape}`, header);
  }
  const tooLong = version === '00' ? value.length !== 55 : value.length > 55 && value[55] !== '-';
  const parts = value.slice(0, 55).split('-');
  if (tooLong || parts.length !== 4) {
    throw bad(`${header} ${quote(value)} is malformed; expected ${shape}`, header);
  }
  const [, traceId, spanId, flags] = parts as [string, string, string, string];
  if (!HEX32.test(traceId) || traceId === ZERO32) {
    throw bad(
      `${header} ${quote(value)}: the trace id must be 32 lower-case hex digits, not all zero`,
      header,
    );
  }
  if (!HEX16.test(spanId) || spanId === ZERO16) {
    throw bad(
      `${header} ${quote(value)}: the span id must be 16 lower-case hex digits, not all zero`,
      header,
    );
  }
  if (!HEX2.test(flags)) {
    throw bad(`${header} ${quote(value)}: the flags must be 2 lower-case hex digits`, header);
  }
  return { traceId, spanId, flags: Number.parseInt(flags, 16) };
}

/** `00-<trace id>-<span id>-<flags>`: the form SBMP stores and sends, whatever version came in. */
export function formatTraceparent(parts: Traceparent): string {
  return `00-${parts.traceId}-${parts.spanId}-${parts.flags.toString(16).padStart(2, '0')}`;
}

/**
 * Checks a `tracestate` and returns it normalized (members trimmed, empty members dropped,
 * joined by `,`), or undefined when it has no member. At most 32 members, each `key=value`
 * in the W3C grammar, no key twice, at most 512 characters. Throws `bad_request`.
 */
export function checkTracestate(text: string, header = TRACESTATE_HEADER): string | undefined {
  if (typeof text !== 'string') throw bad(`${header} must be a string`, header);
  const members: string[] = [];
  const keys = new Set<string>();
  for (const raw of text.split(',')) {
    const member = raw.trim();
    if (member === '') continue;
    const eq = member.indexOf('=');
    const key = eq < 0 ? member : member.slice(0, eq);
    const value = eq < 0 ? '' : member.slice(eq + 1);
    if (eq < 0 || !TRACESTATE_KEY.test(key) || !TRACESTATE_VALUE.test(value)) {
      throw bad(`${header} member ${quote(member)} is not key=value in the W3C tracestate grammar`, header);
    }
    if (keys.has(key)) throw bad(`${header} names the key '${key}' twice`, header);
    keys.add(key);
    members.push(member);
  }
  if (members.length > MAX_TRACESTATE_MEMBERS) {
    throw bad(`${header} has ${members.length} members, more than ${MAX_TRACESTATE_MEMBERS}`, header);
  }
  const normalized = members.join(',');
  if (normalized.length > MAX_TRACESTATE_CHARS) {
    throw bad(`${header} is longer than ${MAX_TRACESTATE_CHARS} characters`, header);
  }
  return normalized === '' ? undefined : normalized;
}

/**
 * Parses `X-SBMP-Trace-Context-V2: <32 hex trace id>-<16 hex span id>;w=<weight>`. Hex may be
 * either case (it is lower-cased); the weight is a non-negative decimal number and is required.
 * Unknown parameters are refused rather than ignored, so a typo cannot drop the weight.
 */
export function parseTraceContextV2(text: string, header = TRACE_CONTEXT_V2_HEADER): TraceContextV2 {
  if (typeof text !== 'string') throw bad(`${header} must be a string`, header);
  const value = text.trim();
  const shape = '<32 hex trace id>-<16 hex span id>;w=<sampling weight>';
  if (value.length > MAX_TRACE_CONTEXT_V2_CHARS) {
    throw bad(`${header} is longer than ${MAX_TRACE_CONTEXT_V2_CHARS} characters`, header);
  }
  const [ids = '', ...params] = value.split(';').map((part) => part.trim());
  const dash = ids.indexOf('-');
  const traceId = ids.slice(0, dash).toLowerCase();
  const spanId = ids.slice(dash + 1).toLowerCase();
  if (dash < 0 || !HEX32.test(traceId) || !HEX16.test(spanId)) {
    throw bad(`${header} ${quote(value)} is malformed; expected ${shape}`, header);
  }
  if (traceId === ZERO32 || spanId === ZERO16) {
    throw bad(`${header} ${quote(value)}: trace id and span id must not be all zero`, header);
  }
  let weight: number | undefined;
  for (const param of params) {
    const eq = param.indexOf('=');
    const name = (eq < 0 ? param : param.slice(0, eq)).trim();
    const raw = eq < 0 ? '' : param.slice(eq + 1).trim();
    if (name !== 'w')
      throw bad(`${header} has an unknown parameter ${quote(name)}; only w is defined`, header);
    if (weight !== undefined) throw bad(`${header} gives the weight twice`, header);
    const parsed = Number(raw);
    if (!WEIGHT.test(raw) || !Number.isFinite(parsed)) {
      throw bad(`${header} weight ${quote(raw)} must be a finite decimal number >= 0`, header);
    }
    weight = parsed;
  }
  if (weight === undefined) throw bad(`${header} ${quote(value)} has no weight; expected ${shape}`, header);
  return { traceId, spanId, weight };
}

/** The `tracestate` with `sbmp=w:<weight>` first and any older `sbmp` member removed (W3C: an updated member moves to the front). */
export function withSamplingWeight(tracestate: string | undefined, weight: number): string {
  const own = `${SBMP_TRACESTATE_KEY}=w:${String(weight)}`;
  const others = (tracestate ?? '')
    .split(',')
    .filter((member) => member !== '' && !member.startsWith(`${SBMP_TRACESTATE_KEY}=`));
  const joined = [own, ...others];
  // Members are dropped from the end when the new one pushes the list past a W3C limit.
  while (joined.length > MAX_TRACESTATE_MEMBERS || joined.join(',').length > MAX_TRACESTATE_CHARS)
    joined.pop();
  return joined.join(',');
}

/** The sampling weight of a stored trace: its `sbmp=w:` member, else 1 when sampled and 0 when not. */
export function samplingWeightOf(trace: TraceContext, parts: Traceparent): number {
  for (const member of (trace.tracestate ?? '').split(',')) {
    if (!member.startsWith(`${SBMP_TRACESTATE_KEY}=w:`)) continue;
    const raw = member.slice(SBMP_TRACESTATE_KEY.length + 3);
    const weight = Number(raw);
    if (WEIGHT.test(raw) && Number.isFinite(weight)) return weight;
  }
  return (parts.flags & 1) === 1 ? 1 : 0;
}

/**
 * The trace context of a write from its headers: `traceparent` (+ `tracestate`), or
 * `X-SBMP-Trace-Context-V2`, or both when they name the same trace and span (then
 * `traceparent`'s flags win and the V2 weight joins `tracestate`). Undefined when none is
 * given. `bad_request` for a malformed value, a disagreement, or a `tracestate` alone.
 */
export function traceFromHeaders(header: (name: string) => string | undefined): TraceContext | undefined {
  const traceparentText = header(TRACEPARENT_HEADER);
  const v2Text = header(TRACE_CONTEXT_V2_HEADER);
  const tracestateText = header(TRACESTATE_HEADER);
  if (traceparentText === undefined && v2Text === undefined) {
    if (tracestateText !== undefined && tracestateText.trim() !== '') {
      throw bad(
        `tracestate needs a traceparent (or ${TRACE_CONTEXT_V2_HEADER}) next to it`,
        TRACESTATE_HEADER,
      );
    }
    return undefined;
  }
  const parent = traceparentText === undefined ? undefined : parseTraceparent(traceparentText);
  const v2 = v2Text === undefined ? undefined : parseTraceContextV2(v2Text);
  let tracestate = tracestateText === undefined ? undefined : checkTracestate(tracestateText);
  if (parent !== undefined && v2 !== undefined) {
    if (parent.traceId !== v2.traceId || parent.spanId !== v2.spanId) {
      throw bad(
        `traceparent and ${TRACE_CONTEXT_V2_HEADER} name different traces or spans; send one, or both for the same span`,
        TRACE_CONTEXT_V2_HEADER,
      );
    }
  }
  const parts: Traceparent = parent ?? {
    traceId: v2!.traceId,
    spanId: v2!.spanId,
    flags: v2!.weight > 0 ? 1 : 0,
  };
  if (v2 !== undefined) tracestate = withSamplingWeight(tracestate, v2.weight);
  const traceparent = formatTraceparent(parts);
  return tracestate === undefined ? { traceparent } : { traceparent, tracestate };
}

/**
 * Checks a trace context that arrived in a frame (or any object claiming to be one) and returns
 * its normalized form. `bad_request` naming `where` when malformed.
 */
export function checkTraceContext(trace: TraceContext, where = 'trace'): TraceContext {
  if (trace === null || typeof trace !== 'object' || typeof trace.traceparent !== 'string') {
    throw new SbmpError('bad_request', `${where} must be an object with a traceparent`);
  }
  const traceparent = formatTraceparent(parseTraceparent(trace.traceparent, `${where}.traceparent`));
  if (trace.tracestate === undefined) return { traceparent };
  const tracestate = checkTracestate(trace.tracestate, `${where}.tracestate`);
  return tracestate === undefined ? { traceparent } : { traceparent, tracestate };
}

/**
 * Response headers for a snapshot's trace context: `traceparent`, `tracestate` when there is
 * one, and `X-SBMP-Trace-Context-V2` with the same trace, span and weight. Empty when the
 * snapshot has no trace (or, from an older store, one that no longer parses).
 */
export function traceResponseHeaders(trace: TraceContext | undefined): Record<string, string> {
  if (trace === undefined) return {};
  let parts: Traceparent;
  try {
    parts = parseTraceparent(trace.traceparent);
  } catch {
    return {};
  }
  const headers: Record<string, string> = {
    traceparent: formatTraceparent(parts),
    'X-SBMP-Trace-Context-V2': `${parts.traceId}-${parts.spanId};w=${String(samplingWeightOf(trace, parts))}`,
  };
  if (trace.tracestate !== undefined && trace.tracestate !== '') headers.tracestate = trace.tracestate;
  return headers;
}

/** The trace id of a trace context, for logs; undefined when there is none or it does not parse. */
export function traceIdOf(trace: TraceContext | undefined): string | undefined {
  if (trace === undefined) return undefined;
  const value = trace.traceparent;
  // Stored and checked trace contexts are in the 00 form: the id is at a fixed place.
  return typeof value === 'string' && value.length >= 35 ? value.slice(3, 35) : undefined;
}
