import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { closeCodeForError, WS_CLOSE, WS_PATH } from '../../src/codec/ws-protocol.js';
import { ERROR_STATUS, type SbmpErrorCode } from '../../src/internal.js';

const protocolDoc = readFileSync(
  join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'PROTOCOL.md'),
  'utf8',
);
const codes = Object.keys(ERROR_STATUS) as SbmpErrorCode[];

describe('WebSocket protocol constants', () => {
  it('serves protocol version 3 at /sbmp/v3/ws', () => {
    assert.equal(WS_PATH, '/sbmp/v3/ws');
  });

  it('maps every error code to one of the documented close codes', () => {
    const allowed = new Set<number>(Object.values(WS_CLOSE));
    for (const code of codes) assert.ok(allowed.has(closeCodeForError(code)), code);
    assert.equal(closeCodeForError('bad_frame'), 1002);
    assert.equal(closeCodeForError('too_large'), 1009);
    assert.equal(closeCodeForError('unauthorized'), 1008);
    assert.equal(closeCodeForError('overloaded'), 1013);
    assert.equal(closeCodeForError('internal'), 1011);
  });
});

describe('docs/PROTOCOL.md', () => {
  it('documents every SbmpError code', () => {
    for (const code of codes) assert.match(protocolDoc, new RegExp(`\\| \`${code}\` \\|`), code);
  });

  it('documents every close code', () => {
    for (const close of Object.values(WS_CLOSE))
      assert.match(protocolDoc, new RegExp(`\\| ${close} \\|`), String(close));
  });

  it('names the endpoint path', () => {
    assert.ok(protocolDoc.includes(WS_PATH));
  });
});
