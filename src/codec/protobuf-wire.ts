import { ByteSlab } from '../core/byte-slab.js';
import { SbmpError } from '../core/errors.js';

/**
 * Protocol Buffers wire primitives: varints, tags, length-delimited fields. Knows nothing of
 * SBMP's messages; `frame-encode.ts` and `frame-decode.ts` build on it. Plain `Uint8Array`
 * only, so it runs in browsers as well as Node.
 */

/** Wire types of the protobuf encoding. Groups (3, 4) are never used by SBMP. */
export const WireType = {
  varint: 0,
  fixed64: 1,
  len: 2,
  fixed32: 5,
} as const;

/** Largest integer on the SBMP wire: 2^53-1, what a JavaScript number (and JSON) carries exactly. */
export const MAX_WIRE_INTEGER = Number.MAX_SAFE_INTEGER;
const MAX_UINT32 = 0xffffffff;

export function badFrame(message: string, details?: Record<string, unknown>): SbmpError {
  return new SbmpError('bad_frame', message, details === undefined ? {} : { details });
}

/** Bytes a varint of `value` (an integer 0..2^53-1) takes. */
export function varintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  if (value < 0x800000000) return 5;
  if (value < 0x40000000000) return 6;
  if (value < 0x2000000000000) return 7;
  return 8;
}

/** The tag of a field: `(fieldNumber << 3) | wireType`, as one number. */
export function tagOf(fieldNumber: number, wireType: number): number {
  return (fieldNumber << 3) | wireType;
}

/**
 * UTF-8 length of `text` as `TextEncoder` writes it: a lone surrogate becomes U+FFFD (3 bytes).
 * Scanning is cheaper than encoding to learn the size, and lets the writer fill one buffer.
 */
export function utf8Length(text: string): number {
  const length = text.length;
  let bytes = length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      bytes += 1;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 2; // a pair: 2 UTF-16 units, 4 bytes
        i++;
      } else {
        bytes += 2;
      }
    } else {
      bytes += 2;
    }
  }
  return bytes;
}

/** Bytes a length-delimited field body of `length` bytes takes with its length prefix. */
export function lenFieldSize(length: number): number {
  return varintSize(length) + length;
}

const textEncoder = new TextEncoder();
// fatal: invalid UTF-8 must be a bad frame, not silently U+FFFD; ignoreBOM: a leading U+FEFF
// is content and must survive a round trip.
const textDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Strings shorter than this are written and read by a plain loop when ASCII (faster than the
 * codec), and are the ones the encoder's and decoder's memos remember.
 */
export const SHORT_STRING = 64;

/**
 * Node's native Latin-1 slice, which takes any Uint8Array; absent in browsers. For the short
 * ASCII strings of a frame (keys, content types) it measured 70 ns against 167 ns for
 * `String.fromCharCode.apply` (Node 20, 15- and 24-byte strings), and it allocates only the
 * string, where `apply` also copies the bytes into an argument list and needs a subarray.
 */
const latin1Slice = (
  globalThis as { Buffer?: { prototype?: { latin1Slice?: (start: number, end: number) => string } } }
).Buffer?.prototype?.latin1Slice;

/** The string of `buf[start..end)`, bytes the caller checked to be ASCII. */
export function asciiString(buf: Uint8Array, start: number, end: number): string {
  if (latin1Slice !== undefined) return latin1Slice.call(buf, start, end);
  return portableAsciiString(buf, start, end);
}

/**
 * What `ProtoReader.recurringString` last decoded for one field (values under 64 bytes), and
 * the bytes it came from: equal bytes decode to an equal string, whatever the characters.
 */
export class StringMemo {
  last = '';
  /** The first `length` bytes are those of `last`; a miss copies into it, allocating nothing. */
  readonly bytes = new Uint8Array(SHORT_STRING - 1);
  length = 0;
}

/** `asciiString` without Node's `latin1Slice` (browsers); exported so that tests in Node cover it too. */
export function portableAsciiString(buf: Uint8Array, start: number, end: number): string {
  // One call makes one flat string; adding a character at a time would build a rope that
  // every later comparison or hash of the key (map lookups, pattern tests) flattens again.
  return String.fromCharCode.apply(null, buf.subarray(start, end) as unknown as number[]);
}

