import { isErrorCode } from '../core/errors.js';
import {
  bytesOf,
  L,
  optionalString,
  optionalVarintField,
  required,
  stringField,
  text,
  traceField,
  uint32,
  uint64,
  varintField,
  writeBoolField,
  writeBytesField,
  writeOptionalVarintField,
  writeStringField,
  writeTraceField,
  writeVarintField,
} from './encode-fields.js';
import type {
  AckFrame,
  ErrorFrame,
  GoawayFrame,
  HelloFrame,
  PublishFrame,
  SnapshotEntry,
  SnapshotsFrame,
  SubscribeFrame,
  WelcomeFrame,
} from './frame-types.js';
import { badFrame, lenFieldSize, type ProtoWriter, tagOf } from './protobuf-wire.js';
import {
  ACK_FIELD,
  APPLY_RESULT_WIRE,
  ENTRY_FIELD,
  ERROR_FIELD,
  GOAWAY_FIELD,
  HELLO_FIELD,
  PUBLISH_FIELD,
  SNAPSHOTS_FIELD,
  STATE_ENCODING_WIRE,
  SUBSCRIBE_FIELD,
  WELCOME_FIELD,
} from './wire-schema.js';

/** One sizer (validates, returns the body size) and one writer per message of proto/sbmp.proto. */

export function sizeOfHello(f: HelloFrame): number {
  if (!Object.hasOwn(STATE_ENCODING_WIRE, f.stateEncoding)) {
    throw badFrame(`hello.stateEncoding must be 'msgpack' or 'json', got ${String(f.stateEncoding)}`);
  }
  const version = uint32(f.protocolVersion, 'hello.protocolVersion');
  if (version === 0) throw badFrame('hello.protocolVersion is required');
  return (
    varintField(version) +
    stringField(text(f.clientId, 'hello.clientId')) +
    stringField(optionalString(f.token, 'hello.token')) +
    varintField(STATE_ENCODING_WIRE[f.stateEncoding]) +
    optionalVarintField(
      f.lastRevision === undefined ? undefined : uint64(f.lastRevision, 'hello.lastRevision'),
    ) +
    (f.batches === true ? 2 : 0)
  );
}

export function writeHello(w: ProtoWriter, f: HelloFrame): void {
  writeVarintField(w, HELLO_FIELD.protocolVersion, f.protocolVersion);
  writeStringField(w, HELLO_FIELD.clientId, f.clientId);
  writeStringField(w, HELLO_FIELD.token, f.token);
  writeVarintField(w, HELLO_FIELD.stateEncoding, STATE_ENCODING_WIRE[f.stateEncoding]);
  writeOptionalVarintField(w, HELLO_FIELD.lastRevision, f.lastRevision);
  writeBoolField(w, HELLO_FIELD.batches, f.batches);
}

export function sizeOfWelcome(f: WelcomeFrame): number {
  const version = uint32(f.protocolVersion, 'welcome.protocolVersion');
  if (version === 0) throw badFrame('welcome.protocolVersion is required');
  return (
    varintField(version) +
    stringField(text(f.serverId, 'welcome.serverId')) +
    stringField(optionalString(f.identity, 'welcome.identity')) +
    varintField(uint32(f.maxFrameBytes, 'welcome.maxFrameBytes')) +
    varintField(uint32(f.maxStateBytes, 'welcome.maxStateBytes')) +
    varintField(uint32(f.maxSubscriptions, 'welcome.maxSubscriptions')) +
    varintField(uint32(f.maxInFlight, 'welcome.maxInFlight')) +
    varintField(uint64(f.revision, 'welcome.revision')) +
    stringField(optionalString(f.storeEpoch, 'welcome.storeEpoch')) +
    (f.batches === true ? 2 : 0)
  );
}

export function writeWelcome(w: ProtoWriter, f: WelcomeFrame): void {
  writeVarintField(w, WELCOME_FIELD.protocolVersion, f.protocolVersion);
  writeStringField(w, WELCOME_FIELD.serverId, f.serverId);
  writeStringField(w, WELCOME_FIELD.identity, f.identity);
  writeVarintField(w, WELCOME_FIELD.maxFrameBytes, f.maxFrameBytes);
  writeVarintField(w, WELCOME_FIELD.maxStateBytes, f.maxStateBytes);
  writeVarintField(w, WELCOME_FIELD.maxSubscriptions, f.maxSubscriptions);
  writeVarintField(w, WELCOME_FIELD.maxInFlight, f.maxInFlight);
  writeVarintField(w, WELCOME_FIELD.revision, f.revision);
  writeStringField(w, WELCOME_FIELD.storeEpoch, f.storeEpoch);
  writeBoolField(w, WELCOME_FIELD.batches, f.batches);
}

