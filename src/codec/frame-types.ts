import type { ApplyResult } from '../core/apply.js';
import type { SbmpErrorCode } from '../core/errors.js';
import type { TraceContext } from '../core/snapshot.js';

/**
 * The WebSocket protocol's frames as TypeScript values. `proto/sbmp.proto` is the
 * language-neutral definition; `frames.ts` encodes these to and from its bytes.
 * Every frame travels alone in one binary WebSocket message.
 */
export const PROTOCOL_VERSION = 3;

/** How `state` bytes are encoded on this connection; chosen by the client in HELLO. */
export type StateEncoding = 'msgpack' | 'json';

/** Client -> server, first frame of every connection. */
export interface HelloFrame {
  readonly type: 'hello';
  readonly protocolVersion: number;
  readonly clientId: string;
  /** A bearer token (signed JWT) when the server requires one. */
  readonly token?: string;
  readonly stateEncoding: StateEncoding;
  /** Resume hint: the client held state up to this revision before reconnecting. */
  readonly lastRevision?: number;
  /** The client reads BATCH messages (several frames in one message); see `encodeBatch`. */
  readonly batches?: boolean;
}

/** Server -> client, the answer to HELLO: the limits this connection is held to. */
export interface WelcomeFrame {
  readonly type: 'welcome';
  readonly protocolVersion: number;
  readonly serverId: string;
  /** The identity the server authenticated, if any. */
  readonly identity?: string;
  readonly maxFrameBytes: number;
  readonly maxStateBytes: number;
  readonly maxSubscriptions: number;
  readonly maxInFlight: number;
  /** The store's latest revision when the connection was accepted. */
  readonly revision: number;
  /**
   * The store's epoch: revisions compare only within one epoch, so a client that resumed under
   * another epoch must resync in full. Absent from servers that predate it.
   */
  readonly storeEpoch?: string;
  /** The server reads BATCH messages (several frames in one message); see `encodeBatch`. */
  readonly batches?: boolean;
}

export interface PublishFrame {
  readonly type: 'publish';
  /** Echoed in the ACK or ERROR; unique among the connection's in-flight publishes. */
  readonly requestId: number;
  readonly key: string;
  /** 1..2^53-1, or omitted: the store assigns the next version. */
  readonly version?: number;
  /** Compare-and-set: applies only if the current version is exactly this (0: key never written). */
  readonly ifVersion?: number;
  readonly deleted?: boolean;
  /** Empty means the connection's state encoding. */
  readonly contentType?: string;
  /** The state, encoded as the connection's state encoding or `contentType` says. */
  readonly state: Uint8Array;
  readonly ts?: number;
  readonly trace?: TraceContext;
}

export interface AckFrame {
  readonly type: 'ack';
  readonly requestId: number;
  readonly result: ApplyResult;
  /** Applied version, or the current version for stale / conflict. */
  readonly version: number;
  readonly revision: number;
}

export interface SubscribeFrame {
  readonly type: 'subscribe';
  /** Chosen by the client, unique among its live subscriptions; tags every SNAPSHOTS frame. */
  readonly subscriptionId: number;
  readonly pattern: string;
  /** Resume: deliver changes after this revision. Omitted: current state of every matching key. */
  readonly sinceRevision?: number;
}

export interface UnsubscribeFrame {
  readonly type: 'unsubscribe';
  readonly subscriptionId: number;
}

/** One delivered snapshot inside a SNAPSHOTS frame. */
export interface SnapshotEntry {
  readonly key: string;
  readonly version: number;
  readonly revision: number;
  readonly ts: number;
  readonly source: string;
  readonly deleted?: boolean;
  readonly contentType?: string;
  readonly state: Uint8Array;
  readonly trace?: TraceContext;
  /** The publisher's authenticated identity (SPIFFE ID or JWT subject), set by the server only. */
  readonly publisherId?: string;
}

export interface SnapshotsFrame {
  readonly type: 'snapshots';
  readonly subscriptionId: number;
  readonly entries: readonly SnapshotEntry[];
  /** This frame begins a full resync: drop held keys of this subscription not delivered before `synced`. */
  readonly resync?: boolean;
  /** After this frame the backlog is complete; later frames are live. */
  readonly synced?: boolean;
  /**
   * With `synced`: the revision the subscription is caught up to. Whenever present (always with
   * `synced`, and on live frames sent while nothing else is pending), it is the resume point:
   * every matching change up to it has been delivered, or superseded by a newer version of its
   * key. Resume with `sinceRevision` = the last one received, never an entry's own revision
   * (conflation may deliver a later revision before an earlier one of another key).
   */
  readonly revision?: number;
}

export interface PingFrame {
  readonly type: 'ping';
  readonly nonce: number;
}

export interface PongFrame {
  readonly type: 'pong';
  readonly nonce: number;
}

export interface ErrorFrame {
  readonly type: 'error';
  readonly code: SbmpErrorCode;
  readonly message: string;
  /** Set when the error answers a PUBLISH. */
  readonly requestId?: number;
  /** Set when the error concerns a subscription (which is then closed). */
  readonly subscriptionId?: number;
  /** For stale / conflict: the version currently held. */
  readonly currentVersion?: number;
  readonly retryable?: boolean;
}

/** Server -> client: stop sending, reconnect (elsewhere) after the hint; the server closes soon. */
export interface GoawayFrame {
  readonly type: 'goaway';
  readonly reason: string;
  readonly reconnectAfterMs: number;
}

export type Frame =
  | HelloFrame
  | WelcomeFrame
  | PublishFrame
  | AckFrame
  | SubscribeFrame
  | UnsubscribeFrame
  | SnapshotsFrame
  | PingFrame
  | PongFrame
  | ErrorFrame
  | GoawayFrame;

export type FrameType = Frame['type'];
