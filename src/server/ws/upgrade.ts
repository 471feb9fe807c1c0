import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { WS_PATH } from '../../codec/ws-protocol.js';
import { SbmpError } from '../../core/errors.js';
import type { ServerContext } from '../context.js';
import { WsConnection } from './connection.js';

/** Refuses a handshake with a real HTTP status and the error's JSON body, then closes the socket. */
function refuse(socket: Duplex, error: SbmpError): void {
  const body = JSON.stringify(error.toJSON());
  const retryAfter = error.status === 503 ? 'Retry-After: 1\r\n' : '';
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ''}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      retryAfter +
      `\r\n${body}`,
  );
}

/**
 * Accepts WebSocket upgrades on `/sbmp/v3/ws` of the HTTP server's own port (`ws` in
 * `noServer` mode). Messages above `maxFrameBytes` are refused by `ws` itself with close 1009.
 * Other paths get 404, a closing server 503 `unavailable`, and a server at `maxConnections`
 * 503 `overloaded`, all before the handshake. A server shedding load (memory watermark) refuses
 * at HELLO instead, with ERROR `overloaded` and close 1013 (see `WsConnection`).
 */
export function createUpgradeHandler(ctx: ServerContext) {
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    maxPayload: ctx.limits.maxFrameBytes,
    perMessageDeflate: false,
  });
  const handle = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', (err) => ctx.logger?.debug({ err }, 'upgrade socket error'));
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== WS_PATH) {
      refuse(socket, new SbmpError('not_found', `no WebSocket endpoint at ${path}; use ${WS_PATH}`));
      return;
    }
    if (ctx.closing) {
      refuse(socket, new SbmpError('unavailable', 'the server is shutting down'));
      return;
    }
    if (ctx.connections.size >= ctx.limits.maxConnections) {
      refuse(
        socket,
        new SbmpError(
          'overloaded',
          `the server is at its limit of ${ctx.limits.maxConnections} connections`,
          {
            details: { limit: ctx.limits.maxConnections },
          },
        ),
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (ctx.closing) {
        ws.close(1001, 'shutdown');
        return;
      }
      new WsConnection(ws, req, ctx);
    });
  };
  return { handle, close: () => wss.close() };
}
