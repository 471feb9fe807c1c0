import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import type { Frame } from '../../src/codec/frame-types.js';
import { decodeFrame, encodeBatch, encodeFrame, splitBatch } from '../../src/codec/frames.js';
import * as schema from '../../src/codec/wire-schema.js';
import { isErrorCode } from '../../src/internal.js';
import * as arb from './frame-arbitraries.js';

/*
 * The hand-written codec against a reference: protobufjs loading proto/sbmp.proto. Same bytes
 * must mean the same frame to both, in both directions, and the field numbers and enum values
 * the codec uses must be the ones the .proto declares.
 */

const here = dirname(fileURLToPath(import.meta.url));
const root = protobuf.loadSync(join(here, '..', '..', 'proto', 'sbmp.proto'));
const FrameType = root.lookupType('sbmp.v3.Frame');

type Obj = Record<string, unknown>;

/** Our TypeScript fields that are optional although the wire field has implicit presence. */
const OMIT_WHEN_EMPTY = new Set([
  'token',
  'identity',
  'storeEpoch',
  'contentType',
  'tracestate',
  'publisherId',
]);

/** An enum name of the .proto as our string: APPLY_RESULT_STALE -> stale. */
function enumName(value: string, prefix: string): string {
  assert.ok(value.startsWith(prefix), value);
  return value.slice(prefix.length).toLowerCase();
}

/** A message as protobufjs decodes it (every field, defaults included) -> our TypeScript shape. */
function fromReference(message: Obj, type: protobuf.Type): Obj {
  const out: Obj = {};
  for (const field of type.fieldsArray) {
    let value = message[field.name];
    if (value === undefined || value === null) continue;
    if (field.resolvedType instanceof protobuf.Type) {
      value = field.repeated
        ? (value as Obj[]).map((v) => fromReference(v, field.resolvedType as protobuf.Type))
        : fromReference(value as Obj, field.resolvedType);
    } else if (field.resolvedType instanceof protobuf.Enum) {
      const prefix = field.type === 'ApplyResult' ? 'APPLY_RESULT_' : 'STATE_ENCODING_';
      value = enumName(value as string, prefix);
    } else if (value instanceof Uint8Array) {
      value = new Uint8Array(value);
    }
    if (value === false || (value === '' && OMIT_WHEN_EMPTY.has(field.name))) continue;
    out[field.name] = value;
  }
  return out;
}

function referenceDecode(bytes: Uint8Array): Frame {
  const message = FrameType.decode(bytes);
  const object = FrameType.toObject(message, { longs: Number, enums: String, defaults: true, oneofs: true });
  const type = object.body as string;
  const bodyType = FrameType.fields[type]!.resolvedType as protobuf.Type;
  const frame: Obj = { type, ...fromReference(object[type] as Obj, bodyType) };
  if (type === 'error' && !isErrorCode(frame.code)) frame.code = 'internal';
  return frame as unknown as Frame;
}

/** Our frame -> a protobufjs plain object holding only what the canonical encoding writes. */
function toReference(value: Obj, type: protobuf.Type): Obj {
  const out: Obj = {};
  for (const field of type.fieldsArray) {
    const v = value[field.name];
    if (v === undefined) continue;
    const explicitPresence = field.partOf !== null && field.partOf.name === `_${field.name}`;
    if (field.resolvedType instanceof protobuf.Type) {
      const nestedType = field.resolvedType;
      out[field.name] = field.repeated
        ? (v as Obj[]).map((item) => toReference(item, nestedType))
        : toReference(v as Obj, nestedType);
    } else if (field.resolvedType instanceof protobuf.Enum) {
      const prefix = field.type === 'ApplyResult' ? 'APPLY_RESULT_' : 'STATE_ENCODING_';
      const number = field.resolvedType.values[prefix + String(v).toUpperCase()]!;
      if (number !== 0) out[field.name] = number;
    } else if (explicitPresence || !(v === 0 || v === '' || v === false || (v as Uint8Array).length === 0)) {
      out[field.name] = v;
    }
  }
  return out;
}