export function sizeOfPublish(f: PublishFrame): number {
  const state = bytesOf(f.state, 'publish.state');
  return (
    varintField(uint64(f.requestId, 'publish.requestId')) +
    stringField(required(text(f.key, 'publish.key'), 'publish.key')) +
    optionalVarintField(f.version === undefined ? undefined : uint64(f.version, 'publish.version')) +
    optionalVarintField(f.ifVersion === undefined ? undefined : uint64(f.ifVersion, 'publish.ifVersion')) +
    (f.deleted === true ? 2 : 0) +
    stringField(optionalString(f.contentType, 'publish.contentType')) +
    (state.length === 0 ? 0 : 1 + lenFieldSize(state.length)) +
    optionalVarintField(f.ts === undefined ? undefined : uint64(f.ts, 'publish.ts')) +
    traceField(f.trace, 'publish.trace')
  );
}

export function writePublish(w: ProtoWriter, f: PublishFrame): void {
  writeVarintField(w, PUBLISH_FIELD.requestId, f.requestId);
  writeStringField(w, PUBLISH_FIELD.key, f.key);
  writeOptionalVarintField(w, PUBLISH_FIELD.version, f.version);
  writeOptionalVarintField(w, PUBLISH_FIELD.ifVersion, f.ifVersion);
  writeBoolField(w, PUBLISH_FIELD.deleted, f.deleted);
  writeStringField(w, PUBLISH_FIELD.contentType, f.contentType);
  writeBytesField(w, PUBLISH_FIELD.state, f.state);
  writeOptionalVarintField(w, PUBLISH_FIELD.ts, f.ts);
  writeTraceField(w, PUBLISH_FIELD.trace, f.trace);
}

export function sizeOfAck(f: AckFrame): number {
  const result = Object.hasOwn(APPLY_RESULT_WIRE, f.result) ? APPLY_RESULT_WIRE[f.result] : undefined;
  if (result === undefined) throw badFrame(`ack.result must be an ApplyResult, got ${String(f.result)}`);
  return (
    varintField(uint64(f.requestId, 'ack.requestId')) +
    varintField(result) +
    varintField(uint64(f.version, 'ack.version')) +
    varintField(uint64(f.revision, 'ack.revision'))
  );
}

export function writeAck(w: ProtoWriter, f: AckFrame): void {
  writeVarintField(w, ACK_FIELD.requestId, f.requestId);
  writeVarintField(w, ACK_FIELD.result, APPLY_RESULT_WIRE[f.result]);
  writeVarintField(w, ACK_FIELD.version, f.version);
  writeVarintField(w, ACK_FIELD.revision, f.revision);
}

export function sizeOfSubscribe(f: SubscribeFrame): number {
  return (
    varintField(uint32(f.subscriptionId, 'subscribe.subscriptionId')) +
    stringField(required(text(f.pattern, 'subscribe.pattern'), 'subscribe.pattern')) +
    optionalVarintField(
      f.sinceRevision === undefined ? undefined : uint64(f.sinceRevision, 'subscribe.sinceRevision'),
    )
  );
}

export function writeSubscribe(w: ProtoWriter, f: SubscribeFrame): void {
  writeVarintField(w, SUBSCRIBE_FIELD.subscriptionId, f.subscriptionId);
  writeStringField(w, SUBSCRIBE_FIELD.pattern, f.pattern);
  writeOptionalVarintField(w, SUBSCRIBE_FIELD.sinceRevision, f.sinceRevision);
}

/** Size of an entry's message body (without its tag and length in a SNAPSHOTS frame). */
export function sizeOfEntry(e: SnapshotEntry): number {
  if (e === null || typeof e !== 'object') throw badFrame('snapshot entry must be an object');
  const version = uint64(e.version, 'entry.version');
  if (version === 0) throw badFrame('entry.version is required');
  const state = bytesOf(e.state, 'entry.state');
  return (
    stringField(required(text(e.key, 'entry.key'), 'entry.key')) +
    varintField(version) +
    varintField(uint64(e.revision, 'entry.revision')) +
    varintField(uint64(e.ts, 'entry.ts')) +
    stringField(text(e.source, 'entry.source')) +
    (e.deleted === true ? 2 : 0) +
    stringField(optionalString(e.contentType, 'entry.contentType')) +
    (state.length === 0 ? 0 : 1 + lenFieldSize(state.length)) +
    traceField(e.trace, 'entry.trace') +
    stringField(optionalString(e.publisherId, 'entry.publisherId'))
  );
}

