import { FrameBatcher } from '../codec/frame-batcher.js';
import type { Frame, HelloFrame, WelcomeFrame } from '../codec/frame-types.js';
import { decodeFrame, decodeFrameAt, encodeFrame, splitBatchRanges } from '../codec/frames.js';
import { WS_CLOSE } from '../codec/ws-protocol.js';
import { isErrorCode, SbmpError } from '../core/errors.js';
import type { Transport, TransportCloseInfo, TransportFactory } from './transport.js';

/** Largest frame accepted before WELCOME states the server's limit: 16 MiB. */
const PRE_WELCOME_MAX_FRAME_BYTES = 16 * 1024 * 1024;

export interface ConnectionOptions {
  readonly url: string;
  readonly transport: TransportFactory;
  readonly hello: HelloFrame;
  /** Time allowed for the socket to open and the server to answer HELLO. */
  readonly connectTimeoutMs: number;
  /** PING interval; a connection silent for two intervals is considered dead. */
  readonly heartbeatMs: number;
  /** Every frame after WELCOME, except PING/PONG which the connection answers itself. */
  readonly onFrame: (frame: Frame) => void;
  /** Called once when an established connection ends, with why. */
  readonly onClose: (error: SbmpError) => void;
}

/**
 * One established, handshaken connection: HELLO sent, WELCOME received. It decodes frames,
 * answers PINGs, sends its own PINGs, and closes itself when the server falls silent, so a
 * half-open connection (a server host that vanished) is noticed and replaced. With a server
 * that reads batches, the frames sent in one turn (a window of publishes) leave as one BATCH
 * message; the server's batches are split and their frames handled in order.
 */
export class Connection {
  readonly welcome: WelcomeFrame;
  readonly #transport: Transport;
  readonly #batcher: FrameBatcher;
  /** Largest message accepted from the server, and sent to it: the limit its WELCOME states. */
  readonly #maxFrameBytes: number;
  readonly #onClose: (error: SbmpError) => void;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  /** Set by the first cause we observe (heartbeat, bad frame, close()); reported instead of a bare close. */
  #closeReason: SbmpError | undefined;

