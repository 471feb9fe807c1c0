import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Ack } from '../client/ack.js';
import { SbmpClient } from '../client/client.js';
import { HttpApi } from '../client/http-api.js';
import type { Subscription } from '../client/subscription.js';
import type { CheckObservations, Held, PublishTally, SubscriberView } from './check-verdict.js';
import { mismatches } from './check-verdict.js';
import { withTimeout } from './with-timeout.js';

export interface CheckOptions {
  readonly url: string;
  readonly token?: string;
  /** Keys written, under `<prefix>/<run id>/`. */
  readonly keys: number;
  readonly publishers: number;
  /** Subscribers present while publishing; one more joins after it. */
  readonly subscribers: number;
  readonly seconds: number;
  /** Publishes per second, all publishers together. */
  readonly rate: number;
  readonly prefix: string;
  /** Bound on each wait: connecting, syncing, the last answers, convergence. */
  readonly timeoutMs: number;
  /** Leave the keys in place instead of deleting them at the end. */
  readonly keep: boolean;
}

/**
 * The state the check publishes. It names its run, key (by index) and version, and its id
 * (`p.n`, the publisher and its sequence number) tells every publish apart, so that a delivery
 * can be traced to a publish without remembering each one.
 */
interface CheckState {
  readonly run: string;
  readonly k: number;
  readonly v: number;
  readonly p: number;
  readonly n: number;
}

/** How often the publishers' pacing and the convergence wait look again, ms. */
const TICK_MS = 10;
/** Share of publishes sent with a version below the newest one sent, or resent as they were. */
const OLD_VERSION_SHARE = 0.2;
const RESEND_SHARE = 0.05;

function idOf(state: unknown): string | undefined {
  if (typeof state !== 'object' || state === null) return undefined;
  const { p, n } = state as Partial<CheckState>;
  return typeof p === 'number' && typeof n === 'number' ? `${p}.${n}` : undefined;
}

/**
 * Runs the check's workload against the server at `options.url` and returns what it observed:
 * `subscribers` clients subscribe to the run's keys; `publishers` clients publish to random keys
 * at `rate` for `seconds`, most with a new version, some with an older one (refused `stale` or
 * `conflict`) and some resent as they were (`duplicate`); then the store's state of every key
 * is read, one more subscriber syncs from scratch, and the check waits for every subscriber to
 * hold what the store holds. Throws when a client cannot connect.
 */
