import type { ErrorFrame, Frame, WelcomeFrame } from '../codec/frame-types.js';
import { PROTOCOL_VERSION } from '../codec/frame-types.js';
import { isSbmpError, SbmpError } from '../core/errors.js';
import type { StoredSnapshot } from '../core/snapshot.js';
import type { Ack } from './ack.js';
import { backoffDelay } from './backoff.js';
import { Connection, errorFromFrame } from './connection.js';
import { HttpApi } from './http-api.js';
import { Listeners } from './listeners.js';
import type { ClientOptions, ResolvedClientOptions } from './options.js';
import { resolveClientOptions } from './options.js';
import type { PublishQueueStats } from './publish-queue.js';
import { PublishQueue } from './publish-queue.js';
import type { PublishOptions } from './publish-request.js';
import { borrowsState, buildPublishRequest } from './publish-request.js';
import type { SnapshotListener, SubscribeOptions, Subscription } from './subscription.js';
import { SubscriptionSet } from './subscription-set.js';

export type ClientStatus = 'connecting' | 'connected' | 'reconnecting' | 'closed';

export interface ClientStats extends PublishQueueStats {
  readonly status: ClientStatus;
  readonly subscriptions: number;
  /** Connections established after the first one. */
  readonly reconnects: number;
}

/** How long a GOAWAY-ing server gets to answer in-flight publishes and close by itself. */
const GOAWAY_GRACE_MS = 5_000;

/**
 * An SBMP client for Node and browsers: publishes over a WebSocket with a bounded in-flight
 * window, subscribes to live replicas, reads over HTTP, and reconnects by itself.
 *
 * Reconnection: after a disconnect or GOAWAY the client reconnects with jittered exponential
 * backoff (honouring the server's hint), says HELLO again and re-subscribes each subscription
 * from the last revision it saw, so nothing is missed and nothing regresses. When the WELCOME
 * names another store epoch than before (the server's store has a new history), each
 * subscription syncs the full current state instead and drops the keys not in it. Publishes in
 * flight at the disconnect fail with `unavailable` (their outcome is unknown) and are never
 * re-sent; publishes still waiting in the window go out on the new connection.
 */
export class SbmpClient {
  readonly #options: ResolvedClientOptions;
  readonly #http: HttpApi;
  readonly #publishes: PublishQueue;
  readonly #subscriptions: SubscriptionSet;
  readonly #statusListeners: Listeners<ClientStatus>;
  readonly #errorListeners: Listeners<unknown>;
  #connection: Connection | undefined;
  #status: ClientStatus = 'connecting';
  #reconnectAttempt = 0;
  #reconnects = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #goawayFloorMs = 0;
  #goawayTimer: ReturnType<typeof setTimeout> | undefined;
  /** The store epoch of the last WELCOME that carried one: revisions resume only within it. */
  #storeEpoch: string | undefined;
  /** Why the client is closed: `closed` after `close()`, else the failure that ended it. */
  #closedWith: SbmpError | undefined;