function referenceEncode(frame: Frame): Uint8Array {
  const { type, ...body } = frame;
  const bodyType = FrameType.fields[type]!.resolvedType as protobuf.Type;
  const message = FrameType.fromObject({ [type]: toReference(body as Obj, bodyType) });
  // protobufjs returns a Buffer in Node; a plain Uint8Array keeps decoded `state` views comparable.
  return new Uint8Array(FrameType.encode(message).finish());
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function vectorFiles(dir: string): Uint8Array[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.bin'))
    .map((f) => new Uint8Array(readFileSync(join(dir, f))));
}

describe('codec against the protobufjs reference', () => {
  it('uses the field numbers proto/sbmp.proto declares', () => {
    const messages: [string, Record<string, number>][] = [
      ['Frame', { ...schema.FRAME_FIELD, batch: schema.BATCH_BODY_FIELD }],
      ['BatchFrame', schema.BATCH_FIELD],
      ['TraceContext', schema.TRACE_FIELD],
      ['HelloFrame', schema.HELLO_FIELD],
      ['WelcomeFrame', schema.WELCOME_FIELD],
      ['PublishFrame', schema.PUBLISH_FIELD],
      ['AckFrame', schema.ACK_FIELD],
      ['SubscribeFrame', schema.SUBSCRIBE_FIELD],
      ['UnsubscribeFrame', schema.UNSUBSCRIBE_FIELD],
      ['SnapshotEntry', schema.ENTRY_FIELD],
      ['SnapshotsFrame', schema.SNAPSHOTS_FIELD],
      ['PingFrame', schema.PING_FIELD],
      ['PongFrame', schema.PONG_FIELD],
      ['ErrorFrame', schema.ERROR_FIELD],
      ['GoawayFrame', schema.GOAWAY_FIELD],
    ];
    for (const [name, fields] of messages) {
      const type = root.lookupType(`sbmp.v3.${name}`);
      const declared = Object.fromEntries(type.fieldsArray.map((f) => [f.name, f.id]));
      assert.deepEqual(declared, { ...fields }, name);
      // Every tag fits one byte; the encoder's size arithmetic relies on it.
      for (const id of Object.values(declared)) assert.ok(id < 16, `${name} field ${id}`);
    }
    assert.equal(root.lookupType('sbmp.v3.Frame').oneofsArray[0]!.fieldsArray.length, 12);
  });

  it('uses the enum values proto/sbmp.proto declares', () => {
    const results = root.lookupEnum('sbmp.v3.ApplyResult').values;
    for (const [name, value] of Object.entries(schema.APPLY_RESULT_WIRE)) {
      assert.equal(results[`APPLY_RESULT_${name.toUpperCase()}`], value);
      assert.equal(schema.APPLY_RESULT_BY_WIRE[value], name);
    }
    assert.equal(Object.keys(results).length, Object.keys(schema.APPLY_RESULT_WIRE).length + 1);
    const encodings = root.lookupEnum('sbmp.v3.StateEncoding').values;
    for (const [name, value] of Object.entries(schema.STATE_ENCODING_WIRE)) {
      assert.equal(encodings[`STATE_ENCODING_${name.toUpperCase()}`], value);
      assert.equal(schema.STATE_ENCODING_BY_WIRE[value], name);
    }
    assert.equal(Object.keys(encodings).length, Object.keys(schema.STATE_ENCODING_WIRE).length);
  });

  it('decodes every committed valid vector as protobufjs does', () => {
    const files = [
      ...vectorFiles(join(here, '..', 'vectors')),
      ...vectorFiles(join(here, '..', 'vectors', 'decode-only')),
    ];
    assert.ok(files.length >= 30);
    for (const bytes of files) assert.deepStrictEqual(decodeFrame(bytes), referenceDecode(bytes), hex(bytes));
  });

  it('random frames: our bytes decode identically with protobufjs, and protobufjs writes the same bytes', () => {
    fc.assert(
      fc.property(arb.frame, (frame) => {
        const ours = encodeFrame(frame);
        assert.deepStrictEqual(referenceDecode(ours), frame);
        const theirs = referenceEncode(frame);
        assert.deepStrictEqual(decodeFrame(theirs), frame);
        assert.equal(hex(theirs), hex(ours));
      }),
      { numRuns: 1000 },
    );
  });

  it('batches: the same bytes as protobufjs writes for the same frames, split back into those frames', () => {
    fc.assert(
      fc.property(fc.array(arb.frame, { minLength: 1, maxLength: 6 }), (frames) => {
        const encoded = frames.map((frame) => encodeFrame(frame));
        const ours = encodeBatch(encoded);
        const theirs = FrameType.encode(
          FrameType.fromObject({
            batch: { frames: encoded.map((bytes) => FrameType.toObject(FrameType.decode(bytes))) },
          }),
        ).finish();
        assert.equal(hex(ours), hex(new Uint8Array(theirs)));
        const split = splitBatch(ours, ours.length);
        assert.ok(split !== undefined);
        assert.deepStrictEqual(
          split.map((bytes) => decodeFrame(bytes)),
          frames,
        );
      }),
      { numRuns: 300 },
    );
  });
});