export async function runCheck(
  options: CheckOptions,
  progress: (line: string) => void,
): Promise<CheckObservations> {
  const run = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const base = `${options.prefix}/${run}`;
  const keys = Array.from({ length: options.keys }, (_, i) => `${base}/k${i}`);
  const clients: SbmpClient[] = [];
  const connect = async (name: string) => {
    const client = await SbmpClient.connect({
      url: options.url,
      clientId: `sbmp-check-${process.pid}-${name}`,
      // A dropped connection is a finding, not something to heal in the middle of a check.
      reconnect: { enabled: false },
      connectTimeoutMs: options.timeoutMs,
      ...(options.token === undefined ? {} : { token: options.token }),
    });
    clients.push(client);
    return client;
  };
  try {
    const workload = new Workload(run, keys, options.publishers);
    const watchers: Watcher[] = [];
    let phantoms = 0;
    let phantomExample: string | undefined;
    const watch = async (name: string, late: boolean) => {
      const client = await connect(name);
      const watcher = new Watcher(name, late, client, `${base}/>`, (key, version, state) => {
        if (workload.published(key, version, state)) return;
        phantoms++;
        phantomExample ??= `${key} version ${version} carried ${JSON.stringify(state)?.slice(0, 120)}`;
      });
      watchers.push(watcher);
      await withTimeout(watcher.subscription.synced, options.timeoutMs, `the sync of ${name}`);
    };
    for (let i = 0; i < options.subscribers; i++) await watch(`subscriber ${i + 1}`, false);
    progress(`# ${options.subscribers} subscribers on ${base}/>`);

    const publishers = await Promise.all(
      Array.from({ length: options.publishers }, (_, i) => connect(`publisher ${i + 1}`)),
    );
    const pending = await workload.drive(publishers, options);
    progress(
      `# published for ${options.seconds} s: ${workload.tally.sent.toLocaleString('en-US')} publishes; waiting for the last answers`,
    );
    await withTimeout(Promise.allSettled(pending), options.timeoutMs, 'the last acknowledgements');

    const reader = publishers[0]!;
    const store = await withTimeout(readStore(options, `${base}/`), options.timeoutMs, 'reading the store');
    const readAt = performance.now();
    await watch('late subscriber', true);
    let convergedAfterMs: number | undefined;
    const deadline = readAt + options.timeoutMs;
    for (let i = 0; performance.now() < deadline && i < 1_000_000; i++) {
      if (watchers.every((w) => w.lost !== undefined || mismatches(keys, store, w.held).count === 0)) {
        if (watchers.every((w) => w.lost === undefined)) convergedAfterMs = performance.now() - readAt;
        break;
      }
      await sleep(TICK_MS);
    }
    const subscribers: SubscriberView[] = watchers.map((w) => w.view());
    // The observation ends here: the deletes below are the check's own, not the workload's.
    for (const w of watchers) w.subscription.unsubscribe();
    const observed = { phantoms, ...(phantomExample === undefined ? {} : { phantomExample }) };

    if (!options.keep) {
      await withTimeout(
        Promise.allSettled(keys.filter((key) => store.has(key)).map((key) => reader.delete(key))),
        options.timeoutMs,
        'deleting the keys',
      );
    }
    return {
      keys,
      publishes: workload.tally,
      newestApplied: workload.newestApplied,
      store,
      ...observed,
      subscribers,
      convergedAfterMs,
    };
  } finally {
    await Promise.allSettled(clients.map((client) => client.close()));
  }
}

/** Page size of the store listing: the largest the server serves. */
const LIST_PAGE = 1000;

/**
 * What the store holds under `prefix`, by paged listing (a few requests rather than one per
 * key); tombstones are not listed, so deleted keys are absent, as in the replicas.
 */
async function readStore(options: CheckOptions, prefix: string): Promise<Map<string, Held>> {
  const api = new HttpApi(options.url, options.token === undefined ? {} : { token: options.token });
  const store = new Map<string, Held>();
  let cursor: string | undefined;
  // Bounded: every page but the last holds LIST_PAGE keys, and the run wrote at most `keys`.
  for (let page = 0; page <= Math.ceil(options.keys / LIST_PAGE); page++) {
    const listed = await api.list(prefix, { limit: LIST_PAGE, ...(cursor === undefined ? {} : { cursor }) });
    for (const snapshot of listed.items) {
      const id = snapshot.deleted === true ? undefined : idOf(snapshot.state);
      if (id !== undefined) store.set(snapshot.key, { version: snapshot.version, id });
    }
    cursor = listed.cursor;
    if (cursor === undefined || listed.items.length === 0) break;
  }
  return store;
}

/** One subscriber: its subscription, and how its connection ended if it did. */
class Watcher {
  readonly subscription: Subscription;
  lost: string | undefined;
  readonly #name: string;
  readonly #late: boolean;
  #deliveries = 0;

  constructor(
    name: string,
    late: boolean,
    client: SbmpClient,
    pattern: string,
    onDelivery: (key: string, version: number, state: unknown) => void,
  ) {
    this.#name = name;
    this.#late = late;
    client.onError((error) => {
      this.lost ??= error instanceof Error ? error.message : String(error);
    });
    client.onStatus((status) => {
      if (status === 'closed') this.lost ??= 'connection closed';
    });
    this.subscription = client.subscribe(pattern, (snapshot) => {
      this.#deliveries++;
      onDelivery(snapshot.key, snapshot.version, snapshot.state);
    });
  }

  /** What its replicas hold per key (keys deleted or never written are absent). */
  get held(): Map<string, Held> {
    const held = new Map<string, Held>();
    for (const [key, snapshot] of this.subscription.replicas) {
      held.set(key, { version: snapshot.version, id: idOf(snapshot.state) ?? 'foreign' });
    }
    return held;
  }

