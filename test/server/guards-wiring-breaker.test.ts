// The store circuit breaker and periodic compaction wired into a real server over a real LMDB
// store that fails on demand.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { ErrorFrame } from '../../src/codec/frame-types.js';
import type { StoredSnapshot } from '../../src/core/snapshot.js';
import type { HealthReport } from '../../src/server/http/health.js';
import type { SbmpServer } from '../../src/server/server.js';
import { startServer } from '../../src/server/server.js';
import { openLmdbStore } from '../../src/store/lmdb.js';
import type {
  CompactOutcome,
  ListOptions,
  ListPage,
  PutOptions,
  PutOutcome,
  RetentionPolicy,
  SnapshotInput,
  Store,
  Watch,
  WatchOptions,
} from '../../src/store/types.js';
import { FrameClient, metricValue, rawRequest, withTimeout } from './helpers.js';

/**
 * A real store whose request calls throw while `failing` is on, and whose compaction throws
 * while `failCompaction` is on: a disk that goes away and comes back.
 */
class FlakyStore implements Store {
  failing = false;
  failCompaction = false;
  /** put / get / list calls that reached this store. */
  requestCalls = 0;
  compactCalls = 0;
  onCompact: (() => void) | undefined;
  readonly #inner: Store;
  #compactWaiters: { count: number; resolve: () => void }[] = [];

  constructor(inner: Store) {
    this.#inner = inner;
  }

  get kind(): string {
    return this.#inner.kind;
  }

  get capabilities() {
    return this.#inner.capabilities;
  }

  get epoch() {
    return this.#inner.epoch;
  }

  /** Resolves once `compact` has been called `count` times in all. */
  compactCalled(count: number): Promise<void> {
    if (this.compactCalls >= count) return Promise.resolve();
    return withTimeout(
      new Promise((resolve) => this.#compactWaiters.push({ count, resolve })),
      `compaction #${count}`,
    );
  }

  async put(snapshot: SnapshotInput, options?: PutOptions): Promise<PutOutcome> {
    this.#request();
    return this.#inner.put(snapshot, options);
  }

  async get(key: string): Promise<StoredSnapshot | undefined> {
    this.#request();
    return this.#inner.get(key);
  }

  async list(prefix: string, options?: ListOptions): Promise<ListPage> {
    this.#request();
    return this.#inner.list(prefix, options);
  }

  async compact(retention?: RetentionPolicy): Promise<CompactOutcome> {
    this.compactCalls++;
    this.onCompact?.();
    this.#compactWaiters = this.#compactWaiters.filter((w) => {
      if (this.compactCalls < w.count) return true;
      w.resolve();
      return false;
    });
    if (this.failCompaction) throw new Error('injected: compaction failed');
    return this.#inner.compact(retention);
  }

  watch(pattern: string, options?: WatchOptions): Watch {
    return this.#inner.watch(pattern, options);
  }

  currentRevision(): number {
    return this.#inner.currentRevision();
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  #request(): void {
    this.requestCalls++;
    if (this.failing) throw new Error('injected: the disk is gone');
  }
}

