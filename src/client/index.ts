// The browser-safe entry point, `sbmp/client`: the SDK and the core it hands out (snapshots,
// replicas, errors, keys), with nothing that needs Node (no pools, stores or server).
export type { ApplyOptions, ApplyResult } from '../core/apply.js';
export type { SbmpErrorCode } from '../core/errors.js';
export { isSbmpError, SbmpError } from '../core/errors.js';
export type { KeyPattern } from '../core/key.js';
export { compilePattern, isValidKey, validateKey } from '../core/key.js';
export type { ApplyOutcome } from '../core/replica.js';
export { Replica, ReplicaMap } from '../core/replica.js';
export type { Snapshot, StoredSnapshot, TraceContext } from '../core/snapshot.js';
export { MAX_VERSION } from '../core/version.js';
export type { Ack } from './ack.js';
export { isAccepted, throwIfRefused } from './ack.js';
export type { ReconnectOptions } from './backoff.js';
export type { ClientStats, ClientStatus } from './client.js';
export { SbmpClient } from './client.js';
export type { DeliveredSnapshot } from './delivery.js';
export type { ClientOptions } from './options.js';
export type { PublishOptions } from './publish-request.js';
export type { SnapshotListener, SubscribeOptions } from './subscription.js';
export { Subscription } from './subscription.js';
export type { Transport, TransportCloseInfo, TransportFactory, TransportHandlers } from './transport.js';
export { webSocketTransport } from './transport.js';