export function writeEntry(w: ProtoWriter, e: SnapshotEntry): void {
  writeStringField(w, ENTRY_FIELD.key, e.key);
  writeVarintField(w, ENTRY_FIELD.version, e.version);
  writeVarintField(w, ENTRY_FIELD.revision, e.revision);
  writeVarintField(w, ENTRY_FIELD.ts, e.ts);
  writeStringField(w, ENTRY_FIELD.source, e.source);
  writeBoolField(w, ENTRY_FIELD.deleted, e.deleted);
  writeStringField(w, ENTRY_FIELD.contentType, e.contentType);
  writeBytesField(w, ENTRY_FIELD.state, e.state);
  writeTraceField(w, ENTRY_FIELD.trace, e.trace);
  writeStringField(w, ENTRY_FIELD.publisherId, e.publisherId);
}

/** The header of a SNAPSHOTS frame: everything but the entries. */
export interface SnapshotsHeader {
  readonly subscriptionId: number;
  readonly resync?: boolean;
  readonly synced?: boolean;
  readonly revision?: number;
}

export function sizeOfSnapshotsHeader(h: SnapshotsHeader): number {
  return (
    varintField(uint32(h.subscriptionId, 'snapshots.subscriptionId')) +
    (h.resync === true ? 2 : 0) +
    (h.synced === true ? 2 : 0) +
    optionalVarintField(h.revision === undefined ? undefined : uint64(h.revision, 'snapshots.revision'))
  );
}

export function writeSnapshotsHeader(w: ProtoWriter, h: SnapshotsHeader): void {
  writeVarintField(w, SNAPSHOTS_FIELD.subscriptionId, h.subscriptionId);
  writeBoolField(w, SNAPSHOTS_FIELD.resync, h.resync);
  writeBoolField(w, SNAPSHOTS_FIELD.synced, h.synced);
  writeOptionalVarintField(w, SNAPSHOTS_FIELD.revision, h.revision);
}

export function sizeOfSnapshots(f: SnapshotsFrame): number {
  if (!Array.isArray(f.entries)) throw badFrame('snapshots.entries must be an array');
  let size = sizeOfSnapshotsHeader(f);
  for (const entry of f.entries) size += 1 + lenFieldSize(sizeOfEntry(entry));
  return size;
}

export function writeSnapshots(w: ProtoWriter, f: SnapshotsFrame): void {
  writeSnapshotsHeader(w, f);
  for (const entry of f.entries) {
    w.tag(tagOf(SNAPSHOTS_FIELD.entries, L));
    w.varint(sizeOfEntry(entry));
    writeEntry(w, entry);
  }
}

export function sizeOfError(f: ErrorFrame): number {
  if (!isErrorCode(f.code)) throw badFrame(`error.code must be an SbmpError code, got ${String(f.code)}`);
  return (
    stringField(f.code) +
    stringField(text(f.message, 'error.message')) +
    optionalVarintField(f.requestId === undefined ? undefined : uint64(f.requestId, 'error.requestId')) +
    optionalVarintField(
      f.subscriptionId === undefined ? undefined : uint32(f.subscriptionId, 'error.subscriptionId'),
    ) +
    optionalVarintField(
      f.currentVersion === undefined ? undefined : uint64(f.currentVersion, 'error.currentVersion'),
    ) +
    (f.retryable === true ? 2 : 0)
  );
}

export function writeError(w: ProtoWriter, f: ErrorFrame): void {
  writeStringField(w, ERROR_FIELD.code, f.code);
  writeStringField(w, ERROR_FIELD.message, f.message);
  writeOptionalVarintField(w, ERROR_FIELD.requestId, f.requestId);
  writeOptionalVarintField(w, ERROR_FIELD.subscriptionId, f.subscriptionId);
  writeOptionalVarintField(w, ERROR_FIELD.currentVersion, f.currentVersion);
  writeBoolField(w, ERROR_FIELD.retryable, f.retryable);
}

export function sizeOfGoaway(f: GoawayFrame): number {
  return (
    stringField(text(f.reason, 'goaway.reason')) +
    varintField(uint32(f.reconnectAfterMs, 'goaway.reconnectAfterMs'))
  );
}

export function writeGoaway(w: ProtoWriter, f: GoawayFrame): void {
  writeStringField(w, GOAWAY_FIELD.reason, f.reason);
  writeVarintField(w, GOAWAY_FIELD.reconnectAfterMs, f.reconnectAfterMs);
}
