// A scripted SBMP server for protocol faults a real server cannot be made to commit:
// withholding acks, sending old versions, resyncs on demand, GOAWAY, silence.
import type { AddressInfo } from 'node:net';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import type { Frame, FrameType, HelloFrame, WelcomeFrame } from '../../src/codec/frame-types.js';
import { decodeFrame, encodeFrame } from '../../src/codec/frames.js';
import { WS_PATH } from '../../src/codec/ws-protocol.js';

/** Rejects after `ms` unless `promise` settles first: every wait in these tests is bounded. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A queue of values with an awaitable `next`. */
class Inbox<T> {
  readonly #items: T[] = [];
  readonly #waiters: ((item: T) => void)[] = [];
  push(item: T): void {
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter(item);
    else this.#items.push(item);
  }
  next(): Promise<T> {
    const item = this.#items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
  get length(): number {
    return this.#items.length;
  }
}

export interface PeerOptions {
  /** Overrides of the WELCOME sent to every HELLO; `false` sends no WELCOME at all. */
  readonly welcome?: Partial<WelcomeFrame> | false;
  /** Answer HELLO with this ERROR instead. */
  readonly refuse?: { code: string; message: string };
}

export class PeerConnection {
  readonly hello: HelloFrame;
  readonly #socket: WebSocket;
  readonly #frames = new Inbox<Frame>();
  readonly closed: Promise<void>;

  constructor(socket: WebSocket, hello: HelloFrame, frames: Inbox<Frame>) {
    this.#socket = socket;
    this.hello = hello;
    this.#frames = frames;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  send(frame: Frame): void {
    this.#socket.send(encodeFrame(frame));
  }

  /** Sends bytes as one binary message, frame or not. */
  sendRaw(bytes: Uint8Array): void {
    this.#socket.send(bytes);
  }

  /** The next frame the client sent (PINGs skipped unless asked for), within `ms`. */
  async next<T extends FrameType>(type: T, ms = 5_000): Promise<Extract<Frame, { type: T }>> {
    const deadline = Date.now() + ms;
    for (let i = 0; i < 10_000; i++) {
      const frame = await within(this.#frames.next(), Math.max(1, deadline - Date.now()), `a ${type} frame`);
      if (frame.type === 'ping' && type !== 'ping') continue;
      if (frame.type !== type) throw new Error(`expected a ${type} frame, got ${JSON.stringify(frame)}`);
      return frame as Extract<Frame, { type: T }>;
    }
    throw new Error('too many frames');
  }

  /** Frames received and not yet taken. */
  get pending(): number {
    return this.#frames.length;
  }

  close(code = 1000): void {
    this.#socket.close(code);
  }

  /** Drops the TCP connection without a close handshake, as a crashed server would. */
  terminate(): void {
    this.#socket.terminate();
  }
}

export class FakePeer {
  readonly url: string;
  readonly #server: WebSocketServer;
  readonly #connections = new Inbox<PeerConnection>();
  readonly #all = new Set<WebSocket>();
  options: PeerOptions;

  private constructor(server: WebSocketServer, options: PeerOptions) {
    this.#server = server;
    this.options = options;
    const { port } = server.address() as AddressInfo;
    this.url = `ws://127.0.0.1:${port}${WS_PATH}`;
    server.on('connection', (socket) => this.#accept(socket));
  }

  static async start(options: PeerOptions = {}, port = 0): Promise<FakePeer> {
    const server = new WebSocketServer({ host: '127.0.0.1', port, path: WS_PATH });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    return new FakePeer(server, options);
  }

  /** The next connection that said HELLO (and got the scripted answer), within `ms`. */
  nextConnection(ms = 5_000): Promise<PeerConnection> {
    return within(this.#connections.next(), ms, 'a client connection');
  }

  async close(): Promise<void> {
    for (const socket of this.#all) socket.terminate();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: WebSocket): void {
    this.#all.add(socket);
    socket.once('close', () => this.#all.delete(socket));
    const frames = new Inbox<Frame>();
    let connection: PeerConnection | undefined;
    socket.on('message', (data: Buffer) => {
      const frame = decodeFrame(new Uint8Array(data));
      if (connection !== undefined) {
        frames.push(frame);
        return;
      }
      if (frame.type !== 'hello') throw new Error(`first frame was ${frame.type}`);
      connection = new PeerConnection(socket, frame, frames);
      const { refuse, welcome } = this.options;
      if (refuse !== undefined) {
        connection.send({ type: 'error', code: refuse.code as 'unauthorized', message: refuse.message });
      } else if (welcome !== false) {
        connection.send({
          type: 'welcome',
          protocolVersion: 3,
          serverId: 'fake',
          maxFrameBytes: 4 * 1024 * 1024,
          maxStateBytes: 1024 * 1024,
          maxSubscriptions: 1000,
          maxInFlight: 1024,
          revision: 0,
          ...welcome,
        });
      }
      this.#connections.push(connection);
    });
  }
}
