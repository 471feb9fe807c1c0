import type { ApplyResult } from '../core/apply.js';
import type { TraceContext } from '../core/snapshot.js';
import { decodeTrace, EMPTY_BYTES, expect, L, type Mutable, missing, nested, V } from './decode-support.js';
import type { AckFrame, PublishFrame, SnapshotEntry, SnapshotsFrame, SubscribeFrame } from './frame-types.js';
import { badFrame, type ProtoReader, StringMemo } from './protobuf-wire.js';
import {
  ACK_FIELD,
  APPLY_RESULT_BY_WIRE,
  ENTRY_FIELD,
  PUBLISH_FIELD,
  SNAPSHOTS_FIELD,
  SUBSCRIBE_FIELD,
} from './wire-schema.js';

/** Decoders of the messages that carry data: PUBLISH, ACK, SUBSCRIBE, SNAPSHOTS and their entries. */

// Fields that repeat from one message to the next (see `ProtoReader.recurringString`): every
// snapshot of one producer has its source, most share a content type.
const publishContentType = new StringMemo();
const entrySource = new StringMemo();
const entryContentType = new StringMemo();
const entryPublisherId = new StringMemo();

export function decodePublish(r: ProtoReader): PublishFrame {
  let requestId = 0;
  let key = '';
  let version: number | undefined;
  let ifVersion: number | undefined;
  let deleted = false;
  let contentType = '';
  let state = EMPTY_BYTES;
  let ts: number | undefined;
  let trace: TraceContext | undefined;
  while (r.pos < r.end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case PUBLISH_FIELD.requestId:
        expect(tag, V, 'publish.requestId');
        requestId = r.uint64('publish.requestId');
        break;
      case PUBLISH_FIELD.key:
        expect(tag, L, 'publish.key');
        key = r.string('publish.key');
        break;
      case PUBLISH_FIELD.version:
        expect(tag, V, 'publish.version');
        version = r.uint64('publish.version');
        break;
      case PUBLISH_FIELD.ifVersion:
        expect(tag, V, 'publish.ifVersion');
        ifVersion = r.uint64('publish.ifVersion');
        break;
      case PUBLISH_FIELD.deleted:
        expect(tag, V, 'publish.deleted');
        deleted = r.bool();
        break;
      case PUBLISH_FIELD.contentType:
        expect(tag, L, 'publish.contentType');
        contentType = r.recurringString('publish.contentType', publishContentType);
        break;
      case PUBLISH_FIELD.state:
        expect(tag, L, 'publish.state');
        state = r.bytes('publish.state');
        break;
      case PUBLISH_FIELD.ts:
        expect(tag, V, 'publish.ts');
        ts = r.uint64('publish.ts');
        break;
      case PUBLISH_FIELD.trace:
        expect(tag, L, 'publish.trace');
        trace = nested(r, 'publish.trace', decodeTrace);
        break;
      default:
        r.skip(tag);
    }
  }
  if (key === '') throw missing('publish.key');
  const frame: Mutable<PublishFrame> = { type: 'publish', requestId, key, state };
  if (version !== undefined) frame.version = version;
  if (ifVersion !== undefined) frame.ifVersion = ifVersion;
  if (deleted) frame.deleted = true;
  if (contentType !== '') frame.contentType = contentType;
  if (ts !== undefined) frame.ts = ts;
  if (trace !== undefined) frame.trace = trace;
  return frame;
}

export function decodeAck(r: ProtoReader): AckFrame {
  let requestId = 0;
  let result: ApplyResult | undefined;
  let version = 0;
  let revision = 0;
  while (r.pos < r.end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case ACK_FIELD.requestId:
        expect(tag, V, 'ack.requestId');
        requestId = r.uint64('ack.requestId');
        break;
      case ACK_FIELD.result: {
        expect(tag, V, 'ack.result');
        const value = r.varint();
        result = APPLY_RESULT_BY_WIRE[value];
        if (result === undefined) throw badFrame(`ack.result ${value} is not an ApplyResult`);
        break;
      }
      case ACK_FIELD.version:
        expect(tag, V, 'ack.version');
        version = r.uint64('ack.version');
        break;
      case ACK_FIELD.revision:
        expect(tag, V, 'ack.revision');
        revision = r.uint64('ack.revision');
        break;
      default:
        r.skip(tag);
    }
  }
  if (result === undefined) throw missing('ack.result');
  return { type: 'ack', requestId, result, version, revision };
}

