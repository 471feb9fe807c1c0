/**
 * Development mode deep-freezes published states and turns on pool misuse detection.
 * It is on unless NODE_ENV is 'production'; read once at load so hot paths test a constant.
 * Works in browsers too, where `process` may not exist.
 */
const nodeEnv = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
  ?.NODE_ENV;

export const DEV_MODE: boolean = nodeEnv !== 'production';
