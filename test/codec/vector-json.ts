import type { Frame, SnapshotEntry } from '../../src/codec/frame-types.js';

/**
 * The JSON form of a frame in test/vectors/: the TypeScript field names, integers as JSON
 * numbers, enums as their TypeScript strings, and `state` bytes as standard base64.
 */

type Json = Record<string, unknown>;

function stateToBase64(record: { readonly state: Uint8Array }): Json {
  return { ...record, state: Buffer.from(record.state).toString('base64') };
}

function stateFromBase64(record: Json): Json {
  return { ...record, state: new Uint8Array(Buffer.from(String(record.state), 'base64')) };
}

export function frameToJson(frame: Frame): Json {
  if (frame.type === 'publish') return stateToBase64(frame);
  if (frame.type === 'snapshots') return { ...frame, entries: frame.entries.map(stateToBase64) };
  return { ...frame };
}

export function frameFromJson(json: Json): Frame {
  if (json.type === 'publish') return stateFromBase64(json) as unknown as Frame;
  if (json.type === 'snapshots') {
    const entries = (json.entries as Json[]).map(
      (entry) => stateFromBase64(entry) as unknown as SnapshotEntry,
    );
    return { ...json, entries } as unknown as Frame;
  }
  return json as unknown as Frame;
}

/** The state bytes of a frame, in wire order. */
export function statesOf(frame: Frame): { state: Uint8Array; contentType?: string | undefined }[] {
  if (frame.type === 'publish') return [{ state: frame.state, contentType: frame.contentType }];
  if (frame.type === 'snapshots')
    return frame.entries.map((e) => ({ state: e.state, contentType: e.contentType }));
  return [];
}
