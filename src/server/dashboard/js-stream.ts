/**
 * `/dashboard-stream.js`, a browser module: one Server-Sent Events stream that stays open.
 *
 * A dropped stream is re-opened by the browser's `EventSource` itself (with `Last-Event-ID`).
 * A refused one (400 bad pattern, 503 overloaded or shutting down) leaves the `EventSource`
 * closed with no way to read why, so the same URL is fetched once to read the status and the
 * error body: a 4xx is shown and the stream stops; a 5xx or a network failure is retried
 * after `Retry-After` or a backoff, resuming from the last event id with `since=`.
 *
 * The source is a template literal: no backtick and no dollar-brace inside.
 */
export const DASHBOARD_STREAM_JS = `// One Server-Sent Events stream of the SBMP dashboard, re-opened until stopped.

/** First wait before re-opening a refused stream; doubles up to MAX_RETRY_MS. */
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 15000;

/**
 * urlFor(lastEventId) gives the URL to open (lastEventId is undefined at first);
 * handlers maps event names ('message' for unnamed events) to handler(data);
 * onStatus(state, error) hears 'connecting', 'live', 'reconnecting' and 'failed', with
 * { status, code, message } when the server refused the stream or sent an error event.
 */
export class LiveStream {
  #urlFor;
  #handlers;
  #onStatus;
  #source;
  #lastEventId;
  #retryMs = FIRST_RETRY_MS;
  #timer;
  #probe;
  #stopped = false;

  constructor(urlFor, handlers, onStatus) {
    this.#urlFor = urlFor;
    this.#handlers = handlers;
    this.#onStatus = onStatus;
  }

  start() {
    this.#open();
  }

  stop() {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#probe?.abort();
    this.#source?.close();
  }

  #open() {
    if (this.#stopped) return;
    const url = this.#urlFor(this.#lastEventId);
    const source = new EventSource(url);
    this.#source = source;
    this.#onStatus('connecting');
    source.onopen = () => {
      this.#retryMs = FIRST_RETRY_MS;
      this.#onStatus('live');
    };
    for (const name of Object.keys(this.#handlers)) {
      if (name === 'error') continue;
      source.addEventListener(name, (event) => {
        if (source !== this.#source) return;
        if (event.lastEventId !== '') this.#lastEventId = event.lastEventId;
        this.#handlers[name](event.data);
      });
    }
    source.addEventListener('error', (event) => {
      if (source !== this.#source) return;
      // A server-sent "error" event has data; the EventSource's own failure has none.
      if (typeof event.data === 'string') {
        this.#onStatus('reconnecting', readError(event.data, 0));
        return;
      }
      if (source.readyState === EventSource.CONNECTING) {
        this.#onStatus('reconnecting');
        return;
      }
      this.#refused(source, url);
    });
  }

  async #refused(source, url) {
    source.close();
    const probe = new AbortController();
    this.#probe = probe;
    let error;
    let retry = true;
    let waitMs = this.#retryMs;
    try {
      const response = await fetch(url, { signal: probe.signal, headers: { Accept: 'text/event-stream' } });
      if (response.ok) {
        probe.abort();
      } else {
        error = readError(await response.text(), response.status);
        retry = response.status >= 500 || response.status === 429;
        const retryAfter = Number(response.headers.get('Retry-After'));
        if (retryAfter > 0) waitMs = retryAfter * 1000;
      }
    } catch {
      error = { status: 0, code: 'offline', message: 'the server cannot be reached' };
    }
    if (this.#stopped || source !== this.#source) return;
    if (!retry) {
      this.#onStatus('failed', error);
      return;
    }
    this.#onStatus('reconnecting', error);
    this.#retryMs = Math.min(MAX_RETRY_MS, this.#retryMs * 2);
    this.#timer = setTimeout(() => this.#open(), waitMs);
  }
}

/** An SBMP error body ({ code, message, ... }) or whatever else the server sent. */
export function readError(text, status) {
  try {
    const body = JSON.parse(text);
    if (body !== null && typeof body === 'object' && typeof body.code === 'string') {
      return Object.assign({ status }, body);
    }
  } catch {
    // Not JSON: shown as is below.
  }
  return { status, code: status === 0 ? 'error' : 'http_' + status, message: String(text).slice(0, 200) };
}
`;
