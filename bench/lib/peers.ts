/**
 * The peers SBMP is measured against: a nats-server (with JetStream) and a redis-server on
 * this machine. Each is found where it usually listens (127.0.0.1:4222, 127.0.0.1:6379) or
 * started from its program on a free port with a throw-away data directory; whatever is
 * started here is stopped by `close()` (and killed when the bench process exits). A peer that
 * can be neither found nor started is reported with the reason, so the scenario writes a
 * `skipped` row instead of leaving the comparison out silently.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

export const PEER_HOST = '127.0.0.1';
export const NATS_DEFAULT_PORT = 4222;
export const REDIS_DEFAULT_PORT = 6379;
/** Time a probe of a listening port may take before the peer counts as absent. */
const PROBE_TIMEOUT_MS = 1000;
/** Time a started server has to say it is ready before it is killed and reported missing. */
const START_TIMEOUT_MS = 10_000;
/** Time a started server has to exit after SIGTERM before it gets SIGKILL. */
const STOP_TIMEOUT_MS = 3000;

export interface Peer {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** True when this process started the server (and `close()` stops it). */
  readonly started: boolean;
  /** The server's process id, when known (always when started here). */
  readonly pid: number | undefined;
  /** nats-server's HTTP monitoring port (`/varz`, `/connz`), when started with `monitor`. */
  readonly monitorPort: number | undefined;
  /** Stops the server if it was started here; otherwise does nothing. Idempotent. */
  close(): Promise<void>;
}

export type PeerLookup = { readonly peer: Peer } | { readonly missing: string };

export interface PeerOptions {
  /**
   * Always start a private server, even when one is listening on the usual port: for
   * scenarios that change server settings or read the server's own memory figures.
   */
  readonly fresh?: boolean;
}

export interface NatsOptions extends PeerOptions {
  /** Require JetStream (a found server without it is passed over for a started one). */
  readonly jetstream?: boolean;
  /** Start with an HTTP monitoring port (implies `fresh`). */
  readonly monitor?: boolean;
}

/** Servers started here and not yet stopped, with their data directories. */
const running = new Map<ChildProcess, string>();
process.once('exit', () => {
  // Last resort when the bench ends between start and close: leave no server or directory behind.
  for (const [child, dir] of running) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A nats-server on 127.0.0.1, found or started. */
export async function natsPeer(options: NatsOptions = {}): Promise<PeerLookup> {
  const fresh = options.fresh === true || options.monitor === true;
  let foundWhy = `nothing answered as nats-server on ${PEER_HOST}:${NATS_DEFAULT_PORT}`;
  if (!fresh) {
    const info = await probe(NATS_DEFAULT_PORT, undefined, (text) => text.startsWith('INFO '));
    if (info !== undefined) {
      const jetstream = /"jetstream"\s*:\s*true/.test(info);
      if (options.jetstream !== true || jetstream)
        return { peer: foundPeer('nats-server', NATS_DEFAULT_PORT) };
      foundWhy = `the nats-server on ${PEER_HOST}:${NATS_DEFAULT_PORT} has no JetStream`;
    }
  }
  const port = await freePort();
  const monitorPort = options.monitor === true ? await freePort() : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'sbmp-bench-nats-'));
  const args = ['-a', PEER_HOST, '-p', String(port), '-js', '-sd', dir];
  if (monitorPort !== undefined) args.push('-m', String(monitorPort));
  const started = await startServer('nats-server', args, /Server is ready/, dir);
  if ('missing' in started) return { missing: fresh ? started.missing : `${foundWhy}; ${started.missing}` };
  return { peer: startedPeer('nats-server', port, started.child, dir, monitorPort) };
}

