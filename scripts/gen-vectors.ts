/**
 * Writes the protocol test vectors to test/vectors/ from the list in
 * test/codec/vector-catalogue.ts. Run after a deliberate wire change, then commit the output:
 *
 *   node --import tsx scripts/gen-vectors.ts
 *
 * Files no longer in the list are removed, so the directory always equals the list.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeBatch, encodeFrame } from '../src/codec/frames.js';
import {
  batchVectors,
  canonicalVectors,
  decodeOnlyVectors,
  invalidBatchVectors,
  invalidVectors,
} from '../test/codec/vector-catalogue.js';
import { frameToJson } from '../test/codec/vector-json.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'vectors');

function writeSet(dir: string, files: Map<string, Uint8Array | string>): void {
  mkdirSync(dir, { recursive: true });
  for (const name of readdirSync(dir)) {
    if ((name.endsWith('.bin') || name.endsWith('.json')) && !files.has(name)) rmSync(join(dir, name));
  }
  for (const [name, content] of files) writeFileSync(join(dir, name), content);
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

const canonical = new Map<string, Uint8Array | string>();
for (const v of canonicalVectors()) {
  canonical.set(`${v.name}.bin`, encodeFrame(v.frame));
  const doc: Record<string, unknown> = { description: v.description, frame: frameToJson(v.frame) };
  if (v.stateEncoding !== undefined) doc.stateEncoding = v.stateEncoding;
  if (v.stateValues !== undefined) doc.stateValues = v.stateValues;
  canonical.set(`${v.name}.json`, json(doc));
}
writeSet(root, canonical);

const decodeOnly = new Map<string, Uint8Array | string>();
for (const v of decodeOnlyVectors()) {
  decodeOnly.set(`${v.name}.bin`, Buffer.from(v.hex, 'hex'));
  decodeOnly.set(`${v.name}.json`, json({ description: v.description, frame: frameToJson(v.frame) }));
}
writeSet(join(root, 'decode-only'), decodeOnly);

const invalid = new Map<string, Uint8Array | string>();
for (const v of invalidVectors()) {
  invalid.set(`${v.name}.bin`, Buffer.from(v.hex, 'hex'));
  invalid.set(`${v.name}.json`, json({ description: v.description, error: v.error }));
}
writeSet(join(root, 'invalid'), invalid);

const batches = new Map<string, Uint8Array | string>();
for (const v of batchVectors()) {
  batches.set(`${v.name}.bin`, encodeBatch(v.frames.map((frame) => encodeFrame(frame))));
  batches.set(`${v.name}.json`, json({ description: v.description, frames: v.frames.map(frameToJson) }));
}
writeSet(join(root, 'batch'), batches);

const invalidBatches = new Map<string, Uint8Array | string>();
for (const v of invalidBatchVectors()) {
  invalidBatches.set(`${v.name}.bin`, Buffer.from(v.hex, 'hex'));
  invalidBatches.set(`${v.name}.json`, json({ description: v.description, error: v.error }));
}
writeSet(join(root, 'batch', 'invalid'), invalidBatches);

console.log(
  `wrote ${canonical.size / 2} canonical, ${decodeOnly.size / 2} decode-only, ${invalid.size / 2} invalid, ` +
    `${batches.size / 2} batch and ${invalidBatches.size / 2} invalid batch vectors to ${root}`,
);
