import { SbmpError } from '../core/errors.js';
import { MAX_KEY_BYTES } from '../core/key.js';

/**
 * Every limit the server holds its clients to. Each has a safe default (stated below), a
 * typed error when exceeded, and a test. Defaults are generous for a single process; an
 * operator tightens them through `startServer({ limits })` or the CLI's config file.
 */
export interface ServerLimits {
  /**
   * Largest state, in bytes as received (PUT body, or PUBLISH state bytes). Default 1 MiB
   * (1,048,576). Larger: `too_large` (HTTP 413; WS ERROR with the request id). The store
   * applies its own limit to the MessagePack encoding as well.
   */
  readonly maxStateBytes: number;
  /**
   * Largest WebSocket message either way. Default 4 MiB (4,194,304), and at least
   * `maxStateBytes` + 64 KiB so that one snapshot always fits one frame. An incoming message
   * above it closes the connection with 1009 (message too big); outgoing SNAPSHOTS frames are
   * cut to fit. A single snapshot that does not fit one frame in the connection's state
   * encoding (JSON escapes can make it several times its MessagePack size) ends its
   * subscription with ERROR `too_large` naming the subscription; it is never skipped.
   */
  readonly maxFrameBytes: number;
  /** Longest key: 256 bytes, fixed by the protocol (`bad_key`). Not configurable; listed for WELCOME and docs. */
  readonly maxKeyBytes: number;
  /** Most live subscriptions on one WebSocket. Default 1,000. More: ERROR `limit_exceeded` for that SUBSCRIBE. */
  readonly maxSubscriptionsPerConnection: number;
  /**
   * Most open streaming connections (WebSocket plus SSE watch and health streams). Default
   * 10,000. More: the WebSocket handshake or SSE request is refused with HTTP 503 `overloaded`
   * and `Retry-After`.
   */
  readonly maxConnections: number;
  /**
   * Most keys pending delivery to one subscription (one snapshot per key, conflated). Default
   * 100,000. A subscriber that falls further behind gets GOAWAY `slow_consumer` and is closed
   * (WS close 1001 after the GOAWAY, SSE stream ended); it resumes with `sinceRevision` / `Last-Event-ID`.
   */
  readonly maxPendingKeysPerSubscriber: number;
  /**
   * Most PUBLISH frames awaiting their ACK on one WebSocket. Default 1,024. More: ERROR
   * `limit_exceeded` (with the request id) for the extra publish; the connection stays open.
   */
  readonly maxInFlightPerConnection: number;
  /**
   * Publishes per second per identity (token bucket, burst of one second's worth). Default
   * 100,000. More: HTTP 429 / WS ERROR `limit_exceeded` with `retryAfterMs`. Until
   * authentication exists the identity is the client's network address.
   */
  readonly publishRatePerIdentity: number;
  /** Time a new WebSocket has to send HELLO. Default 10,000 ms. Then: ERROR `timeout` and close 1008. */
  readonly helloTimeoutMs: number;
  /**
   * Malformed or unexpected frames tolerated on one WebSocket, each answered with ERROR
   * `bad_frame`. Default 16. The next one closes the connection with 1002 (protocol error).
   */
  readonly maxBadFrames: number;
  /**
   * Bytes written to one connection but not yet taken by its socket above which the server
   * stops writing snapshots to it and lets its mailboxes conflate instead. Default 1 MiB
   * (1,048,576). Not an error: writing resumes once the unsent bytes fall to half of it
   * (checked as each write completes, and on each SSE heartbeat), whatever the value, even one
   * below Node's own 16 KiB stream high-water mark.
   *
   * On a WebSocket the answers (ACK, ERROR, PONG) count too, and above this mark the server
   * also stops reading the client's socket, so a client that keeps sending without reading its
   * answers is held back by TCP (its own sends block) instead of making the server queue
   * answers without bound. Reading resumes once the unsent bytes fall to half of it (checked as
   * each write completes and on the socket's 'drain'); nothing is dropped or refused meanwhile.
   */
  readonly sendHighWaterBytes: number;
  /** Interval of SSE comment heartbeats, which keep proxies from closing idle streams. Default 15,000 ms. */
  readonly sseHeartbeatMs: number;
}

/** The defaults listed on `ServerLimits`. */
export const DEFAULT_SERVER_LIMITS: ServerLimits = Object.freeze({
  maxStateBytes: 1024 * 1024,
  maxFrameBytes: 4 * 1024 * 1024,
  maxKeyBytes: MAX_KEY_BYTES,
  maxSubscriptionsPerConnection: 1000,
  maxConnections: 10_000,
  maxPendingKeysPerSubscriber: 100_000,
  maxInFlightPerConnection: 1024,
  publishRatePerIdentity: 100_000,
  helloTimeoutMs: 10_000,
  maxBadFrames: 16,
  sendHighWaterBytes: 1024 * 1024,
  sseHeartbeatMs: 15_000,
});

/** Room in a frame beyond the state for the entry's key, source, content type, trace and framing. */
export const FRAME_OVERHEAD_BYTES = 64 * 1024;

/**
 * Merges `overrides` over the defaults and validates the result up front, so a bad setting
 * stops start-up with `bad_config` naming the option instead of misbehaving later.
 */
export function resolveLimits(overrides: Partial<ServerLimits> | undefined): ServerLimits {
  const merged: Record<string, unknown> = { ...DEFAULT_SERVER_LIMITS };
  for (const [name, value] of Object.entries(overrides ?? {})) {
    if (value === undefined) continue;
    if (!Object.hasOwn(DEFAULT_SERVER_LIMITS, name)) {
      throw new SbmpError('bad_config', `limits.${name} is not a known limit`, { details: { option: name } });
    }
    merged[name] = value;
  }
  for (const name of Object.keys(DEFAULT_SERVER_LIMITS)) {
    const value = merged[name];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      throw new SbmpError('bad_config', `limits.${name} must be a positive integer, got ${String(value)}`, {
        details: { option: name },
      });
    }
  }
  const limits = merged as unknown as ServerLimits;
  if (limits.maxKeyBytes !== MAX_KEY_BYTES) {
    throw new SbmpError('bad_config', `limits.maxKeyBytes is fixed at ${MAX_KEY_BYTES} by the protocol`, {
      details: { option: 'maxKeyBytes' },
    });
  }
  if (limits.maxFrameBytes < limits.maxStateBytes + FRAME_OVERHEAD_BYTES) {
    throw new SbmpError(
      'bad_config',
      `limits.maxFrameBytes (${limits.maxFrameBytes}) must be at least limits.maxStateBytes + ${FRAME_OVERHEAD_BYTES} (${limits.maxStateBytes + FRAME_OVERHEAD_BYTES}) so one snapshot always fits one frame`,
      { details: { option: 'maxFrameBytes' } },
    );
  }
  return Object.freeze(limits);
}