/**
 * Frames up to 2 KiB are cut from shared 16 KiB slabs (see `ByteSlab`): a frame lives only
 * until it is sent, so pinning a slab costs nothing; encoded entries, which a server keeps,
 * come from the smaller slabs of `allocateKept`.
 */
const FRAMES = new ByteSlab(16 * 1024, 0, 2 * 1024);

/** A zeroed buffer of `size` bytes for a short-lived frame; may share its ArrayBuffer with other frames. */
export function allocateFrame(size: number): Uint8Array {
  return FRAMES.allocate(size);
}

/**
 * Writes into one buffer whose size was computed beforehand. The buffer is owned by the
 * writer's caller once `finish()` returns it.
 */
export class ProtoWriter {
  readonly buf: Uint8Array;
  pos = 0;

  constructor(buf: Uint8Array) {
    this.buf = buf;
  }

  /** A varint of an integer 0..2^53-1 (callers validate). */
  varint(value: number): void {
    const buf = this.buf;
    let pos = this.pos;
    // Above 2^31 bit operators would wrap; divide instead. `& 0x7f` still sees the low bits.
    while (value > 0x7fffffff) {
      buf[pos++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 128);
    }
    while (value > 0x7f) {
      buf[pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buf[pos++] = value;
    this.pos = pos;
  }

  tag(tag: number): void {
    if (tag < 0x80) this.buf[this.pos++] = tag;
    else this.varint(tag);
  }

  /** A string body with its length prefix; `byteLength` is `utf8Length(text)`. */
  string(text: string, byteLength: number): void {
    this.varint(byteLength);
    const buf = this.buf;
    if (byteLength === text.length && byteLength < SHORT_STRING) {
      let pos = this.pos;
      for (let i = 0; i < byteLength; i++) buf[pos++] = text.charCodeAt(i);
      this.pos = pos;
      return;
    }
    textEncoder.encodeInto(text, buf.subarray(this.pos, this.pos + byteLength));
    this.pos += byteLength;
  }

  /** A bytes body with its length prefix. */
  bytes(bytes: Uint8Array): void {
    this.varint(bytes.length);
    this.raw(bytes);
  }

  /** Bytes copied as they are (a pre-encoded message body). */
  raw(bytes: Uint8Array): void {
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** The filled buffer. A size mismatch is a bug in a sizer, never in the input. */
  finish(): Uint8Array {
    if (this.pos !== this.buf.length) {
      throw new SbmpError(
        'internal',
        `frame encoder wrote ${this.pos} bytes into a ${this.buf.length}-byte frame`,
      );
    }
    return this.buf;
  }
}

const WIRE_TYPE_NAMES = ['varint', 'fixed64', 'length-delimited', 'group start', 'group end', 'fixed32'];

export function wireTypeName(wireType: number): string {
  return WIRE_TYPE_NAMES[wireType] ?? `invalid (${wireType})`;
}

/**
 * Reads one message range `[pos, end)` of a buffer. Every read checks bounds first, so hostile
 * input ends in a `bad_frame` error, never in an out-of-range read or a large allocation:
 * lengths are checked against the bytes left before anything is sliced.
 */
export class ProtoReader {
  readonly buf: Uint8Array;
  pos: number;
  end: number;

  constructor(buf: Uint8Array, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  /**
   * A varint as a number. Exact up to 2^53-1; a larger value comes back >= 2^53 (rounded),
   * which every caller refuses, so rounding never yields a wrong accepted value.
   */
  varint(): number {
    const buf = this.buf;
    const end = this.end;
    let pos = this.pos;
    if (pos < end) {
      const first = buf[pos]!;
      if (first < 0x80) {
        this.pos = pos + 1;
        return first;
      }
    }
    let result = 0;
    let factor = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw badFrame(`truncated varint at byte ${this.pos}`);
      const byte = buf[pos++]!;
      result += (byte & 0x7f) * factor;
      if (byte < 0x80) {
        this.pos = pos;
        return result;
      }
      factor *= 128;
    }
    throw badFrame(`varint at byte ${this.pos} is longer than 10 bytes`);
  }

  /** A field tag; the field number is `tag >>> 3`, the wire type `tag & 7`. */
  tag(): number {
    const at = this.pos;
    const tag = this.varint();
    if (tag > MAX_UINT32) throw badFrame(`field tag at byte ${at} is larger than 32 bits`);
    if (tag < 8) throw badFrame(`field number 0 at byte ${at}`);
    return tag >>> 0;
  }

  /** A uint64 field's value, refused above 2^53-1. */
  uint64(what: string): number {
    const value = this.varint();
    if (value > MAX_WIRE_INTEGER) {
      throw badFrame(`${what} is larger than 2^53-1 (the largest integer SBMP carries)`);
    }
    return value;
  }

  /** A uint32 field's value, refused (not truncated) above 2^32-1. */
  uint32(what: string): number {
    const value = this.varint();
    if (value > MAX_UINT32) throw badFrame(`${what} is larger than 2^32-1`);
    return value;
  }

  bool(): boolean {
    return this.varint() !== 0;
  }

  /** The length prefix of a length-delimited field, checked against the bytes left. */
  length(what: string): number {
    const at = this.pos;
    const length = this.varint();
    const left = this.end - this.pos;
    if (length > left) {
      throw badFrame(`${what}: length ${length} at byte ${at} runs past the end (${left} bytes left)`);
    }
    return length;
  }

  string(what: string): string {
    const length = this.length(what);
    const start = this.pos;
    this.pos = start + length;
    return this.#decodeString(what, start, length);
  }

  /**
   * A string field whose value tends to repeat from one message to the next (a snapshot's
   * source, its content type): while the bytes equal those `memo` last decoded, the string
   * decoded then is returned instead of a new one, so that the snapshots a receiver keeps share
   * one string rather than hold a copy each, and the garbage collector has fewer objects to
   * copy. The memo's bytes are compared, not the string's characters: for a repeated 24-byte
   * content type, a reader and this call took 46 to 124 ns, against 104 to 183 ns comparing
   * characters and 108 to 227 ns for `string` (3 million each, measured alone; in the fan-out
   * benchmark's client process this call went from 6.0% to 2.2% of the profile).
   */
  recurringString(what: string, memo: StringMemo): string {
    const length = this.length(what);
    const start = this.pos;
    this.pos = start + length;
    const buf = this.buf;
    const bytes = memo.bytes;
    if (length === memo.length) {
      let i = 0;
      while (i < length && buf[start + i] === bytes[i]) i++;
      if (i === length) return memo.last;
    }
    const text = this.#decodeString(what, start, length);
    if (length < SHORT_STRING) {
      // A copy: the input may be overwritten once decoded, and a view would change with it.
      for (let i = 0; i < length; i++) bytes[i] = buf[start + i]!;
      memo.length = length;
      memo.last = text;
    }
    return text;
  }

  #decodeString(what: string, start: number, length: number): string {
    const buf = this.buf;
    if (length < SHORT_STRING) {
      let ascii = true;
      for (let i = start; i < start + length; i++) {
        if (buf[i]! >= 0x80) {
          ascii = false;
          break;
        }
      }
      if (ascii) return asciiString(buf, start, start + length);
    }
    try {
      return textDecoder.decode(buf.subarray(start, start + length));
    } catch (cause) {
      throw new SbmpError('bad_frame', `${what} is not valid UTF-8`, { cause });
    }
  }

  /** A bytes field as a view into the input (no copy): valid while the input is. */
  bytes(what: string): Uint8Array {
    const length = this.length(what);
    const start = this.pos;
    this.pos = start + length;
    return this.buf.subarray(start, start + length);
  }

  /** Skips the value of an unknown field, as protobuf requires for forward compatibility. */
  skip(tag: number): void {
    const wireType = tag & 7;
    const field = tag >>> 3;
    switch (wireType) {
      case WireType.varint:
        this.varint();
        return;
      case WireType.fixed64:
        this.skipBytes(8, field);
        return;
      case WireType.len: {
        // Read the length first: `this.pos += this.length()` would add to the old position.
        const length = this.length(`unknown field ${field}`);
        this.pos += length;
        return;
      }
      case WireType.fixed32:
        this.skipBytes(4, field);
        return;
      default:
        throw badFrame(`field ${field} has wire type ${wireTypeName(wireType)}, which SBMP never uses`);
    }
  }

  private skipBytes(count: number, field: number): void {
    if (this.end - this.pos < count) throw badFrame(`unknown field ${field}: truncated at byte ${this.pos}`);
    this.pos += count;
  }
}