async function put(url: string, key: string, state: unknown) {
  const res = await rawRequest(`${url}/sbmp/v3/state/${key}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(state),
  });
  return { ...res, json: JSON.parse(res.body) as Record<string, unknown> };
}

/** Log lines of a pino logger, parsed. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line));
      callback();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

describe('store breaker and compaction, wired', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sbmp-guards-breaker-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function serve(
    name: string,
    guards: Parameters<typeof startServer>[0]['guards'],
    logger = false as const,
  ) {
    const flaky = new FlakyStore(await openLmdbStore({ path: join(dir, name) }));
    const server = await startServer({ store: flaky, port: 0, logger, serverId: name, guards });
    return { flaky, server };
  }

  it('opens on store failures, fails fast with unavailable, shows in readyz and metrics, and closes after a probe', async () => {
    const { flaky, server } = await serve('breaker', {
      storeBreaker: { consecutiveFailures: 3, halfOpenAfterMs: 400 },
      compactIntervalMs: 50,
    });
    const breakerAtCompaction: string[] = [];
    flaky.onCompact = () => breakerAtCompaction.push(server.health().guards.storeBreaker?.state ?? 'none');
    const url = server.url;
    const client = await FrameClient.connect(`${url.replace(/^http/, 'ws')}/sbmp/v3/ws`);
    try {
      const acked = new Map<string, number>();
      for (const key of ['brk/a', 'brk/b']) {
        const ok = await put(url, key, { key });
        assert.equal(ok.status, 200, ok.body);
        acked.set(key, ok.json.version as number);
      }
      await flaky.compactCalled(1);

      // The disk goes away: three failures reach the store, then the circuit opens.
      flaky.failing = true;
      for (let i = 0; i < 3; i++) {
        const failed = await put(url, 'brk/c', { attempt: i });
        assert.equal(failed.status, 500, failed.body);
      }
      const reached = flaky.requestCalls;
      const refused = await put(url, 'brk/c', { attempt: 3 });
      assert.equal(refused.status, 503, refused.body);
      assert.equal(refused.json.code, 'unavailable');
      assert.ok(Number(refused.headers['retry-after']) >= 1, 'Retry-After');
      const get = await rawRequest(`${url}/sbmp/v3/state/brk/a`);
      assert.equal(get.status, 503);
      assert.equal(JSON.parse(get.body).code, 'unavailable');
      const list = await rawRequest(`${url}/sbmp/v3/state?prefix=brk/`);
      assert.equal(list.status, 503);
      const frame = (await client.publish('brk/ws', { via: 'ws' })) as ErrorFrame;
      assert.equal(frame.type, 'error');
      assert.equal(frame.code, 'unavailable');
      assert.equal(frame.retryable, true);
      assert.equal(flaky.requestCalls, reached, 'nothing reached the store while the circuit was open');

      const ready = await rawRequest(`${url}/readyz`);
      assert.equal(ready.status, 503);
      assert.equal(JSON.parse(ready.body).code, 'unavailable');
      assert.equal(JSON.parse(ready.body).breaker, 'open');
      const vars = (await (await fetch(`${url}/debug/vars`)).json()) as { health: HealthReport };
      assert.equal(vars.health.guards.storeBreaker?.state, 'open');
      assert.equal(vars.health.status, 'degraded');
      assert.equal(await metricValue(url, 'sbmp_store_breaker_state', { state: 'open' }), 1);
      assert.equal(await metricValue(url, 'sbmp_store_breaker_opens_total'), 1);
      assert.ok((await metricValue(url, 'sbmp_store_breaker_rejections_total')) >= 4);
      assert.equal(await metricValue(url, 'sbmp_store_breaker_failures_total'), 3);

      // The disk comes back: after the announced delay one probe goes through and closes it.
      flaky.failing = false;
      let retryAfterMs = refused.json.retryAfterMs as number;
      let outcome = refused;
      for (let attempt = 0; attempt < 10 && outcome.status !== 200; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(retryAfterMs, 50), 2000)));
        outcome = await put(url, 'brk/c', { attempt: 'after' });
        if (outcome.status === 503) retryAfterMs = outcome.json.retryAfterMs as number;
      }
      assert.equal(outcome.status, 200, outcome.body);
      acked.set('brk/c', outcome.json.version as number);
      assert.equal((await rawRequest(`${url}/readyz`)).status, 200);
      assert.equal(await metricValue(url, 'sbmp_store_breaker_state', { state: 'closed' }), 1);
      const wsAck = await client.publish('brk/ws', { via: 'ws' });
      assert.equal(wsAck.type, 'ack');

      // Compaction stayed away from the store while the circuit was not closed.
      const calls = flaky.compactCalls;
      await flaky.compactCalled(calls + 1);
      assert.ok((await metricValue(url, 'sbmp_store_compactions_total', { result: 'skipped' })) >= 1);
      assert.ok(
        breakerAtCompaction.every((state) => state === 'closed'),
        breakerAtCompaction.join(','),
      );

      for (const [key, version] of acked) {
        const res = await rawRequest(`${url}/sbmp/v3/state/${key}`);
        assert.equal(res.status, 200, `${key}: ${res.body}`);
        assert.equal(JSON.parse(res.body).version, version, key);
      }
    } finally {
      await client.close();
      await server.close({ drainMs: 1000 });
      await flaky.close();
    }
  });

  it('a failing compaction is logged and retried, never fatal, and does not open the breaker', async () => {
    const { logger, lines } = capturingLogger();
    const flaky = new FlakyStore(await openLmdbStore({ path: join(dir, 'compaction') }));
    let server: SbmpServer | undefined;
    try {
      flaky.failCompaction = true;
      server = await startServer({
        store: flaky,
        port: 0,
        logger,
        guards: { storeBreaker: { consecutiveFailures: 2 }, compactIntervalMs: 30 },
      });
      await flaky.compactCalled(3);
      const ok = await put(server.url, 'cmp/a', { ok: true });
      assert.equal(ok.status, 200, ok.body);
      assert.equal((await rawRequest(`${server.url}/readyz`)).status, 200);
      assert.equal(server.health().guards.storeBreaker?.state, 'closed');
      assert.ok((await metricValue(server.url, 'sbmp_store_compactions_total', { result: 'error' })) >= 2);
      assert.ok(lines.some((line) => line.msg === 'store compaction failed; the next period tries again'));
      assert.match(String(server.health().guards.compaction.lastError), /compaction failed/);

      flaky.failCompaction = false;
      await flaky.compactCalled(flaky.compactCalls + 2);
      assert.ok((await metricValue(server.url, 'sbmp_store_compactions_total', { result: 'ok' })) >= 1);
      assert.equal(server.health().guards.compaction.lastError, null);
    } finally {
      await server?.close({ drainMs: 1000 });
      await flaky.close();
    }
  });
});
