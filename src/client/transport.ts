import { SbmpError } from '../core/errors.js';
import type { CorkableStream } from '../core/write-batching.js';
import { holdWritesForTurn } from '../core/write-batching.js';

/**
 * One open, message-oriented connection to a server. The client core speaks only to this
 * interface, so it runs unchanged in browsers and Node and can be tested over any carrier.
 */
export interface Transport {
  /** Sends one binary message. The transport owns `bytes` from here on. */
  send(bytes: Uint8Array): void;
  /** Closes the connection; `onClose` follows once. Idempotent. */
  close(code?: number, reason?: string): void;
  /** Bytes queued by `send` that have not reached the network yet. */
  readonly bufferedAmount: number;
}

export interface TransportCloseInfo {
  readonly code: number;
  readonly reason: string;
  /** The failure that ended the connection, when it was not a clean close. */
  readonly error?: unknown;
}

export interface TransportHandlers {
  /** One whole binary message; the bytes are the handler's to keep. */
  onMessage(bytes: Uint8Array): void;
  /** Called exactly once, after the connection opened and then ended for any reason. */
  onClose(info: TransportCloseInfo): void;
}

/** Opens a connection to `url`; resolves once it is open, rejects with `unavailable` if it cannot. */
export type TransportFactory = (url: string, handlers: TransportHandlers) => Promise<Transport>;

/** The subset of the WHATWG `WebSocket` that both browsers and the `ws` package provide. */
interface WebSocketLike {
  binaryType: string;
  readonly bufferedAmount: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

type WebSocketConstructor = new (url: string) => WebSocketLike;

/** A WebSocket implementation and the binary type its messages arrive in most cheaply. */
interface WebSocketImplementation {
  readonly create: WebSocketConstructor;
  readonly binaryType: string;
}

let nodeWebSocket: Promise<WebSocketImplementation> | undefined;

/**
 * The platform's WebSocket: the global one in browsers (and Node >= 22), else the `ws`
 * package, imported only when needed so a browser bundle never pulls it in.
 *
 * `ws` hands messages over as they were read ('nodebuffer'); as 'arraybuffer' it copies each
 * one, which took 3% of the benchmark process's time in the 1 -> 1 scenario. The client keeps
 * no view into a message (delivered states are copied out), so no socket read is pinned.
 */
async function webSocketImplementation(): Promise<WebSocketImplementation> {
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (global !== undefined) return { create: global, binaryType: 'arraybuffer' };
  nodeWebSocket ??= import('ws').then((mod) => ({
    create: (mod.WebSocket ?? mod.default) as unknown as WebSocketConstructor,
    binaryType: 'nodebuffer',
  }));
  return nodeWebSocket;
}

/** The default transport: a WebSocket carrying binary frames. */
export const webSocketTransport: TransportFactory = async (url, handlers) => {
  const implementation = await webSocketImplementation();
  return new Promise<Transport>((resolve, reject) => {
    let socket: WebSocketLike;
    try {
      socket = new implementation.create(url);
    } catch (cause) {
      reject(new SbmpError('unavailable', `cannot open a WebSocket to ${url}`, { cause }));
      return;
    }
    socket.binaryType = implementation.binaryType;
    let opened = false;
    let lastError: unknown;
    const transport: Transport = {
      send: (bytes) => {
        // A window of PUBLISH frames sent in one turn leaves in one writev.
        holdWritesForTurn(socketOf(socket));
        socket.send(bytes);
      },
      close: (code, reason) => socket.close(code, reason),
      get bufferedAmount() {
        return socket.bufferedAmount;
      },
    };
    socket.onopen = () => {
      opened = true;
      resolve(transport);
    };
    socket.onerror = (event) => {
      // Browsers give no detail; `ws` attaches the underlying error (ECONNREFUSED, ...).
      lastError = (event as { error?: unknown }).error ?? event;
    };
    socket.onmessage = (event) => {
      const data = event.data;
      // A Node Buffer is viewed as a plain Uint8Array: the frames and states decoded from the
      // message are views into it, and a plain array's `subarray` costs half a Buffer's (70
      // against 133 ns, measured alone on Node 20), which makes each of its views a FastBuffer.
      if (data instanceof Uint8Array && data.constructor === Uint8Array) handlers.onMessage(data);
      else if (data instanceof ArrayBuffer) handlers.onMessage(new Uint8Array(data));
      else if (ArrayBuffer.isView(data)) {
        handlers.onMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      } else {
        // The protocol is binary only; a text message means the peer is not an SBMP server.
        socket.close(1003, 'binary frames only');
      }
    };
    socket.onclose = (event) => {
      socket.onopen = socket.onmessage = socket.onerror = socket.onclose = null;
      if (!opened) {
        reject(
          new SbmpError('unavailable', `cannot connect to ${url}: ${describe(lastError, event)}`, {
            cause: lastError,
            details: { url },
          }),
        );
        return;
      }
      handlers.onClose(
        lastError === undefined
          ? { code: event.code, reason: event.reason }
          : { code: event.code, reason: event.reason, error: lastError },
      );
    };
  });
};

/**
 * The TCP socket under a WebSocket of the `ws` package, which keeps it in `_socket` (no public
 * accessor). Browsers' and Node's built-in WebSockets expose none: undefined.
 */
function socketOf(socket: WebSocketLike): CorkableStream | undefined {
  const raw = (socket as { _socket?: Partial<CorkableStream> | null })._socket;
  return typeof raw?.cork === 'function' ? (raw as CorkableStream) : undefined;
}

function describe(error: unknown, event: { code: number; reason: string }): string {
  if (error instanceof Error) return error.message || error.name;
  const message = (error as { message?: unknown } | undefined)?.message;
  if (typeof message === 'string' && message.length > 0) return message;
  return event.reason || `closed with code ${event.code}`;
}
