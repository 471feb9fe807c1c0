import type { StoredSnapshot } from '../core/snapshot.js';

/** Writes to stdout and resolves once the bytes are handed to the OS, so an exit right after loses nothing. */
export function out(text: string): Promise<void> {
  return write(process.stdout, text);
}

/** Writes a message to stderr (diagnostics, never data), resolved as `out`. */
export function err(text: string): Promise<void> {
  return write(process.stderr, text);
}

function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  const line = text.endsWith('\n') ? text : `${text}\n`;
  return new Promise((resolve) => {
    stream.write(line, () => resolve());
  });
}

/**
 * A snapshot as JSON, in the same shape the HTTP API serves (`GET /sbmp/v3/state/{key}`):
 * `{ key, version, revision, ts, source, state, deleted?, contentType?, stateEncoding? }`, with
 * opaque bytes as base64.
 */
export function snapshotJson(snapshot: StoredSnapshot): Record<string, unknown> {
  const bytes = snapshot.state instanceof Uint8Array ? snapshot.state : undefined;
  const json: Record<string, unknown> = {
    key: snapshot.key,
    version: snapshot.version,
    revision: snapshot.revision,
    ts: snapshot.ts,
    source: snapshot.source,
    state: bytes === undefined ? snapshot.state : Buffer.from(bytes).toString('base64'),
  };
  if (snapshot.deleted === true) json.deleted = true;
  if (snapshot.contentType !== undefined) json.contentType = snapshot.contentType;
  if (bytes !== undefined) json.stateEncoding = 'base64';
  return json;
}

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

/** One table row for a snapshot: key, version, revision, time, state (shortened). */
export function snapshotRow(snapshot: StoredSnapshot): string[] {
  const state = snapshot.deleted === true ? '(deleted)' : JSON.stringify(snapshotJson(snapshot).state);
  return [
    snapshot.key,
    String(snapshot.version),
    String(snapshot.revision),
    new Date(snapshot.ts).toISOString(),
    state.length > 60 ? `${state.slice(0, 57)}...` : state,
  ];
}

export const SNAPSHOT_COLUMNS = ['KEY', 'VERSION', 'REVISION', 'UPDATED', 'STATE'] as const;
