// The public API of SBMP: a hand-picked list. Internal pieces for the server, CLI and tests
// are in ./internal.ts.

export type { Ack } from './client/ack.js';
export { isAccepted, throwIfRefused } from './client/ack.js';
export type { ReconnectOptions } from './client/backoff.js';
export type { ClientStats, ClientStatus } from './client/client.js';
export { SbmpClient } from './client/client.js';
export type { DeliveredSnapshot } from './client/delivery.js';
export type { ClientOptions } from './client/options.js';
export type { PublishOptions } from './client/publish-request.js';
export type { SnapshotListener, SubscribeOptions } from './client/subscription.js';
export { Subscription } from './client/subscription.js';
export type {
  Transport,
  TransportCloseInfo,
  TransportFactory,
  TransportHandlers,
} from './client/transport.js';
export { webSocketTransport } from './client/transport.js';
export type { StateEncoding } from './codec/frame-types.js';
export { MAX_STATE_DEPTH, STATE_CONTENT_TYPE } from './codec/state.js';
export { WS_CLOSE, WS_PATH } from './codec/ws-protocol.js';
export type { ApplyOptions, ApplyResult } from './core/apply.js';
export { decideApply } from './core/apply.js';
export type { RecvCase, RecvResult, SendCase } from './core/channel.js';
export { Channel, MAX_CHANNEL_CAPACITY } from './core/channel.js';
export type { SbmpErrorCode, SbmpErrorOptions } from './core/errors.js';
export { isSbmpError, SbmpError } from './core/errors.js';
export type { HlcParts, HybridLogicalClockOptions } from './core/hlc.js';
export {
  DEFAULT_MAX_DRIFT_MS,
  decodeHlc,
  encodeHlc,
  HLC_LOGICAL_BITS,
  HLC_MAX_PHYSICAL_MS,
  HybridLogicalClock,
} from './core/hlc.js';
export type { KeyPattern } from './core/key.js';
export { compilePattern, isValidKey, MAX_KEY_BYTES, validateKey } from './core/key.js';
export type { ConflatingMailboxOptions, OfferResult } from './core/mailbox.js';
export { ConflatingMailbox } from './core/mailbox.js';
export type {
  ApplyOutcome,
  ListenerErrorHandler,
  ReplicaMapOptions,
  ReplicaOptions,
} from './core/replica.js';
export { Replica, ReplicaMap } from './core/replica.js';
export type {
  CaseOutcome,
  DefaultOutcome,
  RecvOutcome,
  SelectCase,
  SelectOptions,
  SendOutcome,
  TimeoutOutcome,
} from './core/select.js';
export { MAX_SELECT_TIMEOUT_MS, select } from './core/select.js';
export type { Snapshot, StoredSnapshot, TraceContext } from './core/snapshot.js';
export { deepFreeze, sameContent, sameState } from './core/snapshot.js';
export { isValidVersion, MAX_VERSION, parseVersion, validateVersion } from './core/version.js';
export type {
  ConcurrentPolicy,
  VectorApplyDecision,
  VectorOrder,
  VectorResolution,
  VectorState,
  VersionVector,
} from './core/version-vector.js';
export {
  compareVectors,
  decideVectorApply,
  emptyVector,
  incrementVector,
  mergeVectors,
  resolveConcurrent,
  validateVector,
} from './core/version-vector.js';
export type { Arena, ArenaOptions } from './pool/arena.js';
export { DEFAULT_ARENA_MAX_BYTES } from './pool/arena.js';
export type { BufferClassStats, BufferPoolOptions } from './pool/buffer-pool.js';
export {
  BufferPool,
  DEBUG_FILL_BYTE,
  DEFAULT_BUFFER_CLASSES,
  DEFAULT_MAX_ACQUIRE_BYTES,
  DEFAULT_MAX_BYTES_PER_CLASS,
  MAX_BUFFER_CLASS,
} from './pool/buffer-pool.js';
export type { PoolClock } from './pool/clock.js';
export type { ObjectPoolOptions } from './pool/object-pool.js';
export { DEFAULT_OBJECT_POOL_MAX_SIZE, MAX_OBJECT_POOL_SIZE, ObjectPool } from './pool/object-pool.js';
export type { PoolDescriptor, PoolName, PoolNamePart } from './pool/registry.js';
export {
  defaultRegistry,
  isRegistered,
  isValidPoolName,
  listPools,
  MAX_POOL_NAME_LENGTH,
  PoolRegistry,
  parsePoolName,
  poolStats,
  registerPool,
} from './pool/registry.js';
export type { PoolStats } from './pool/stats.js';
export type { PoolMisuseReason } from './pool/validate.js';
export type { LmdbStore, LmdbStoreOptions } from './store/lmdb.js';
export type { MemoryStoreOptions } from './store/memory.js';
export { MemoryStore } from './store/memory.js';
export type { OpenStoreOptions, StoreSpec } from './store/open.js';
export { DEFAULT_LMDB_PATH, openStore, parseStoreSpec } from './store/open.js';
export { putVia } from './store/put-via.js';
export type {
  CompactOutcome,
  ListOptions,
  ListPage,
  PutOptions,
  PutOutcome,
  PutReceiver,
  RetentionPolicy,
  SnapshotInput,
  Store,
  StoreCapabilities,
  Watch,
  WatchEvent,
  WatchListener,
  WatchOptions,
} from './store/types.js';
export { DEFAULT_MAX_STATE_BYTES } from './store/validate.js';