  view(): SubscriberView {
    const view = {
      name: this.#name,
      late: this.#late,
      deliveries: this.#deliveries,
      refused: this.subscription.refusedDeliveries(),
      held: this.held,
    };
    return this.lost === undefined ? view : { ...view, lost: this.lost };
  }
}

/** The publishers' side: what to send next, and what the answers said. */
class Workload {
  readonly tally: PublishTally = { sent: 0, applied: 0, duplicate: 0, stale: 0, conflict: 0, failed: 0 };
  readonly newestApplied = new Map<string, Held>();
  readonly #run: string;
  readonly #keys: readonly string[];
  /** Per publisher: the last sequence number it used. */
  readonly #issued: number[];
  /** Per key: the highest version sent, and the last publish sent (for resends). */
  readonly #highest = new Map<string, number>();
  readonly #last = new Map<string, { version: number; state: CheckState }>();

  constructor(run: string, keys: readonly string[], publishers: number) {
    this.#run = run;
    this.#keys = keys;
    this.#issued = Array.from({ length: publishers }, () => 0);
  }

  /** True when `state`, delivered as `key` at `version`, is what one of this run's publishes sent. */
  published(key: string, version: number, state: unknown): boolean {
    if (typeof state !== 'object' || state === null) return false;
    const { run, k, v, p, n } = state as Partial<CheckState>;
    return (
      run === this.#run &&
      typeof k === 'number' &&
      this.#keys[k] === key &&
      v === version &&
      typeof p === 'number' &&
      typeof n === 'number' &&
      Number.isInteger(n) &&
      n >= 1 &&
      n <= (this.#issued[p] ?? 0)
    );
  }

  /** Publishes at the options' rate until the time is up; returns the publishes still unanswered. */
  async drive(publishers: readonly SbmpClient[], options: CheckOptions): Promise<Promise<void>[]> {
    const pending = new Set<Promise<void>>();
    const start = performance.now();
    const end = start + options.seconds * 1000;
    for (let now = start; now < end; now = performance.now()) {
      const due = Math.min(options.rate * options.seconds, Math.floor(((now - start) / 1000) * options.rate));
      while (this.tally.sent < due) {
        const p = this.tally.sent % publishers.length;
        const publish = this.#publishOne(publishers[p]!, p, ++this.#issued[p]!);
        pending.add(publish);
        void publish.finally(() => pending.delete(publish));
      }
      await sleep(TICK_MS);
    }
    return [...pending];
  }

  #publishOne(client: SbmpClient, p: number, n: number): Promise<void> {
    const k = Math.floor(Math.random() * this.#keys.length);
    const key = this.#keys[k]!;
    const highest = this.#highest.get(key) ?? 0;
    const last = this.#last.get(key);
    const roll = Math.random();
    let version: number;
    let state: CheckState;
    if (last !== undefined && roll < RESEND_SHARE) {
      ({ version, state } = last);
    } else {
      version =
        highest > 0 && roll < RESEND_SHARE + OLD_VERSION_SHARE
          ? Math.max(1, highest - Math.floor(Math.random() * 3))
          : highest + 1;
      state = { run: this.#run, k, v: version, p, n };
      this.#last.set(key, { version, state });
      if (version > highest) this.#highest.set(key, version);
    }
    this.tally.sent++;
    return client.publish(key, state, { version }).then(
      (ack) => this.#answered(key, version, state, ack),
      (error: unknown) => {
        this.tally.failed++;
        this.tally.firstError ??= error instanceof Error ? error.message : String(error);
      },
    );
  }

  #answered(key: string, version: number, state: CheckState, ack: Ack): void {
    this.tally[ack.result]++;
    if (ack.result !== 'applied') return;
    const newest = this.newestApplied.get(key);
    if (newest === undefined || version > newest.version) {
      this.newestApplied.set(key, { version, id: `${state.p}.${state.n}` });
    }
  }
}
