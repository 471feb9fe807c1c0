import { isErrorCode } from '../core/errors.js';
import { expect, L, type Mutable, missing, V } from './decode-support.js';
import type { ErrorFrame, GoawayFrame, HelloFrame, StateEncoding, WelcomeFrame } from './frame-types.js';
import { badFrame, type ProtoReader } from './protobuf-wire.js';
import {
  ERROR_FIELD,
  GOAWAY_FIELD,
  HELLO_FIELD,
  STATE_ENCODING_BY_WIRE,
  WELCOME_FIELD,
} from './wire-schema.js';

/** Decoders of the connection's control messages: HELLO, WELCOME, ERROR, GOAWAY. */

export function decodeHello(r: ProtoReader): HelloFrame {
  let protocolVersion = 0;
  let clientId = '';
  let token = '';
  let stateEncoding: StateEncoding = 'msgpack';
  let lastRevision: number | undefined;
  let batches = false;
  while (r.pos < r.end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case HELLO_FIELD.protocolVersion:
        expect(tag, V, 'hello.protocolVersion');
        protocolVersion = r.uint32('hello.protocolVersion');
        break;
      case HELLO_FIELD.clientId:
        expect(tag, L, 'hello.clientId');
        clientId = r.string('hello.clientId');
        break;
      case HELLO_FIELD.token:
        expect(tag, L, 'hello.token');
        token = r.string('hello.token');
        break;
      case HELLO_FIELD.stateEncoding: {
        expect(tag, V, 'hello.stateEncoding');
        const value = r.varint();
        const encoding = STATE_ENCODING_BY_WIRE[value];
        if (encoding === undefined) throw badFrame(`hello.stateEncoding ${value} is not a StateEncoding`);
        stateEncoding = encoding;
        break;
      }
      case HELLO_FIELD.lastRevision:
        expect(tag, V, 'hello.lastRevision');
        lastRevision = r.uint64('hello.lastRevision');
        break;
      case HELLO_FIELD.batches:
        expect(tag, V, 'hello.batches');
        batches = r.bool();
        break;
      default:
        r.skip(tag);
    }
  }
  if (protocolVersion === 0) throw missing('hello.protocolVersion');
  const frame: Mutable<HelloFrame> = { type: 'hello', protocolVersion, clientId, stateEncoding };
  if (token !== '') frame.token = token;
  if (lastRevision !== undefined) frame.lastRevision = lastRevision;
  if (batches) frame.batches = true;
  return frame;
}

export function decodeWelcome(r: ProtoReader): WelcomeFrame {
  const frame: Mutable<WelcomeFrame> = {
    type: 'welcome',
    protocolVersion: 0,
    serverId: '',
    maxFrameBytes: 0,
    maxStateBytes: 0,
    maxSubscriptions: 0,
    maxInFlight: 0,
    revision: 0,
  };
  let identity = '';
  let storeEpoch = '';
  let batches = false;
  while (r.pos < r.end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case WELCOME_FIELD.protocolVersion:
        expect(tag, V, 'welcome.protocolVersion');
        frame.protocolVersion = r.uint32('welcome.protocolVersion');
        break;
      case WELCOME_FIELD.serverId:
        expect(tag, L, 'welcome.serverId');
        frame.serverId = r.string('welcome.serverId');
        break;
      case WELCOME_FIELD.identity:
        expect(tag, L, 'welcome.identity');
        identity = r.string('welcome.identity');
        break;
      case WELCOME_FIELD.maxFrameBytes:
        expect(tag, V, 'welcome.maxFrameBytes');
        frame.maxFrameBytes = r.uint32('welcome.maxFrameBytes');
        break;
      case WELCOME_FIELD.maxStateBytes:
        expect(tag, V, 'welcome.maxStateBytes');
        frame.maxStateBytes = r.uint32('welcome.maxStateBytes');
        break;
      case WELCOME_FIELD.maxSubscriptions:
        expect(tag, V, 'welcome.maxSubscriptions');
        frame.maxSubscriptions = r.uint32('welcome.maxSubscriptions');
        break;
      case WELCOME_FIELD.maxInFlight:
        expect(tag, V, 'welcome.maxInFlight');
        frame.maxInFlight = r.uint32('welcome.maxInFlight');
        break;
      case WELCOME_FIELD.revision:
        expect(tag, V, 'welcome.revision');
        frame.revision = r.uint64('welcome.revision');
        break;
      case WELCOME_FIELD.storeEpoch:
        expect(tag, L, 'welcome.storeEpoch');
        storeEpoch = r.string('welcome.storeEpoch');
        break;
      case WELCOME_FIELD.batches:
        expect(tag, V, 'welcome.batches');
        batches = r.bool();
        break;
      default:
        r.skip(tag);
    }
  }
  if (frame.protocolVersion === 0) throw missing('welcome.protocolVersion');
  if (identity !== '') frame.identity = identity;
  if (storeEpoch !== '') frame.storeEpoch = storeEpoch;
  if (batches) frame.batches = true;
  return frame;
}

export function decodeError(r: ProtoReader): ErrorFrame {
  let code = '';
  let message = '';
  let requestId: number | undefined;
  let subscriptionId: number | undefined;
  let currentVersion: number | undefined;
  let retryable = false;
  while (r.pos < r.end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case ERROR_FIELD.code:
        expect(tag, L, 'error.code');
        code = r.string('error.code');
        break;
      case ERROR_FIELD.message:
        expect(tag, L, 'error.message');
        message = r.string('error.message');
        break;
      case ERROR_FIELD.requestId:
        expect(tag, V, 'error.requestId');
        requestId = r.uint64('error.requestId');
        break;
      case ERROR_FIELD.subscriptionId:
        expect(tag, V, 'error.subscriptionId');
        subscriptionId = r.uint32('error.subscriptionId');
        break;
      case ERROR_FIELD.currentVersion:
        expect(tag, V, 'error.currentVersion');
        currentVersion = r.uint64('error.currentVersion');
        break;
      case ERROR_FIELD.retryable:
        expect(tag, V, 'error.retryable');
        retryable = r.bool();
        break;
      default:
        r.skip(tag);
    }
  }
  if (code === '') throw missing('error.code');
  // A code from a newer peer is still an error: it is reported as `internal`, keeping the
  // message and the retryable flag, rather than refusing the whole frame.
  const frame: Mutable<ErrorFrame> = { type: 'error', code: isErrorCode(code) ? code : 'internal', message };
  if (requestId !== undefined) frame.requestId = requestId;
  if (subscriptionId !== undefined) frame.subscriptionId = subscriptionId;
  if (currentVersion !== undefined) frame.currentVersion = currentVersion;
  if (retryable) frame.retryable = true;
  return frame;
}

export function decodeGoaway(r: ProtoReader): GoawayFrame {
  let reason = '';
  let reconnectAfterMs = 0;
  while (r.pos < r.end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case GOAWAY_FIELD.reason:
        expect(tag, L, 'goaway.reason');
        reason = r.string('goaway.reason');
        break;
      case GOAWAY_FIELD.reconnectAfterMs:
        expect(tag, V, 'goaway.reconnectAfterMs');
        reconnectAfterMs = r.uint32('goaway.reconnectAfterMs');
        break;
      default:
        r.skip(tag);
    }
  }
  return { type: 'goaway', reason, reconnectAfterMs };
}
