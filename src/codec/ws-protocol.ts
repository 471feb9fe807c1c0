import type { SbmpErrorCode } from '../core/errors.js';

/** The WebSocket endpoint of protocol version 3. Binary messages only; each holds one frame. */
export const WS_PATH = '/sbmp/v3/ws';

/**
 * WebSocket close codes SBMP uses (RFC 6455 section 7.4 and the IANA registry). Before closing
 * for a reason other than `normal` or `goingAway`, the server sends an ERROR frame whose `code`
 * says exactly why; the close code is the coarse reason for generic WebSocket tooling.
 */
export const WS_CLOSE = {
  /** The work is done: a client leaving, or the server after a client's orderly close. */
  normal: 1000,
  /** The server is shutting down or draining (after GOAWAY); reconnect after the hint. */
  goingAway: 1001,
  /** A malformed frame, a frame out of order (anything before HELLO, a second HELLO), an unsupported protocol version. */
  protocolError: 1002,
  /** A text message: SBMP speaks binary messages only. */
  unsupportedData: 1003,
  /** Authentication or authorization failed, or the peer broke a rule (no HELLO or PONG in time). */
  policyViolation: 1008,
  /** A frame larger than the announced `maxFrameBytes`. */
  messageTooBig: 1009,
  /** An unexpected server failure. */
  internalError: 1011,
  /** The server is overloaded or at its connection limit; reconnect later with backoff. */
  tryAgainLater: 1013,
} as const;

export type WsCloseCode = (typeof WS_CLOSE)[keyof typeof WS_CLOSE];

/** The close code for a connection ended by an error with `code`. Defined once, for server and client. */
export function closeCodeForError(code: SbmpErrorCode): WsCloseCode {
  switch (code) {
    case 'bad_frame':
    case 'bad_request':
      return WS_CLOSE.protocolError;
    case 'too_large':
      return WS_CLOSE.messageTooBig;
    case 'unauthorized':
    case 'forbidden':
    case 'timeout':
      return WS_CLOSE.policyViolation;
    case 'overloaded':
    case 'unavailable':
    case 'limit_exceeded':
      return WS_CLOSE.tryAgainLater;
    case 'closed':
      return WS_CLOSE.goingAway;
    default:
      return WS_CLOSE.internalError;
  }
}