  private constructor(options: ResolvedClientOptions) {
    this.#options = options;
    this.#errorListeners = new Listeners<unknown>();
    if (options.onError !== undefined) this.#errorListeners.add(options.onError);
    const report = (error: unknown) => this.#report(error);
    this.#statusListeners = new Listeners(report);
    this.#publishes = new PublishQueue(options.maxInFlight, options.maxQueued);
    this.#subscriptions = new SubscriptionSet({
      encoding: options.encoding,
      reconnect: options.reconnect,
      send: (frame) => this.#connection?.send(frame),
      report,
    });
    this.#http = new HttpApi(options.httpUrl, {
      timeoutMs: options.httpTimeoutMs,
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
      ...(options.token === undefined ? {} : { token: options.token }),
    });
  }

  /**
   * Connects and completes the handshake. The first connection is not retried: an unreachable
   * server rejects with `unavailable`, a refused HELLO with the server's code (`unauthorized`,
   * ...). Later disconnects are healed by reconnecting.
   */
  static async connect(options: ClientOptions): Promise<SbmpClient> {
    const client = new SbmpClient(resolveClientOptions(options));
    client.#established(await client.#open());
    return client;
  }

  get status(): ClientStatus {
    return this.#status;
  }

  get clientId(): string {
    return this.#options.clientId;
  }

  /** The current connection's WELCOME (the server's id and limits), or undefined while disconnected. */
  get welcome(): WelcomeFrame | undefined {
    return this.#connection?.welcome;
  }

  /** The HTTP API origin used by `get`. */
  get httpUrl(): string {
    return this.#options.httpUrl;
  }

  stats(): ClientStats {
    return {
      ...this.#publishes.stats(),
      status: this.#status,
      subscriptions: this.#subscriptions.size,
      reconnects: this.#reconnects,
    };
  }

  /** Listens to status changes; returns the function that stops listening. */
  onStatus(listener: (status: ClientStatus) => void): () => void {
    return this.#statusListeners.add(listener);
  }

  /** Listens to errors that belong to no call; returns the function that stops listening. */
  onError(listener: (error: unknown) => void): () => void {
    return this.#errorListeners.add(listener);
  }

  /**
   * Publishes the whole state of `key`. Resolves with the ack for every apply result —
   * `stale` and `conflict` too, with the version the server holds (see `throwIfRefused`).
   * Rejects for failures: bad input (`bad_key`, `bad_version`, `too_large`), `unavailable`
   * when the connection was lost before the answer, `closed`, `aborted`, `limit_exceeded`.
   */
  publish(key: string, state: unknown, options: PublishOptions = {}): Promise<Ack> {
    try {
      if (this.#closedWith !== undefined) throw this.#closedWith;
      const maxStateBytes = this.#connection?.welcome.maxStateBytes ?? 0;
      const request = buildPublishRequest(key, state, options, this.#options.encoding, maxStateBytes);
      return this.#publishes.enqueue(request, options.signal, borrowsState(request));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Deletes `key` by publishing a tombstone (at `version`, or current+1). */
  delete(key: string, options: Omit<PublishOptions, 'deleted' | 'contentType'> = {}): Promise<Ack> {
    return this.publish(key, null, { ...options, deleted: true });
  }

  /** The current snapshot of `key` over HTTP, or undefined when it does not exist or is deleted. */
  get(key: string): Promise<StoredSnapshot | undefined> {
    return this.#http.get(key);
  }

  /**
   * Subscribes to the keys matching `pattern` (`*` one segment, trailing `>` the rest). The
   * subscription's `replicas` fill with the current state and follow every change; `onSnapshot`
   * (optional) sees each applied snapshot. Throws `bad_pattern` at once for a bad pattern.
   */
  subscribe<T = unknown>(
    pattern: string,
    onSnapshot?: SnapshotListener<T>,
    options: SubscribeOptions = {},
  ): Subscription<T> {
    if (this.#closedWith !== undefined) throw this.#closedWith;
    return this.#subscriptions.add(pattern, onSnapshot, options);
  }

  /**
   * Closes the client. Publishes still unanswered get up to `drainMs` (default 0) to be
   * answered; then everything pending fails with `closed`, subscriptions end (`done` resolves),
   * and the connection closes. Idempotent.
   */
  async close(options: { drainMs?: number } = {}): Promise<void> {
    if (this.#status === 'closed') return;
    const drainMs = options.drainMs ?? 0;
    if (drainMs > 0 && this.#connection !== undefined) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#publishes.whenIdle(),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, drainMs);
        }),
      ]);
      clearTimeout(timer);
    }
    this.#shutDown(undefined);
  }

  async #open(): Promise<Connection> {
    const token =
      typeof this.#options.token === 'function' ? await this.#options.token() : this.#options.token;
    return Connection.open({
      url: this.#options.wsUrl,
      transport: this.#options.transport,
      hello: {
        type: 'hello',
        protocolVersion: PROTOCOL_VERSION,
        clientId: this.#options.clientId,
        stateEncoding: this.#options.encoding,
        batches: true,
        ...(token === undefined ? {} : { token }),
      },
      connectTimeoutMs: this.#options.connectTimeoutMs,
      heartbeatMs: this.#options.heartbeatMs,
      onFrame: (frame) => this.#onFrame(frame),
      onClose: (error) => this.#connectionLost(error),
    });
  }

  #established(connection: Connection): void {
    if (this.#status === 'closed') {
      connection.close();
      return;
    }
    this.#connection = connection;
    this.#reconnectAttempt = 0;
    this.#setStatus('connected');
    this.#publishes.connected((frame) => connection.send(frame), connection.welcome.maxInFlight);
    // Another epoch: the store's history is not the one our revisions came from (a restarted
    // memory store, a restored or wiped data file), so resuming by revision would miss changes.
    const epoch = connection.welcome.storeEpoch;
    const historyChanged =
      epoch !== undefined && this.#storeEpoch !== undefined && epoch !== this.#storeEpoch;
    if (epoch !== undefined) this.#storeEpoch = epoch;
    this.#subscriptions.connected(historyChanged);
  }

  #connectionLost(error: SbmpError): void {
    this.#connection = undefined;
    clearTimeout(this.#goawayTimer);
    this.#publishes.disconnected(error);
    this.#subscriptions.disconnected();
    if (this.#status === 'closed') return;
    // A protocol failure is a bug or a misconfiguration somewhere, not weather: say so even
    // though reconnecting (from the last revision applied) may get past it.
    if (error.code === 'bad_frame' && this.#options.reconnect.enabled) this.#report(error);
    if (!this.#options.reconnect.enabled) {
      this.#shutDown(error);
      return;
    }
    this.#setStatus('reconnecting');
    this.#scheduleReconnect(error);
  }

  #scheduleReconnect(lastError: SbmpError): void {
    const { reconnect } = this.#options;
    if (this.#reconnectAttempt >= reconnect.maxAttempts) {
      this.#shutDown(
        new SbmpError('unavailable', `gave up reconnecting after ${reconnect.maxAttempts} attempts`, {
          cause: lastError,
          details: { option: 'reconnect.maxAttempts' },
        }),
      );
      return;
    }
    const delay = backoffDelay(this.#reconnectAttempt, reconnect, this.#goawayFloorMs);
    this.#goawayFloorMs = 0;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      void this.#reconnect();
    }, delay);
  }

  async #reconnect(): Promise<void> {
    let connection: Connection;
    try {
      connection = await this.#open();
    } catch (error) {
      if (this.#status === 'closed') return;
      const failure =
        error instanceof SbmpError
          ? error
          : new SbmpError('unavailable', 'reconnect failed', { cause: error });
      if (!isTransient(failure)) {
        // The server refused us for a reason waiting will not fix (e.g. `unauthorized`).
        this.#shutDown(failure);
        return;
      }
      this.#reconnectAttempt++;
      this.#scheduleReconnect(failure);
      return;
    }
    this.#reconnects++;
    this.#established(connection);
  }

  #onFrame(frame: Frame): void {
    switch (frame.type) {
      case 'ack':
        if (!this.#publishes.acknowledge(frame.requestId, frame.result, frame.version, frame.revision)) {
          this.#report(new SbmpError('bad_frame', `ack for unknown request ${frame.requestId}`));
        }
        return;
      case 'snapshots':
        this.#subscriptions.deliver(frame);
        return;
      case 'error':
        this.#onErrorFrame(frame);
        return;
      case 'goaway':
        this.#onGoaway(frame.reconnectAfterMs);
        return;
      default:
        this.#report(new SbmpError('bad_frame', `the server sent an unexpected ${frame.type} frame`));
    }
  }

  #onErrorFrame(frame: ErrorFrame): void {
    if (frame.requestId !== undefined && frame.requestId !== 0) {
      if (frame.code === 'stale' || frame.code === 'conflict') {
        this.#publishes.acknowledge(frame.requestId, frame.code, frame.currentVersion ?? 0, 0);
      } else {
        this.#publishes.fail(
          frame.requestId,
          errorFromFrame(frame.code, frame.message, { requestId: frame.requestId }),
        );
      }
      return;
    }
    if (frame.subscriptionId !== undefined && frame.subscriptionId !== 0) {
      this.#subscriptions.refused({ ...frame, subscriptionId: frame.subscriptionId });
      return;
    }
    this.#report(errorFromFrame(frame.code, frame.message, {}));
  }

  /** Stop publishing on this connection; let the server answer what is in flight and close it. */
  #onGoaway(reconnectAfterMs: number): void {
    const connection = this.#connection;
    if (connection === undefined) return;
    this.#goawayFloorMs = Math.max(0, reconnectAfterMs);
    this.#publishes.pause();
    clearTimeout(this.#goawayTimer);
    this.#goawayTimer = setTimeout(
      () => connection.close(new SbmpError('unavailable', 'the server went away (GOAWAY)')),
      GOAWAY_GRACE_MS,
    );
  }

  /** Ends everything: `error` undefined for an orderly close, else the failure that ended the client. */
  #shutDown(error: SbmpError | undefined): void {
    if (this.#status === 'closed') return;
    this.#setStatus('closed');
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#goawayTimer);
    const closed = error ?? new SbmpError('closed', 'the client is closed');
    this.#closedWith = closed;
    this.#publishes.close(closed);
    this.#subscriptions.endAll(error);
    const connection = this.#connection;
    this.#connection = undefined;
    connection?.close(closed, 1000);
    if (error !== undefined) this.#report(error);
  }

  #setStatus(status: ClientStatus): void {
    if (this.#status === status) return;
    this.#status = status;
    this.#statusListeners.emit(status);
  }

  /**
   * Without an `onError` listener nothing is lost: an error thrown by the application's own
   * listener is rethrown from a microtask (an uncaught error, as a bug should be), and the
   * client's own failures (connection, protocol) are emitted as a process warning, or logged
   * with console.warn in a browser.
   */
  #report(error: unknown): void {
    if (this.#errorListeners.size > 0) {
      this.#errorListeners.emit(error);
      return;
    }
    if (!isSbmpError(error)) {
      queueMicrotask(() => {
        throw error;
      });
      return;
    }
    const node = (globalThis as { process?: { emitWarning?: (warning: Error) => void } }).process;
    if (typeof node?.emitWarning === 'function') node.emitWarning(error);
    else console.warn('sbmp client:', error);
  }
}

/** Failures a later attempt may not see: the network, an overloaded or restarting server. */
function isTransient(error: SbmpError): boolean {
  return (
    error.retryable ||
    error.code === 'limit_exceeded' ||
    error.code === 'closed' ||
    error.code === 'bad_frame'
  );
}
