import { request } from 'node:http';
import { WebSocket } from 'ws';
import type { Frame, SnapshotEntry, SnapshotsFrame, StateEncoding } from '../../src/codec/frame-types.js';
import { PROTOCOL_VERSION } from '../../src/codec/frame-types.js';
import { decodeFrame, encodeBatch, encodeFrame, splitBatch } from '../../src/codec/frames.js';
import { decodeState, encodeState } from '../../src/codec/state.js';
import type { ServerLimits } from '../../src/server/limits.js';
import type { SbmpServer } from '../../src/server/server.js';
import { startServer } from '../../src/server/server.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { PutOptions, PutOutcome, SnapshotInput, Store } from '../../src/store/types.js';

/** Upper bound for any single wait in these tests. */
export const WAIT_MS = 10_000;
/** Largest message a test client accepts. */
const MAX_TEST_FRAME_BYTES = 64 * 1024 * 1024;

export interface TestServer {
  readonly server: SbmpServer;
  readonly store: Store;
  readonly url: string;
  readonly wsUrl: string;
  close(): Promise<void>;
}

/** A real server on a free port over a fresh memory store (or the given one). */
export async function startTestServer(
  options: { limits?: Partial<ServerLimits>; store?: Store } = {},
): Promise<TestServer> {
  const store = options.store ?? new MemoryStore();
  const server = await startServer({
    store,
    port: 0,
    logger: false,
    limits: options.limits,
    serverId: 'test',
  });
  return {
    server,
    store,
    url: server.url,
    wsUrl: `${server.url.replace(/^http/, 'ws')}/sbmp/v3/ws`,
    async close() {
      await server.close({ drainMs: 1000 });
      if (options.store === undefined) await store.close();
    },
  };
}

/** Rejects after `ms` with a message naming what was awaited. */
export function withTimeout<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

interface Waiter {
  readonly match: (frame: Frame) => boolean;
  readonly resolve: (frame: Frame) => void;
}

/**
 * A raw protocol client over a real `ws` socket: sends frames, records every frame received,
 * and lets a test wait for the first frame matching a predicate (bounded in time).
 */
export class FrameClient {
  readonly ws: WebSocket;
  readonly frames: Frame[] = [];
  /** WebSocket messages received, and how many of them were BATCH messages. */
  messages = 0;
  batches = 0;
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly encoding: StateEncoding;
  #waiters: Waiter[] = [];
  #nextRequestId = 1;

  private constructor(ws: WebSocket, encoding: StateEncoding) {
    this.ws = ws;
    this.encoding = encoding;
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    ws.on('message', (data, isBinary) => {
      if (!isBinary) throw new Error('server sent a text message');
      const bytes = new Uint8Array(data as Buffer);
      const batch = splitBatch(bytes, MAX_TEST_FRAME_BYTES);
      this.messages++;
      if (batch !== undefined) this.batches++;
      for (const part of batch ?? [bytes])
        this.#received(decodeFrame(part, { maxFrameBytes: MAX_TEST_FRAME_BYTES }));
    });
    ws.on('error', () => {});
  }

