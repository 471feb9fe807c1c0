import type { ApplyResult } from '../core/apply.js';
import type { FrameType, StateEncoding } from './frame-types.js';

/**
 * Field numbers and enum values of `proto/sbmp.proto`, defined once here for the encoder and
 * the decoder. A test loads the .proto with a reference protobuf library and checks every
 * number below against it, so the two cannot drift apart.
 */

/** `Frame.body`: the field number of each frame type. */
export const FRAME_FIELD: { readonly [T in FrameType]: number } = {
  hello: 1,
  welcome: 2,
  publish: 3,
  ack: 4,
  subscribe: 5,
  unsubscribe: 6,
  snapshots: 7,
  ping: 8,
  pong: 9,
  error: 10,
  goaway: 11,
};

/** Frame type by field number (index 0 unused). */
export const FRAME_TYPE_BY_FIELD: readonly (FrameType | undefined)[] = (() => {
  const byField: (FrameType | undefined)[] = [];
  for (const [type, field] of Object.entries(FRAME_FIELD)) byField[field] = type as FrameType;
  return byField;
})();

/** `Frame.body.batch`: a `BatchFrame`, several frames in one message (not a `FrameType`). */
export const BATCH_BODY_FIELD = 12;

export const BATCH_FIELD = { frames: 1 } as const;

export const TRACE_FIELD = { traceparent: 1, tracestate: 2 } as const;

export const HELLO_FIELD = {
  protocolVersion: 1,
  clientId: 2,
  token: 3,
  stateEncoding: 4,
  lastRevision: 5,
  batches: 6,
} as const;

export const WELCOME_FIELD = {
  protocolVersion: 1,
  serverId: 2,
  identity: 3,
  maxFrameBytes: 4,
  maxStateBytes: 5,
  maxSubscriptions: 6,
  maxInFlight: 7,
  revision: 8,
  storeEpoch: 9,
  batches: 10,
} as const;

export const PUBLISH_FIELD = {
  requestId: 1,
  key: 2,
  version: 3,
  ifVersion: 4,
  deleted: 5,
  contentType: 6,
  state: 7,
  ts: 8,
  trace: 9,
} as const;

export const ACK_FIELD = { requestId: 1, result: 2, version: 3, revision: 4 } as const;

export const SUBSCRIBE_FIELD = { subscriptionId: 1, pattern: 2, sinceRevision: 3 } as const;

export const UNSUBSCRIBE_FIELD = { subscriptionId: 1 } as const;

export const ENTRY_FIELD = {
  key: 1,
  version: 2,
  revision: 3,
  ts: 4,
  source: 5,
  deleted: 6,
  contentType: 7,
  state: 8,
  trace: 9,
  publisherId: 10,
} as const;

export const SNAPSHOTS_FIELD = {
  subscriptionId: 1,
  resync: 2,
  synced: 3,
  revision: 4,
  entries: 5,
} as const;

export const PING_FIELD = { nonce: 1 } as const;

export const PONG_FIELD = { nonce: 1 } as const;

export const ERROR_FIELD = {
  code: 1,
  message: 2,
  requestId: 3,
  subscriptionId: 4,
  currentVersion: 5,
  retryable: 6,
} as const;

export const GOAWAY_FIELD = { reason: 1, reconnectAfterMs: 2 } as const;

/** `enum StateEncoding`. MessagePack is 0, so a HELLO that says nothing gets the default. */
export const STATE_ENCODING_WIRE: { readonly [E in StateEncoding]: number } = { msgpack: 0, json: 1 };

export const STATE_ENCODING_BY_WIRE: readonly StateEncoding[] = ['msgpack', 'json'];

/** `enum ApplyResult`. 0 is UNSPECIFIED: an ACK without a result is malformed. */
export const APPLY_RESULT_WIRE: { readonly [R in ApplyResult]: number } = {
  applied: 1,
  duplicate: 2,
  conflict: 3,
  stale: 4,
};

export const APPLY_RESULT_BY_WIRE: readonly (ApplyResult | undefined)[] = [
  undefined,
  'applied',
  'duplicate',
  'conflict',
  'stale',
];
