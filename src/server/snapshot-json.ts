import type { StoredSnapshot } from '../core/snapshot.js';

/**
 * A snapshot as the HTTP API shows it (GET, list pages, SSE events):
 * `{ key, version, revision, ts, source, state, deleted?, contentType?, stateEncoding?, trace? }`.
 * A byte state cannot travel as JSON as is: it is sent base64 with `stateEncoding: 'base64'`
 * next to its `contentType`.
 */
export interface SnapshotJson {
  readonly key: string;
  readonly version: number;
  readonly revision: number;
  readonly ts: number;
  readonly source: string;
  readonly state: unknown;
  readonly deleted?: true;
  readonly contentType?: string;
  readonly stateEncoding?: 'base64';
  readonly trace?: { readonly traceparent: string; readonly tracestate?: string };
}

export function toSnapshotJson(snapshot: StoredSnapshot): SnapshotJson {
  const bytes = snapshot.state instanceof Uint8Array ? snapshot.state : undefined;
  const json: { -readonly [K in keyof SnapshotJson]: SnapshotJson[K] } = {
    key: snapshot.key,
    version: snapshot.version,
    revision: snapshot.revision,
    ts: snapshot.ts,
    source: snapshot.source,
    state:
      bytes === undefined
        ? snapshot.state
        : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64'),
  };
  if (snapshot.deleted === true) json.deleted = true;
  if (snapshot.contentType !== undefined) json.contentType = snapshot.contentType;
  if (bytes !== undefined) json.stateEncoding = 'base64';
  if (snapshot.trace !== undefined) json.trace = snapshot.trace;
  return json;
}

/** The snapshot's JSON text: one line, since JSON.stringify escapes every newline (SSE relies on it). */
export function snapshotJsonText(snapshot: StoredSnapshot): string {
  return JSON.stringify(toSnapshotJson(snapshot));
}
