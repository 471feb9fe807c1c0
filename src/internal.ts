// Everything the server, CLI, benchmarks and tests share beyond the public API.

export { DEV_MODE } from './core/env.js';
export { ERROR_STATUS, isErrorCode } from './core/errors.js';
export * from './index.js';
