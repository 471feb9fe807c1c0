/** The contract every subject's client side meets (see endpoint.ts). */

/** Where a subject's server listens; plain data so that it can be sent to a child process. */
export type Endpoint =
  | { readonly kind: 'sbmp'; readonly url: string }
  | { readonly kind: 'nats'; readonly host: string; readonly port: number }
  | { readonly kind: 'redis'; readonly host: string; readonly port: number }
  | { readonly kind: 'ws-relay'; readonly url: string };

export interface PublisherStats {
  /** Messages handed to the client. */
  sent: number;
  /** Messages the server confirmed (SBMP ack, Redis reply, NATS flush, ws write callback). */
  confirmed: number;
  /** SBMP only: acks with result `applied` (the others are `stale`, `duplicate` or `conflict`). */
  applied: number;
  /** Sends that failed; `lastError` says why. */
  failed: number;
  lastError: unknown;
}

export interface BusPublisher {
  readonly stats: PublisherStats;
  /**
   * Sends `payload` as version `version` of key slot `slot` (SBMP key `<topic>/k<slot>`; the
   * peers, which have no keys, ignore both). Returns a promise when the in-flight window is
   * full: the caller waits for it before sending more.
   */
  send(slot: number, version: number, payload: Uint8Array): Promise<void> | undefined;
  /** Resolves once every message sent so far is confirmed. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface BusSubscriber {
  close(): Promise<void>;
}

export interface BusClient {
  /** `window`: most messages sent and not yet confirmed. */
  publisher(endpoint: Endpoint, topic: string, window: number): Promise<BusPublisher>;
  /**
   * Resolves once the subscription is in place on the server, so nothing published after is
   * missed. `onLost` is called if the connection ends other than by `close()` (e.g. the
   * server cut off a slow consumer).
   */
  subscriber(
    endpoint: Endpoint,
    topic: string,
    onMessage: (payload: Uint8Array) => void,
    onLost?: (why: string) => void,
  ): Promise<BusSubscriber>;
}

export function newPublisherStats(): PublisherStats {
  return { sent: 0, confirmed: 0, applied: 0, failed: 0, lastError: undefined };
}
