import { Worker } from 'node:worker_threads';

/**
 * Starts `file` (TypeScript) in a worker thread. A worker does not inherit the main thread's
 * `--import tsx`, so a two-line bootstrap registers tsx in the worker before importing the file.
 */
export function startTsWorker(file: URL, workerData: unknown): Worker {
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(file.href)}); });`;
  return new Worker(boot, { eval: true, workerData });
}
