// The public API of SBMP: a hand-picked list. Internal pieces for the server, CLI and tests
// are in ./internal.ts.
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
export type {
  CompactOutcome,
  ListOptions,
  ListPage,
  PutOptions,
  PutOutcome,
  RetentionPolicy,
  SnapshotInput,
  Store,
  StoreCapabilities,
  Watch,
  WatchEvent,
  WatchOptions,
} from './store/types.js';
