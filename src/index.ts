// The public API of SBMP: a hand-picked list. Internal pieces for the server, CLI and tests
// are in ./internal.ts.
export type { ApplyOptions, ApplyResult } from './core/apply.js';
export { decideApply } from './core/apply.js';
export type { SbmpErrorCode, SbmpErrorOptions } from './core/errors.js';
export { isSbmpError, SbmpError } from './core/errors.js';
export type { KeyPattern } from './core/key.js';
export { compilePattern, isValidKey, MAX_KEY_BYTES, validateKey } from './core/key.js';
export type { Snapshot, StoredSnapshot, TraceContext } from './core/snapshot.js';
export { deepFreeze, sameContent, sameState } from './core/snapshot.js';
export { isValidVersion, MAX_VERSION, parseVersion, validateVersion } from './core/version.js';
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
} from './store/types.js';
