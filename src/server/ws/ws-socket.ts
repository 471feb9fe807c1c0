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
