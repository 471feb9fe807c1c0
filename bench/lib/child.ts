/**
 * Servers under test run in a child Node process, as nats-server and redis-server run in
 * theirs: the bench process holds only the clients, so every subject's server has a core of
 * its own and no subject's server shares an event loop with the load generator.
 *
 * Parent side: `startChild(file, init)` forks `file` (TypeScript, through tsx), waits for its
 * `ready` message, and offers `request(name)` and `close()`. Child side: `runAsChild(start)`.
 * Messages travel over the IPC channel as JSON.
 */
import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Time a child has to start and say ready. */
const READY_TIMEOUT_MS = 15_000;
/** Time a request to a child may take. */
const REQUEST_TIMEOUT_MS = 10_000;
/** Time a child has to exit after `close` before it is killed. */
const CLOSE_TIMEOUT_MS = 8000;

type ParentMessage =
  | { readonly type: 'request'; readonly id: number; readonly name: string }
  | { readonly type: 'close' };
type ChildMessage =
  | { readonly type: 'ready'; readonly ready: unknown }
  | { readonly type: 'reply'; readonly id: number; readonly reply?: unknown; readonly error?: string }
  | { readonly type: 'failed'; readonly error: string };

export interface ChildHandle<Ready> {
  readonly ready: Ready;
  readonly pid: number;
  /** Asks the child for a named figure (`handlers[name]()` on its side). */
  request<T>(name: string): Promise<T>;
  /** Asks the child to shut down; kills it if it takes too long. Idempotent. */
  close(): Promise<void>;
}

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export function startChild<Ready>(file: URL, init: unknown): Promise<ChildHandle<Ready>> {
  const child = fork(fileURLToPath(file), [JSON.stringify(init)], {
    // BENCH_CHILD_ARGS adds Node options to the servers under test, e.g. '--cpu-prof'.
    execArgv: [
      '--import',
      'tsx',
      '--expose-gc',
      ...(process.env.BENCH_CHILD_ARGS?.split(' ').filter(Boolean) ?? []),
    ],
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      for (const waiter of pending.values()) waiter.reject(new Error(`child exited (${signal ?? code})`));
      pending.clear();
      resolve();
    });
  });
  child.on('message', (raw) => {
    const message = raw as ChildMessage;
    if (message.type !== 'reply') return;
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.error !== undefined) waiter?.reject(new Error(message.error));
    else waiter?.resolve(message.reply);
  });
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      if (child.connected) child.send({ type: 'close' } satisfies ParentMessage);
      const timer = setTimeout(() => child.kill('SIGKILL'), CLOSE_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    })();
    return closed;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void close();
      reject(new Error(`${file.pathname} did not become ready within ${READY_TIMEOUT_MS} ms`));
    }, READY_TIMEOUT_MS);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${file.pathname} exited before it was ready (${signal ?? `code ${code}`})`));
    });
    const onMessage = (raw: unknown) => {
      const message = raw as ChildMessage;
      if (message.type === 'failed') {
        clearTimeout(timer);
        child.off('message', onMessage);
        void close();
        reject(new Error(`${file.pathname} failed to start: ${message.error}`));
      } else if (message.type === 'ready') {
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve({
          ready: message.ready as Ready,
          pid: child.pid!,
          request<T>(name: string): Promise<T> {
            const id = nextId++;
            return new Promise<T>((res, rej) => {
              const t = setTimeout(() => {
                pending.delete(id);
                rej(new Error(`request '${name}' timed out`));
              }, REQUEST_TIMEOUT_MS);
              pending.set(id, {
                resolve: (v) => {
                  clearTimeout(t);
                  res(v as T);
                },
                reject: (e) => {
                  clearTimeout(t);
                  rej(e);
                },
              });
              child.send({ type: 'request', id, name } satisfies ParentMessage);
            });
          },
          close,
        });
      }
    };
    child.on('message', onMessage);
  });
}

export interface ChildService {
  readonly ready: unknown;
  /** Named figures the parent may ask for. */
  readonly handlers?: Readonly<Record<string, () => unknown>>;
  close(): Promise<void>;
}

/**
 * Child side: parses the init argument, runs `start`, reports ready (or the failure), answers
 * requests, and on `close` (or when the parent goes away) shuts the service down and exits.
 */
export function runAsChild<Init>(start: (init: Init) => Promise<ChildService>): void {
  const send = (message: ChildMessage) => {
    if (process.connected) process.send!(message);
  };
  const init = JSON.parse(process.argv[2] ?? 'null') as Init;
  start(init).then(
    (service) => {
      let closing = false;
      const shutDown = () => {
        if (closing) return;
        closing = true;
        void service.close().finally(() => process.exit(0));
      };
      process.on('message', (raw) => {
        const message = raw as ParentMessage;
        if (message.type === 'close') {
          shutDown();
          return;
        }
        const handler = service.handlers?.[message.name];
        if (handler === undefined) {
          send({ type: 'reply', id: message.id, error: `no handler '${message.name}'` });
          return;
        }
        Promise.resolve()
          .then(handler)
          .then(
            (reply) => send({ type: 'reply', id: message.id, reply }),
            (err: unknown) => send({ type: 'reply', id: message.id, error: String(err) }),
          );
      });
      process.once('disconnect', shutDown);
      send({ type: 'ready', ready: service.ready });
    },
    (err: unknown) => {
      send({ type: 'failed', error: err instanceof Error ? err.message : String(err) });
      process.exitCode = 1;
      process.disconnect?.();
    },
  );
}