  #received(frame: Frame): void {
    this.frames.push(frame);
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.match(frame)) return true;
      w.resolve(frame);
      return false;
    });
  }

  /** Opens a socket without sending anything. */
  static async open(wsUrl: string, encoding: StateEncoding = 'msgpack'): Promise<FrameClient> {
    const ws = new WebSocket(wsUrl, { maxPayload: 64 * 1024 * 1024 });
    const client = new FrameClient(ws, encoding);
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      }),
      'websocket open',
    );
    return client;
  }

  /** Opens a socket and completes HELLO / WELCOME. */
  static async connect(
    wsUrl: string,
    encoding: StateEncoding = 'msgpack',
    options: { batches?: boolean } = {},
  ): Promise<FrameClient> {
    const client = await FrameClient.open(wsUrl, encoding);
    client.send({
      type: 'hello',
      protocolVersion: PROTOCOL_VERSION,
      clientId: 'test',
      stateEncoding: encoding,
      ...(options.batches === true ? { batches: true } : {}),
    });
    await client.next((f) => f.type === 'welcome', 'WELCOME');
    return client;
  }

  send(frame: Frame): void {
    this.ws.send(encodeFrame(frame));
  }

  /** Sends `frames` (or, for malformed batches, already encoded frames) as one BATCH message. */
  sendBatch(frames: readonly (Frame | Uint8Array)[]): void {
    this.ws.send(
      encodeBatch(frames.map((frame) => (frame instanceof Uint8Array ? frame : encodeFrame(frame)))),
    );
  }

  sendRaw(bytes: Uint8Array | string): void {
    this.ws.send(bytes);
  }

  /** The first frame already received, or to come, that matches. */
  next(match: (frame: Frame) => boolean, what: string, ms = WAIT_MS): Promise<Frame> {
    const seen = this.frames.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return withTimeout(new Promise<Frame>((resolve) => this.#waiters.push({ match, resolve })), what, ms);
  }

  /** Waits for the next frame that matches, ignoring those already received. */
  nextNew(match: (frame: Frame) => boolean, what: string, ms = WAIT_MS): Promise<Frame> {
    return withTimeout(new Promise<Frame>((resolve) => this.#waiters.push({ match, resolve })), what, ms);
  }

  /** Publishes `state` and resolves with the ACK or ERROR answering it. */
  async publish(
    key: string,
    state: unknown,
    options: { version?: number; ifVersion?: number; deleted?: boolean } = {},
  ): Promise<Frame> {
    const requestId = this.#nextRequestId++;
    this.send({ type: 'publish', requestId, key, state: encodeState(state, this.encoding), ...options });
    return this.next(
      (f) => (f.type === 'ack' || f.type === 'error') && f.requestId === requestId,
      `answer to publish ${requestId}`,
    );
  }

  /** Every SNAPSHOTS frame of a subscription received so far. */
  snapshotFrames(subscriptionId: number): SnapshotsFrame[] {
    return this.frames.filter(
      (f): f is SnapshotsFrame => f.type === 'snapshots' && f.subscriptionId === subscriptionId,
    );
  }

  /** Every entry delivered to a subscription, in order. */
  entries(subscriptionId: number): SnapshotEntry[] {
    return this.snapshotFrames(subscriptionId).flatMap((f) => f.entries);
  }

  state(entry: SnapshotEntry): unknown {
    return decodeState(entry.state, entry.contentType ?? this.encoding);
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    return withTimeout(this.closed, 'websocket close');
  }
}

/** A replica of one subscription as a client holding it would: newest version per key, regressions recorded. */
export class ReplicaCheck {
  readonly versions = new Map<string, number>();
  readonly regressions: string[] = [];
  lastRevision = 0;

  apply(entries: readonly SnapshotEntry[]): void {
    for (const entry of entries) {
      const held = this.versions.get(entry.key) ?? 0;
      if (entry.version < held) this.regressions.push(`${entry.key}: ${held} -> ${entry.version}`);
      else this.versions.set(entry.key, entry.version);
      if (entry.revision > this.lastRevision) this.lastRevision = entry.revision;
    }
  }
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One HTTP request with node:http (for headers fetch will not send, or bodies it would buffer). */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string | number>; body?: string | Buffer } = {},
): Promise<RawResponse> {
  return withTimeout(
    new Promise<RawResponse>((resolve, reject) => {
      const req = request(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(options.body);
    }),
    `${options.method ?? 'GET'} ${url}`,
  );
}

/** Reads `/debug/vars` of a running server. */
export async function debugVars(baseUrl: string): Promise<{
  fanout: { pendingKeys: number; maxPendingKeys: number; bufferedBytes: number; waitingForDrain: number };
  connections: {
    kind: string;
    pendingKeys: number;
    bufferedBytes: number;
    waitingForDrain: boolean;
    conflated: number;
    subscriptions: number;
  }[];
  hub: { subscriptions: number; revision: number };
  health: { connections: { ws: number; sse: number; health: number } };
}> {
  const res = await fetch(`${baseUrl}/debug/vars`);
  return (await res.json()) as Awaited<ReturnType<typeof debugVars>>;
}

/** Reads one counter or gauge value from `/metrics` text (sum over label sets matching `labels`). */
export async function metricValue(
  baseUrl: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-z_]+)(\{([^}]*)\})? ([0-9.e+-]+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const labelText = match[3] ?? '';
    const ok = Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`));
    if (ok) sum += Number(match[4]);
  }
  return sum;
}

export interface SseEvent {
  readonly event: string;
  readonly id: string | undefined;
  readonly data: string;
}

interface SseWaiter {
  readonly match: (event: SseEvent) => boolean;
  readonly resolve: (event: SseEvent) => void;
}

/** A raw Server-Sent Events reader over node:http: parses events, lets a test wait for one. */
export class SseClient {
  readonly events: SseEvent[] = [];
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly ended: Promise<void>;
  readonly #res: import('node:http').IncomingMessage;
  readonly comments: string[] = [];
  #buffer = '';
  #waiters: SseWaiter[] = [];
  #commentWaiters: { match: (c: string) => boolean; resolve: () => void }[] = [];

  private constructor(res: import('node:http').IncomingMessage) {
    this.#res = res;
    this.status = res.statusCode ?? 0;
    this.headers = res.headers;
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => this.#feed(chunk));
    this.ended = new Promise((resolve) => {
      res.on('end', () => resolve());
      res.on('close', () => resolve());
      res.on('error', () => resolve());
    });
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    return withTimeout(
      new Promise<SseClient>((resolve, reject) => {
        const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) =>
          resolve(new SseClient(res)),
        );
        req.on('error', reject);
        req.end();
      }),
      `SSE ${url}`,
    );
  }

  /** The body of a non-200 answer, as JSON. */
  async errorBody(): Promise<Record<string, unknown>> {
    await withTimeout(this.ended, 'error body');
    return JSON.parse(this.events.length > 0 ? '' : this.#buffer) as Record<string, unknown>;
  }

  next(match: (event: SseEvent) => boolean, what: string, ms = WAIT_MS): Promise<SseEvent> {
    const seen = this.events.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return withTimeout(new Promise<SseEvent>((resolve) => this.#waiters.push({ match, resolve })), what, ms);
  }

  /** Snapshot events (unnamed), parsed. */
  snapshots(): { key: string; version: number; revision: number; state: unknown; id: string | undefined }[] {
    return this.events
      .filter((e) => e.event === 'message')
      .map((e) => ({
        ...(JSON.parse(e.data) as { key: string; version: number; revision: number; state: unknown }),
        id: e.id,
      }));
  }

  /** Resolves at the first comment line (`: text`) matching, received so far or to come. */
  comment(match: (comment: string) => boolean): Promise<void> {
    if (this.comments.some(match)) return Promise.resolve();
    return new Promise((resolve) => this.#commentWaiters.push({ match, resolve }));
  }

  /** Stops reading the socket (the server sees TCP backpressure). */
  pause(): void {
    this.#res.pause();
  }

  resume(): void {
    this.#res.resume();
  }

  close(): void {
    this.#res.destroy();
  }

  #onComment(comment: string): void {
    this.comments.push(comment);
    this.#commentWaiters = this.#commentWaiters.filter((w) => {
      if (!w.match(comment)) return true;
      w.resolve();
      return false;
    });
  }

  #feed(chunk: string): void {
    if (this.status !== 200) {
      this.#buffer += chunk;
      return;
    }
    this.#buffer += chunk;
    for (;;) {
      const end = this.#buffer.indexOf('\n\n');
      if (end < 0) return;
      const block = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      let event = 'message';
      let id: string | undefined;
      const data: string[] = [];
      let any = false;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) {
          this.#onComment(line.slice(1).trim());
          continue;
        }
        if (line.startsWith('retry:')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        any = true;
        if (field === 'event') event = value;
        else if (field === 'id') id = value;
        else if (field === 'data') data.push(value);
      }
      if (!any) continue;
      const parsed: SseEvent = { event, id, data: data.join('\n') };
      this.events.push(parsed);
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.match(parsed)) return true;
        w.resolve(parsed);
        return false;
      });
    }
  }
}

/**
 * Waits for a condition only observable by asking (a server-side gauge after a peer closed).
 * Bounded: at most `attempts` checks, `intervalMs` apart, within WAIT_MS overall.
 */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  what: string,
  attempts = 200,
  intervalMs = 25,
): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (let i = 0; i < attempts && Date.now() < deadline; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`condition not reached: ${what}`);
}

/** A memory store whose puts wait at a gate the test opens, to hold publishes in flight. */
export class GatedStore extends MemoryStore {
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;
  #entered: (() => void) | undefined;
  entered: Promise<void> | undefined;

  closeGate(): void {
    this.#gate = new Promise((resolve) => {
      this.#open = resolve;
    });
    this.entered = new Promise((resolve) => {
      this.#entered = resolve;
    });
  }

  openGate(): void {
    this.#open?.();
    this.#gate = undefined;
  }

  override async put(input: SnapshotInput, options?: PutOptions): Promise<PutOutcome> {
    if (this.#gate !== undefined) {
      this.#entered?.();
      await this.#gate;
    }
    return super.put(input, options);
  }
}
