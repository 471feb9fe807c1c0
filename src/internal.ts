// Everything the server, CLI, benchmarks and tests share beyond the public API.

export type { CheckResult, CheckStatus, DoctorInput } from './cli/doctor/check.js';
export { CHECK_GROUPS, runDoctor } from './cli/doctor/run.js';
export { EXIT, exitCodeFor } from './cli/exit-codes.js';
export type {
  HttpApiOptions,
  HttpListPage,
  HttpPutOptions,
  HttpWriteOutcome,
  Lookup,
} from './client/http-api.js';
export { HttpApi } from './client/http-api.js';
export { resolveServerUrls } from './client/urls.js';
export type {
  AckFrame,
  ErrorFrame,
  Frame,
  FrameType,
  GoawayFrame,
  HelloFrame,
  PingFrame,
  PongFrame,
  PublishFrame,
  SnapshotEntry,
  SnapshotsFrame,
  SubscribeFrame,
  UnsubscribeFrame,
  WelcomeFrame,
} from './codec/frame-types.js';
export { PROTOCOL_VERSION } from './codec/frame-types.js';
export type { DecodeFrameOptions, SnapshotsHeader } from './codec/frames.js';
export {
  decodeFrame,
  decodeSnapshotEntry,
  encodeFrame,
  encodeSnapshotEntry,
  encodeSnapshotsFrame,
  MAX_FRAME_BYTES_DEFAULT,
  SNAPSHOTS_FRAME_OVERHEAD_MAX,
  snapshotEntryFrameBytes,
} from './codec/frames.js';
export { decodeState, encodeState, stateEncodingOf } from './codec/state.js';
export type { WsCloseCode } from './codec/ws-protocol.js';
export { closeCodeForError } from './codec/ws-protocol.js';
export { DEV_MODE } from './core/env.js';
export { ERROR_STATUS, isErrorCode } from './core/errors.js';
export * from './index.js';
export type { BufferLender } from './pool/arena.js';
export { coarseNow } from './pool/clock.js';
export type { FreeList } from './pool/free-list.js';
export { GenerationalFreeList } from './pool/free-list.js';
export type { Ageable } from './pool/generations.js';
export { agingSubscriberCount, majorGcCount, onMajorGc, subscribeToGcAging } from './pool/generations.js';
export type { PoolStatsSource } from './pool/stats.js';
export type { CompactionFigures, CompactionResult, PeriodicCompactionOptions } from './server/compaction.js';
export { DEFAULT_COMPACT_INTERVAL_MS, PeriodicCompaction } from './server/compaction.js';
export { parseByteSize } from './server/guards/byte-size.js';
export { registerGuardMetrics } from './server/guards/guard-metrics.js';
export type {
  LifecycleHook,
  LifecycleOptions,
  LifecyclePhase,
  LifecycleStatus,
  LifecycleStep,
  StopFailure,
} from './server/guards/lifecycle.js';
export { LIFECYCLE_PHASES, Lifecycle } from './server/guards/lifecycle.js';
export type { LoopLagFigures, LoopLagOptions } from './server/guards/loop-lag.js';
export { LoopLag } from './server/guards/loop-lag.js';
export type { MemoryLimit, MemoryLimitOptions, MemoryLimitSource } from './server/guards/memory-limit.js';
export {
  MAX_PLAUSIBLE_LIMIT_BYTES,
  MIN_MEMORY_LIMIT_BYTES,
  parseCgroupValue,
  readCgroupLimit,
  resolveMemoryLimit,
} from './server/guards/memory-limit.js';
export type {
  MemoryWatermarkOptions,
  WatermarkChange,
  WatermarkFigures,
  WatermarkState,
} from './server/guards/memory-watermark.js';
export {
  DEFAULT_WATERMARK_THRESHOLDS,
  MemoryWatermark,
  nextWatermarkState,
} from './server/guards/memory-watermark.js';
export type { GuardedAction, GuardFigures, ServerGuardOptions } from './server/guards/server-guards.js';
export { ServerGuards } from './server/guards/server-guards.js';
export type {
  BreakerFigures,
  BreakerState,
  GuardedStore,
  StoreBreakerOptions,
} from './server/guards/store-breaker.js';
export { DEFAULT_STORE_BREAKER, guardStore, isStoreFailure } from './server/guards/store-breaker.js';
export type { ServerLimits } from './server/limits.js';
export { DEFAULT_SERVER_LIMITS, resolveLimits } from './server/limits.js';
export type { DebugOptions, ResolvedDebugOptions } from './server/observability/debug-access.js';
export {
  DEFAULT_MAX_HEAP_SNAPSHOT_BYTES,
  isLoopbackAddress,
  resolveDebugOptions,
} from './server/observability/debug-access.js';
export { defaultLogger, LOG_LEVEL_ENV, REQUEST_ID_HEADER } from './server/observability/logging.js';
export type { PublishOrigin } from './server/observability/publish-observer.js';
export { storeOperationHistogram, timeStore } from './server/observability/store-timing.js';
export type { TraceContextV2, Traceparent } from './server/observability/trace-context.js';
export {
  checkTraceContext,
  parseTraceContextV2,
  parseTraceparent,
  TRACE_CONTEXT_V2_HEADER,
  traceFromHeaders,
  traceResponseHeaders,
} from './server/observability/trace-context.js';
export { MAX_DELIVERY_LINKS, TRACER_NAME } from './server/observability/tracing.js';
export type { CheckedRunConfig, RunServerConfig } from './server/run-config.js';
export { checkRunConfig, DEFAULT_HEARTBEAT_MS, RUN_SERVER_STOP_TIMEOUT_MS } from './server/run-config.js';
export type { RunContext, RunningServer, RunServerHooks } from './server/run-server.js';
export { runServer } from './server/run-server.js';
export type { SbmpServer, ServerOptions } from './server/server.js';
export { DEFAULT_HOST, DEFAULT_PORT, startServer } from './server/server.js';
export { LmdbStore, openLmdbStore } from './store/lmdb.js';
export { checkDataFile } from './store/lmdb-file-check.js';
export { verifyInChildProcess } from './store/lmdb-verify.js';
export { DEFAULT_MAX_REVISIONS, DEFAULT_TOMBSTONE_MS } from './store/retention.js';
export { preparePut } from './store/validate.js';
export type { IndexPage, WatchSource } from './store/watch-hub.js';
export { WATCH_PAGE_ENTRIES, WatchHub } from './store/watch-hub.js';
