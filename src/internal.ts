// Everything the server, CLI, benchmarks and tests share beyond the public API.

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