export function decodeSubscribe(r: ProtoReader): SubscribeFrame {
  let subscriptionId = 0;
  let pattern = '';
  let sinceRevision: number | undefined;
  while (r.pos < r.end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case SUBSCRIBE_FIELD.subscriptionId:
        expect(tag, V, 'subscribe.subscriptionId');
        subscriptionId = r.uint32('subscribe.subscriptionId');
        break;
      case SUBSCRIBE_FIELD.pattern:
        expect(tag, L, 'subscribe.pattern');
        pattern = r.string('subscribe.pattern');
        break;
      case SUBSCRIBE_FIELD.sinceRevision:
        expect(tag, V, 'subscribe.sinceRevision');
        sinceRevision = r.uint64('subscribe.sinceRevision');
        break;
      default:
        r.skip(tag);
    }
  }
  if (pattern === '') throw missing('subscribe.pattern');
  const frame: Mutable<SubscribeFrame> = { type: 'subscribe', subscriptionId, pattern };
  if (sinceRevision !== undefined) frame.sinceRevision = sinceRevision;
  return frame;
}

export function decodeEntryFields(r: ProtoReader): SnapshotEntry {
  let key = '';
  let version = 0;
  let revision = 0;
  let ts = 0;
  let source = '';
  let deleted = false;
  let contentType = '';
  let state = EMPTY_BYTES;
  let trace: TraceContext | undefined;
  let publisherId = '';
  while (r.pos < r.end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case ENTRY_FIELD.key:
        expect(tag, L, 'entry.key');
        key = r.string('entry.key');
        break;
      case ENTRY_FIELD.version:
        expect(tag, V, 'entry.version');
        version = r.uint64('entry.version');
        break;
      case ENTRY_FIELD.revision:
        expect(tag, V, 'entry.revision');
        revision = r.uint64('entry.revision');
        break;
      case ENTRY_FIELD.ts:
        expect(tag, V, 'entry.ts');
        ts = r.uint64('entry.ts');
        break;
      case ENTRY_FIELD.source:
        expect(tag, L, 'entry.source');
        source = r.recurringString('entry.source', entrySource);
        break;
      case ENTRY_FIELD.deleted:
        expect(tag, V, 'entry.deleted');
        deleted = r.bool();
        break;
      case ENTRY_FIELD.contentType:
        expect(tag, L, 'entry.contentType');
        contentType = r.recurringString('entry.contentType', entryContentType);
        break;
      case ENTRY_FIELD.state:
        expect(tag, L, 'entry.state');
        state = r.bytes('entry.state');
        break;
      case ENTRY_FIELD.trace:
        expect(tag, L, 'entry.trace');
        trace = nested(r, 'entry.trace', decodeTrace);
        break;
      case ENTRY_FIELD.publisherId:
        expect(tag, L, 'entry.publisherId');
        publisherId = r.recurringString('entry.publisherId', entryPublisherId);
        break;
      default:
        r.skip(tag);
    }
  }
  if (key === '') throw missing('entry.key');
  if (version === 0) throw missing('entry.version');
  // A content type is in the literal itself, so the entry needs no property array for it (a
  // receiver may keep the entry as its snapshot: see `decodeDelivery`).
  const entry: Mutable<SnapshotEntry> =
    contentType === ''
      ? { key, version, revision, ts, source, state }
      : { key, version, revision, ts, source, state, contentType };
  if (deleted) entry.deleted = true;
  if (trace !== undefined) entry.trace = trace;
  if (publisherId !== '') entry.publisherId = publisherId;
  return entry;
}

export function decodeSnapshots(r: ProtoReader): SnapshotsFrame {
  let subscriptionId = 0;
  let resync = false;
  let synced = false;
  let revision: number | undefined;
  const entries: SnapshotEntry[] = [];
  while (r.pos < r.end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case SNAPSHOTS_FIELD.subscriptionId:
        expect(tag, V, 'snapshots.subscriptionId');
        subscriptionId = r.uint32('snapshots.subscriptionId');
        break;
      case SNAPSHOTS_FIELD.resync:
        expect(tag, V, 'snapshots.resync');
        resync = r.bool();
        break;
      case SNAPSHOTS_FIELD.synced:
        expect(tag, V, 'snapshots.synced');
        synced = r.bool();
        break;
      case SNAPSHOTS_FIELD.revision:
        expect(tag, V, 'snapshots.revision');
        revision = r.uint64('snapshots.revision');
        break;
      case SNAPSHOTS_FIELD.entries:
        expect(tag, L, 'snapshots.entries');
        // A constant name: one built with the entry's index cost a string per entry.
        entries.push(nested(r, 'snapshots.entries', decodeEntryFields));
        break;
      default:
        r.skip(tag);
    }
  }
  const frame: Mutable<SnapshotsFrame> = { type: 'snapshots', subscriptionId, entries };
  if (resync) frame.resync = true;
  if (synced) frame.synced = true;
  if (revision !== undefined) frame.revision = revision;
  return frame;
}
