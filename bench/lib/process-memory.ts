export interface ProcessMemory {
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

/**
 * This process's memory after a full GC when `--expose-gc` is on, so that the figure is what
 * is held rather than what awaits collection.
 */
export function processMemory(): ProcessMemory {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
}
