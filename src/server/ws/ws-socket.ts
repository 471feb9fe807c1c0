import type { WebSocket } from 'ws';
import type { CorkableStream } from '../../core/write-batching.js';

/**
 * The TCP socket under a `ws` WebSocket. `ws` keeps it in `_socket` (set once the connection
 * is established, cleared on close) and documents no accessor for it; this is the one place
 * that reaches in, so a change in `ws` has one place to fix. Undefined when there is none.
 */
export function socketOf(ws: WebSocket): CorkableStream | undefined {
  const socket = (ws as unknown as { _socket?: CorkableStream | null })._socket;
  return socket ?? undefined;
}

/**
 * Calls `listener` each time the TCP socket under `ws` empties its write buffer ('drain').
 * Nothing happens when there is no socket.
 */
export function onSocketDrain(ws: WebSocket, listener: () => void): void {
  const socket = socketOf(ws) as unknown as { on?(event: 'drain', listener: () => void): void } | undefined;
  socket?.on?.('drain', listener);
}

/**
 * Stops reading the peer's frames: the TCP socket under `ws` is paused, so what the peer sends
 * waits in the kernel's buffers and, once they are full, the peer's own writes block. Goes
 * through `ws`'s `pause()`, which pauses that socket and also keeps `ws`'s frame parser from
 * resuming it when the parser catches up. A no-op before the handshake and after close.
 */
export function pauseReading(ws: WebSocket): void {
  ws.pause();
}

/** Undoes `pauseReading`: the socket is read again (once `ws`'s frame parser has room). */
export function resumeReading(ws: WebSocket): void {
  ws.resume();
}
