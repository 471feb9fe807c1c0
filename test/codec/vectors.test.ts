import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Frame, FrameType, StateEncoding } from '../../src/codec/frame-types.js';
import { decodeFrame, encodeBatch, encodeFrame, splitBatch } from '../../src/codec/frames.js';
import { decodeState } from '../../src/codec/state.js';
import { isSbmpError } from '../../src/internal.js';
import {
  batchVectors,
  canonicalVectors,
  decodeOnlyVectors,
  invalidBatchVectors,
  invalidVectors,
} from './vector-catalogue.js';
import { frameFromJson, frameToJson, statesOf } from './vector-json.js';

const vectorsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'vectors');

interface VectorFile {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly json: Record<string, unknown>;
}

/** The committed vectors of one directory: every `<name>.bin` with its `<name>.json`. */
function readVectors(dir: string): VectorFile[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.bin') || f.endsWith('.json'));
  const names = [...new Set(files.map((f) => f.replace(/\.(bin|json)$/, '')))].sort();
  for (const name of names) {
    assert.ok(
      files.includes(`${name}.bin`) && files.includes(`${name}.json`),
      `${dir}/${name}: .bin and .json`,
    );
  }
  return names.map((name) => ({
    name,
    // A plain Uint8Array (not a Buffer), so decoded `state` views compare equal to the JSON's bytes.
    bytes: new Uint8Array(readFileSync(join(dir, `${name}.bin`))),
    json: JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Record<string, unknown>,
  }));
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

describe('committed test vectors', () => {
  const canonical = readVectors(vectorsDir);

  it('cover every frame type', () => {
    const types = new Set(canonical.map((v) => (v.json.frame as { type: FrameType }).type));
    const all: FrameType[] = [
      'hello',
      'welcome',
      'publish',
      'ack',
      'subscribe',
      'unsubscribe',
      'snapshots',
      'ping',
      'pong',
      'error',
      'goaway',
    ];
    assert.deepEqual([...types].sort(), [...all].sort());
  });

  it('decode to their JSON and re-encode to identical bytes', () => {
    for (const v of canonical) {
      const expected = frameFromJson(v.json.frame as Record<string, unknown>);
      assert.deepStrictEqual(decodeFrame(v.bytes), expected, v.name);
      assert.equal(hex(encodeFrame(expected)), hex(v.bytes), v.name);
    }
  });

  it('carry states that decode to the documented values', () => {
    let checked = 0;
    for (const v of canonical) {
      const values = v.json.stateValues as unknown[] | undefined;
      if (values === undefined) continue;
      const encoding = v.json.stateEncoding as StateEncoding;
      const states = statesOf(decodeFrame(v.bytes)).filter((s) => s.state.length > 0);
      assert.equal(states.length, values.length, v.name);
      states.forEach((s, i) => {
        assert.deepStrictEqual(decodeState(s.state, s.contentType ?? encoding), values[i], v.name);
      });
      checked += values.length;
    }
    assert.ok(checked >= 4);
  });

  it('match the catalogue scripts/gen-vectors.ts writes them from', () => {
    const catalogue = canonicalVectors();
    assert.deepEqual(
      canonical.map((v) => v.name),
      catalogue.map((v) => v.name).sort(),
    );
    for (const c of catalogue) {
      const file = canonical.find((v) => v.name === c.name)!;
      assert.equal(hex(file.bytes), hex(encodeFrame(c.frame)), c.name);
      assert.deepStrictEqual(file.json.frame, JSON.parse(JSON.stringify(frameToJson(c.frame))), c.name);
    }
  });

  it('decode-only vectors (valid, non-canonical bytes) decode to their JSON', () => {
    const files = readVectors(join(vectorsDir, 'decode-only'));
    assert.deepEqual(
      files.map((v) => v.name),
      decodeOnlyVectors()
        .map((v) => v.name)
        .sort(),
    );
    for (const v of files) {
      const expected = frameFromJson(v.json.frame as Record<string, unknown>);
      assert.deepStrictEqual(decodeFrame(v.bytes), expected, v.name);
      assert.notEqual(hex(encodeFrame(expected)), hex(v.bytes), `${v.name} is not canonical`);
    }
  });

  it('invalid vectors are refused with bad_frame', () => {
    const files = readVectors(join(vectorsDir, 'invalid'));
    assert.deepEqual(
      files.map((v) => v.name),
      invalidVectors()
        .map((v) => v.name)
        .sort(),
    );
    for (const v of files) {
      assert.throws(
        () => decodeFrame(v.bytes),
        (err: unknown) => isSbmpError(err, v.json.error as 'bad_frame'),
        v.name,
      );
    }
  });
});

describe('committed batch vectors', () => {
  it('split into the frames of their JSON, which encode back to the same bytes', () => {
    const files = readVectors(join(vectorsDir, 'batch'));
    assert.deepEqual(
      files.map((v) => v.name),
      batchVectors()
        .map((v) => v.name)
        .sort(),
    );
    for (const v of files) {
      const expected = (v.json.frames as Record<string, unknown>[]).map((frame) => frameFromJson(frame));
      const frames = splitBatch(v.bytes, v.bytes.length);
      assert.ok(frames !== undefined, v.name);
      assert.deepStrictEqual(
        frames.map((bytes) => decodeFrame(bytes)),
        expected,
        v.name,
      );
      assert.equal(hex(encodeBatch(expected.map((frame) => encodeFrame(frame)))), hex(v.bytes), v.name);
      assert.throws(
        () => decodeFrame(v.bytes),
        (err: unknown) => isSbmpError(err, 'bad_frame'),
        v.name,
      );
    }
  });

  it('invalid batch vectors are refused whole with bad_frame', () => {
    const files = readVectors(join(vectorsDir, 'batch', 'invalid'));
    assert.deepEqual(
      files.map((v) => v.name),
      invalidBatchVectors()
        .map((v) => v.name)
        .sort(),
    );
    for (const v of files) {
      assert.throws(
        () => splitBatch(v.bytes, 1024),
        (err: unknown) => isSbmpError(err, v.json.error as 'bad_frame'),
        v.name,
      );
    }
  });
});

describe('encodeFrame output', () => {
  it('is canonical: the frame tag, one length, the body fields in field-number order', () => {
    const frame: Frame = { type: 'ack', requestId: 300, result: 'stale', version: 20, revision: 1 };
    // 0x22 = field 4 (ack), length-delimited; body: 08 ac02 | 10 04 | 18 14 | 20 01
    assert.equal(hex(encodeFrame(frame)), '220908ac021004181420' + '01');
  });
});