/** A redis-server on 127.0.0.1, found or started (without persistence). */
export async function redisPeer(options: PeerOptions = {}): Promise<PeerLookup> {
  let foundWhy = `nothing answered PING on ${PEER_HOST}:${REDIS_DEFAULT_PORT}`;
  if (options.fresh !== true) {
    const pong = await probe(REDIS_DEFAULT_PORT, 'PING\r\n', (text) => text.startsWith('+PONG'));
    if (pong !== undefined) return { peer: foundPeer('redis-server', REDIS_DEFAULT_PORT) };
  } else {
    foundWhy = 'a private redis-server was needed';
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sbmp-bench-redis-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    PEER_HOST,
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
  ];
  const started = await startServer('redis-server', args, /Ready to accept connections/, dir);
  if ('missing' in started) return { missing: `${foundWhy}; ${started.missing}` };
  return { peer: startedPeer('redis-server', port, started.child, dir, undefined) };
}

function foundPeer(name: string, port: number): Peer {
  return {
    name,
    host: PEER_HOST,
    port,
    started: false,
    pid: undefined,
    monitorPort: undefined,
    close: () => Promise.resolve(),
  };
}

function startedPeer(
  name: string,
  port: number,
  child: ChildProcess,
  dir: string,
  monitorPort: number | undefined,
): Peer {
  let closed: Promise<void> | undefined;
  return {
    name,
    host: PEER_HOST,
    port,
    started: true,
    pid: child.pid,
    monitorPort,
    close() {
      closed ??= stopChild(child).finally(() => rmSync(dir, { recursive: true, force: true }));
      return closed;
    },
  };
}

/**
 * Connects to `port`, optionally writes `hello`, and resolves with the first text received
 * when `accept` likes it; undefined when nothing listens or something else answers.
 */
function probe(
  port: number,
  hello: string | undefined,
  accept: (text: string) => boolean,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: PEER_HOST, port });
    let text = '';
    const finish = (value: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => finish(undefined), PROBE_TIMEOUT_MS);
    socket.setEncoding('utf8');
    socket.once('connect', () => {
      if (hello !== undefined) socket.write(hello);
    });
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('\n')) finish(accept(text) ? text : undefined);
    });
    socket.once('error', () => finish(undefined));
    socket.once('close', () => finish(undefined));
  });
}

type Started = { readonly child: ChildProcess } | { readonly missing: string };

/** Spawns `program` and waits (bounded) for the line saying it is ready. */
function startServer(program: string, args: string[], ready: RegExp, dir: string): Promise<Started> {
  return new Promise((resolve) => {
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.set(child, dir);
    let output = '';
    let settled = false;
    const settle = (value: Started) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if ('missing' in value) {
        running.delete(child);
        child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      }
      resolve(value);
    };
    const timer = setTimeout(
      () =>
        settle({ missing: `${program} did not report ready within ${START_TIMEOUT_MS} ms: ${tail(output)}` }),
      START_TIMEOUT_MS,
    );
    const onOutput = (chunk: Buffer) => {
      // Only the start-up lines are kept; after that the output is drained and dropped.
      if (settled) return;
      output += chunk.toString('utf8');
      if (ready.test(output)) settle({ child });
    };
    child.stdout!.on('data', onOutput);
    child.stderr!.on('data', onOutput);
    child.once('error', (err: NodeJS.ErrnoException) => {
      settle({
        missing:
          err.code === 'ENOENT'
            ? `${program} is not installed (not on PATH)`
            : `cannot start ${program}: ${err.message}`,
      });
    });
    child.once('exit', (code, signal) => {
      running.delete(child);
      settle({ missing: `${program} exited at start-up (${signal ?? `code ${code}`}): ${tail(output)}` });
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    running.delete(child);
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      running.delete(child);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function tail(text: string): string {
  const trimmed = text.trim();
  return trimmed.length === 0 ? '(no output)' : trimmed.split('\n').slice(-2).join(' | ').slice(0, 300);
}

/** Resident set size of a process in bytes, from /proc (Linux); undefined elsewhere or when gone. */
export async function residentBytes(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}
