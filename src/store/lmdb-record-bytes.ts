/**
 * MessagePack for the plain fields of an LMDB record (lmdb-record.ts), by hand: unsigned and
 * signed integers, floats, strings, byte strings and nil, written in the forms msgpackr writes
 * them (a test compares the bytes with msgpackr's), into a caller's buffer. Every put encodes
 * one record and reads the head of another, and msgpackr's general encoder and decoder build
 * and walk a whole array of values to do it (the figures are in lmdb-record.ts). Records are
 * still decoded in full with msgpackr.
 */

/** Bytes after the marker of a number msgpackr writes (uint, int, float), or -1 for another type. */
function numberWidth(marker: number): number {
  if (marker <= 0x7f || marker >= 0xe0) return 0; // positive and negative fixint
  switch (marker) {
    case 0xcc: // uint 8
    case 0xd0: // int 8
      return 1;
    case 0xcd: // uint 16
    case 0xd1: // int 16
      return 2;
    case 0xce: // uint 32
    case 0xd2: // int 32
    case 0xca: // float 32
      return 4;
    case 0xcb: // float 64: msgpackr writes integers from 2^32 so
      return 8;
    default:
      return -1;
  }
}

/** Position after the number at `at`, or -1 when there is none. */
export function numberEnd(bytes: Buffer, at: number): number {
  if (at < 0 || at >= bytes.length) return -1;
  const width = numberWidth(bytes[at]!);
  return width < 0 || at + 1 + width > bytes.length ? -1 : at + 1 + width;
}

/** The number at `at`, or undefined when there is none. */
export function readNumber(bytes: Buffer, at: number): number | undefined {
  if (numberEnd(bytes, at) < 0) return undefined;
  const marker = bytes[at]!;
  if (marker <= 0x7f) return marker;
  if (marker >= 0xe0) return marker - 0x100;
  switch (marker) {
    case 0xcc:
      return bytes[at + 1];
    case 0xcd:
      return bytes.readUInt16BE(at + 1);
    case 0xce:
      return bytes.readUInt32BE(at + 1);
    case 0xd0:
      return bytes.readInt8(at + 1);
    case 0xd1:
      return bytes.readInt16BE(at + 1);
    case 0xd2:
      return bytes.readInt32BE(at + 1);
    case 0xca:
      return bytes.readFloatBE(at + 1);
    default:
      return bytes.readDoubleBE(at + 1);
  }
}

/** Position after the string at `at`, or -1 when there is none. */
export function stringEnd(bytes: Buffer, at: number): number {
  if (at < 0 || at >= bytes.length) return -1;
  const marker = bytes[at]!;
  let end = -1;
  if (marker >= 0xa0 && marker <= 0xbf) end = at + 1 + (marker & 0x1f);
  else if (marker === 0xd9 && at + 2 <= bytes.length) end = at + 2 + bytes[at + 1]!;
  else if (marker === 0xda && at + 3 <= bytes.length) end = at + 3 + bytes.readUInt16BE(at + 1);
  else if (marker === 0xdb && at + 5 <= bytes.length) end = at + 5 + bytes.readUInt32BE(at + 1);
  return end <= bytes.length ? end : -1;
}

/** Most bytes `writeNumber` writes. */
export const NUMBER_MAX_BYTES = 9;

/**
 * Writes `value` at `at` as msgpackr does: the smallest integer form (-0 as 0), else float 64.
 * Returns the end.
 */
export function writeNumber(bytes: Buffer, at: number, value: number): number {
  if (Number.isInteger(value)) {
    if (value >= 0) {
      if (value < 0x80) {
        bytes[at] = value;
        return at + 1;
      }
      if (value < 0x100) {
        bytes[at] = 0xcc;
        bytes[at + 1] = value;
        return at + 2;
      }
      if (value < 0x10000) {
        bytes[at] = 0xcd;
        bytes.writeUInt16BE(value, at + 1);
        return at + 3;
      }
      if (value <= 0xffffffff) {
        bytes[at] = 0xce;
        bytes.writeUInt32BE(value, at + 1);
        return at + 5;
      }
    } else if (value >= -0x20) {
      bytes[at] = value + 0x100;
      return at + 1;
    } else if (value >= -0x80) {
      bytes[at] = 0xd0;
      bytes.writeInt8(value, at + 1);
      return at + 2;
    } else if (value >= -0x8000) {
      bytes[at] = 0xd1;
      bytes.writeInt16BE(value, at + 1);
      return at + 3;
    } else if (value >= -0x80000000) {
      bytes[at] = 0xd2;
      bytes.writeInt32BE(value, at + 1);
      return at + 5;
    }
  }
  bytes[at] = 0xcb;
  bytes.writeDoubleBE(value, at + 1);
  return at + 9;
}

/** Most bytes `writeString` writes for a string of `length` UTF-16 code units. */
export function stringMaxBytes(length: number): number {
  return 5 + 3 * length;
}

/** Writes `value` as a UTF-8 string at `at`, or nil when undefined. Returns the end. */
export function writeString(bytes: Buffer, at: number, value: string | undefined): number {
  if (value === undefined) {
    bytes[at] = 0xc0;
    return at + 1;
  }
  const chars = value.length;
  if (chars < 0x20) {
    // A short ASCII string (a source, a content type) is written by a loop: 83 ns against
    // 200 ns for `Buffer.byteLength` plus `write` (18- and 24-character strings, Node 20).
    let i = 0;
    for (; i < chars; i++) {
      const c = value.charCodeAt(i);
      if (c >= 0x80) break;
      bytes[at + 1 + i] = c;
    }
    if (i === chars) {
      bytes[at] = 0xa0 | chars;
      return at + 1 + chars;
    }
  }
  const length = Buffer.byteLength(value);
  let start: number;
  if (length < 0x20) {
    bytes[at] = 0xa0 | length;
    start = at + 1;
  } else {
    start = writeLength(bytes, at, length, 0xd9);
  }
  return start + bytes.write(value, start, 'utf8');
}

/** Most bytes `writeBinary` writes for `length` bytes. */
export function binaryMaxBytes(length: number): number {
  return 5 + length;
}

/** Writes `value` as a byte string at `at`. Returns the end. */
export function writeBinary(bytes: Buffer, at: number, value: Uint8Array): number {
  const length = value.length;
  const start = writeLength(bytes, at, length, 0xc4);
  bytes.set(value, start);
  return start + length;
}

/**
 * Writes the header of a string or byte string of `length` bytes: `marker8` (str 8 or bin 8)
 * and a 1-byte length, or the next marker and 2 bytes, or the one after and 4. Returns where
 * the content starts.
 */
function writeLength(bytes: Buffer, at: number, length: number, marker8: number): number {
  if (length < 0x100) {
    bytes[at] = marker8;
    bytes[at + 1] = length;
    return at + 2;
  }
  if (length < 0x10000) {
    bytes[at] = marker8 + 1;
    bytes.writeUInt16BE(length, at + 1);
    return at + 3;
  }
  bytes[at] = marker8 + 2;
  bytes.writeUInt32BE(length, at + 1);
  return at + 5;
}
