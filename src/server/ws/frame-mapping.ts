import type { ErrorFrame, PublishFrame, StateEncoding } from '../../codec/frame-types.js';
import { decodeState, stateEncodingOf } from '../../codec/state.js';
import type { SbmpError } from '../../core/errors.js';
import type { SnapshotInput } from '../../store/types.js';
import { checkTraceContext } from '../observability/trace-context.js';

/** Longest message text sent in an ERROR frame; the code is what clients act on. */
const MAX_ERROR_MESSAGE_CHARS = 1000;

/**
 * The store input of a PUBLISH frame. The state is decoded with the frame's content type, or
 * the connection's encoding when it has none; any other content type marks opaque bytes, kept
 * with their content type. Throws `bad_state` when the bytes do not decode, `bad_request` for a
 * malformed trace context.
 */
export function publishInputOf(frame: PublishFrame, encoding: StateEncoding): SnapshotInput {
  const contentType = frame.contentType ?? '';
  let state: unknown;
  let opaqueType: string | undefined;
  if (frame.deleted === true && frame.state.length === 0) state = null;
  else if (contentType === '') state = decodeState(frame.state, encoding);
  else if (stateEncodingOf(contentType) !== undefined) state = decodeState(frame.state, contentType);
  else {
    // A view into the message buffer, which is never reused: the store copies the bytes it
    // keeps (see `preparePut`), so a copy here would be a second one.
    state = frame.state;
    opaqueType = contentType;
  }
  const input: { -readonly [K in keyof SnapshotInput]: SnapshotInput[K] } = { key: frame.key, state };
  if (frame.version !== undefined) input.version = frame.version;
  if (frame.deleted === true) input.deleted = true;
  if (opaqueType !== undefined) input.contentType = opaqueType;
  if (frame.ts !== undefined) input.ts = frame.ts;
  if (frame.trace !== undefined) input.trace = checkTraceContext(frame.trace, 'publish.trace');
  return input;
}

/** The ERROR frame for `error`; `details.current` (a stale or conflicting write) becomes `currentVersion`. */
export function errorFrameOf(
  error: SbmpError,
  ids: { requestId?: number; subscriptionId?: number } = {},
): ErrorFrame {
  const frame: { -readonly [K in keyof ErrorFrame]: ErrorFrame[K] } = {
    type: 'error',
    code: error.code,
    message: error.message.slice(0, MAX_ERROR_MESSAGE_CHARS),
  };
  if (ids.requestId !== undefined) frame.requestId = ids.requestId;
  if (ids.subscriptionId !== undefined) frame.subscriptionId = ids.subscriptionId;
  const current = error.details?.current;
  if (typeof current === 'number') frame.currentVersion = current;
  // A rate limit says when to come back: retrying then is the expected reaction.
  if (error.retryable || typeof error.details?.retryAfterMs === 'number') frame.retryable = true;
  return frame;
}