  private constructor(welcome: WelcomeFrame, transport: Transport, onClose: (error: SbmpError) => void) {
    this.welcome = welcome;
    this.#transport = transport;
    this.#onClose = onClose;
    this.#maxFrameBytes = welcome.maxFrameBytes || PRE_WELCOME_MAX_FRAME_BYTES;
    this.#batcher = new FrameBatcher((message) => {
      if (!this.#closed) transport.send(message);
    });
    if (welcome.batches === true) this.#batcher.enable(this.#maxFrameBytes);
  }

  /** Opens the transport and performs the HELLO/WELCOME handshake, within `connectTimeoutMs`. */
  static async open(options: ConnectionOptions): Promise<Connection> {
    let connection: Connection | undefined;
    let handshake: { resolve: (w: WelcomeFrame) => void; reject: (e: SbmpError) => void } | undefined;
    let lastReceived = Date.now();
    const welcomed = new Promise<WelcomeFrame>((resolve, reject) => {
      handshake = { resolve, reject };
    });
    const onMessage = (bytes: Uint8Array): void => {
      lastReceived = Date.now();
      if (connection === undefined) {
        handleHandshakeFrame(bytes, handshake!);
        return;
      }
      connection.#receive(bytes, options.onFrame);
    };
    const onClose = (info: TransportCloseInfo): void => {
      if (connection === undefined) {
        handshake!.reject(closedError(info, 'the server closed the connection during the handshake'));
        return;
      }
      connection.#ended(info);
    };

    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new SbmpError('timeout', `no answer from ${options.url} within ${options.connectTimeoutMs} ms`, {
              details: { url: options.url, option: 'connectTimeoutMs' },
            }),
          ),
        options.connectTimeoutMs,
      );
    });
    // Either may settle while the other is awaited; the races below still observe them.
    welcomed.catch(() => {});
    timeout.catch(() => {});
    let transport: Transport | undefined;
    const opening = options.transport(options.url, { onMessage, onClose });
    try {
      transport = await Promise.race([opening, timeout]);
      transport.send(encodeFrame(options.hello));
      const welcome = await Promise.race([welcomed, timeout]);
      connection = new Connection(welcome, transport, options.onClose);
      connection.#startHeartbeat(options.heartbeatMs, () => lastReceived);
      return connection;
    } catch (error) {
      // A transport that opened after the timeout must not linger.
      if (transport !== undefined) transport.close(WS_CLOSE.goingAway, 'handshake failed');
      else opening.then((late) => late.close(WS_CLOSE.goingAway, 'handshake timed out')).catch(() => {});
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  get bufferedAmount(): number {
    return this.#transport.bufferedAmount;
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(frame: Frame): void {
    if (this.#closed) return;
    this.#batcher.send(encodeFrame(frame));
  }

  /** Closes the connection; `onClose` follows with `reason` (or `closed`). */
  close(reason?: SbmpError, code: number = WS_CLOSE.goingAway): void {
    if (this.#closed) return;
    this.#closeReason ??= reason ?? new SbmpError('closed', 'the client closed the connection');
    this.#stopHeartbeat();
    this.#batcher.flush();
    this.#transport.close(code, this.#closeReason.message.slice(0, 120));
  }

  #receive(bytes: Uint8Array, onFrame: (frame: Frame) => void): void {
    // Once closing, later frames are dropped: applying them after a frame was lost (e.g. one
    // that could not be decoded) would move the resume point past the lost one.
    if (this.#closed || this.#closeReason !== undefined) return;
    let batch: number[] | undefined;
    try {
      batch = splitBatchRanges(bytes, this.#maxFrameBytes);
    } catch (cause) {
      this.#undecodable(cause);
      return;
    }
    if (batch === undefined) {
      this.#receiveFrame(bytes, 0, bytes.length, onFrame);
      return;
    }
    for (let i = 0; i < batch.length; i += 2) {
      // A frame before this one may have failed, and closing drops the rest (see above).
      if (this.#closeReason !== undefined) return;
      this.#receiveFrame(bytes, batch[i]!, batch[i + 1]!, onFrame);
    }
  }

  /** One frame, `bytes[start, end)`: a whole message, or one frame of a batch. */
  #receiveFrame(bytes: Uint8Array, start: number, end: number, onFrame: (frame: Frame) => void): void {
    let frame: Frame;
    try {
      frame = decodeFrameAt(bytes, start, end, this.#maxFrameBytes);
    } catch (cause) {
      this.#undecodable(cause);
      return;
    }
    if (frame.type === 'ping') {
      this.send({ type: 'pong', nonce: frame.nonce });
      return;
    }
    if (frame.type === 'pong') return;
    onFrame(frame);
  }

  #undecodable(cause: unknown): void {
    this.close(
      new SbmpError('bad_frame', 'the server sent a frame the client cannot decode', { cause }),
      WS_CLOSE.protocolError,
    );
  }

  #startHeartbeat(heartbeatMs: number, lastReceived: () => number): void {
    let nonce = 0;
    this.#heartbeat = setInterval(() => {
      if (Date.now() - lastReceived() > 2 * heartbeatMs) {
        this.close(
          new SbmpError('timeout', `the server sent nothing for ${2 * heartbeatMs} ms`, {
            details: { option: 'heartbeatMs' },
          }),
        );
        return;
      }
      nonce = (nonce + 1) % 0x7fffffff;
      this.send({ type: 'ping', nonce });
    }, heartbeatMs);
  }

  #stopHeartbeat(): void {
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  #ended(info: TransportCloseInfo): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopHeartbeat();
    this.#onClose(this.#closeReason ?? closedError(info, 'the connection to the server was lost'));
  }
}

function handleHandshakeFrame(
  bytes: Uint8Array,
  handshake: { resolve: (w: WelcomeFrame) => void; reject: (e: SbmpError) => void },
): void {
  let frame: Frame;
  try {
    frame = decodeFrame(bytes, { maxFrameBytes: PRE_WELCOME_MAX_FRAME_BYTES });
  } catch (cause) {
    handshake.reject(
      new SbmpError('bad_frame', 'the server answered HELLO with an undecodable frame', { cause }),
    );
    return;
  }
  switch (frame.type) {
    case 'welcome':
      handshake.resolve(frame);
      return;
    case 'error':
      handshake.reject(errorFromFrame(frame.code, frame.message, {}));
      return;
    case 'goaway':
      handshake.reject(
        new SbmpError('unavailable', `the server is going away (${frame.reason})`, {
          details: { reconnectAfterMs: frame.reconnectAfterMs },
        }),
      );
      return;
    default:
      handshake.reject(
        new SbmpError('bad_frame', `the server answered HELLO with ${frame.type}, not welcome`),
      );
  }
}

/** An SbmpError for a server ERROR frame; an unknown code from a newer server becomes `internal`. */
export function errorFromFrame(code: string, message: string, details: Record<string, unknown>): SbmpError {
  return new SbmpError(isErrorCode(code) ? code : 'internal', `server: ${message}`, { details });
}

function closedError(info: TransportCloseInfo, what: string): SbmpError {
  return new SbmpError(
    'unavailable',
    `${what} (close code ${info.code}${info.reason ? `: ${info.reason}` : ''})`,
    {
      cause: info.error,
      details: { closeCode: info.code },
    },
  );
}
