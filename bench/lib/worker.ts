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

/** The worker's next message; rejects if it errors first or says nothing within `timeoutMs`. */
export function nextWorkerMessage<T>(worker: Worker, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: T) => {
      cleanup();
      resolve(message);
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('error', onError);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
  });
}
