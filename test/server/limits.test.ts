import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WebSocket } from 'ws';
import type { AckFrame, ErrorFrame } from '../../src/codec/frame-types.js';
import { isSbmpError } from '../../src/core/errors.js';
import { DEFAULT_SERVER_LIMITS, resolveLimits } from '../../src/server/limits.js';
import { RateLimiter } from '../../src/server/rate-limit.js';
import { startServer } from '../../src/server/server.js';
import { MemoryStore } from '../../src/store/memory.js';
import { FrameClient, GatedStore, SseClient, startTestServer, withTimeout } from './helpers.js';

describe('resolveLimits', () => {
  test('defaults are the documented ones', () => {
    const limits = resolveLimits(undefined);
    assert.equal(limits.maxStateBytes, 1024 * 1024);
    assert.equal(limits.maxKeyBytes, 256);
    assert.equal(limits.maxSubscriptionsPerConnection, 1000);
    assert.equal(limits.maxConnections, 10_000);
    assert.equal(limits.maxPendingKeysPerSubscriber, 100_000);
    assert.equal(limits.maxInFlightPerConnection, 1024);
    assert.equal(limits.publishRatePerIdentity, 100_000);
    assert.equal(limits.helloTimeoutMs, 10_000);
    assert.deepEqual(limits, DEFAULT_SERVER_LIMITS);
  });

  test('nonsense is bad_config naming the option', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ maxConnections: 0 }, 'maxConnections'],
      [{ maxStateBytes: 1.5 }, 'maxStateBytes'],
      [{ helloTimeoutMs: '10' }, 'helloTimeoutMs'],
      [{ maxKeyBytes: 512 }, 'maxKeyBytes'],
      [{ maxFrameBytes: 1024 * 1024 }, 'maxFrameBytes'],
      [{ noSuchLimit: 1 }, 'noSuchLimit'],
    ];
    for (const [overrides, option] of cases) {
      assert.throws(
        () => resolveLimits(overrides as never),
        (err: unknown) => isSbmpError(err, 'bad_config') && err.details?.option === option,
        option,
      );
    }
  });

  test('startServer refuses bad limits and bad options before listening', async () => {
    const store = new MemoryStore();
    await assert.rejects(
      startServer({ store, port: 0, logger: false, limits: { maxConnections: -1 } }),
      (err: unknown) => isSbmpError(err, 'bad_config'),
    );
    await assert.rejects(startServer({ store, port: 70000, logger: false }), (err: unknown) =>
      isSbmpError(err, 'bad_config'),
    );
    await assert.rejects(startServer({ store: {} as never, port: 0, logger: false }), (err: unknown) =>
      isSbmpError(err, 'bad_config'),
    );
    await store.close();
  });

  test('a port in use is bad_config naming the fix', async () => {
    const t = await startTestServer();
    try {
      const port = Number(new URL(t.url).port);
      await assert.rejects(
        startServer({ store: t.store, port, logger: false }),
        (err: unknown) => isSbmpError(err, 'bad_config') && /in use/.test(err.message),
      );
    } finally {
      await t.close();
    }
  });
});

describe('RateLimiter', () => {
  test('allows a burst of one second, then refuses with retryAfterMs, then refills', () => {
    let now = 0;
    const limiter = new RateLimiter(10, () => now);
    for (let i = 0; i < 10; i++) limiter.take('a');
    assert.throws(
      () => limiter.take('a'),
      (err: unknown) => isSbmpError(err, 'limit_exceeded') && (err.details?.retryAfterMs as number) > 0,
    );
    limiter.take('b');
    now += 100;
    limiter.take('a');
    assert.throws(() => limiter.take('a'));
  });
});

describe('limits enforced by a running server', () => {
  test('maxConnections: the next WebSocket and SSE stream are refused with 503 overloaded', async () => {
    const t = await startTestServer({ limits: { maxConnections: 2 } });
    const clients: FrameClient[] = [];
    try {
      clients.push(await FrameClient.connect(t.wsUrl), await FrameClient.connect(t.wsUrl));
      const refused = new WebSocket(t.wsUrl);
      const status = await withTimeout(
        new Promise<number>((resolve) => {
          refused.on('unexpected-response', (_req, res) => {
            resolve(res.statusCode ?? 0);
            res.resume();
            refused.terminate();
          });
          refused.on('open', () => resolve(101));
          refused.on('error', () => {});
        }),
        'refused upgrade',
      );
      assert.equal(status, 503);
      const sse = await fetch(`${t.url}/sbmp/v3/watch?pattern=a`);
      assert.equal(sse.status, 503);
      assert.equal((await sse.json()).code, 'overloaded');
      assert.ok(sse.headers.get('retry-after'));
      // Plain requests are not connections in this sense.
      const ok = await fetch(`${t.url}/healthz`);
      assert.equal(ok.status, 200);
      await ok.body?.cancel();
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await t.close();
    }
  });

  test('publishRatePerIdentity: HTTP 429 with Retry-After, WS ERROR limit_exceeded', async () => {
    const t = await startTestServer({ limits: { publishRatePerIdentity: 5 } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) {
        const res = await fetch(`${t.url}/sbmp/v3/state/rate/k`, { method: 'PUT', body: String(i) });
        statuses.push(res.status);
        if (res.status === 429) {
          const body = await res.json();
          assert.equal(body.code, 'limit_exceeded');
          assert.ok(Number(res.headers.get('retry-after')) >= 1);
        } else await res.body?.cancel();
      }
      assert.ok(statuses.filter((s) => s === 200).length <= 6, statuses.join(','));
      assert.ok(statuses.includes(429), statuses.join(','));
      const client = await FrameClient.connect(t.wsUrl);
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => client.publish(`rate/ws${i}`, i)),
      );
      const refused = answers.filter((f) => f.type === 'error') as ErrorFrame[];
      assert.ok(refused.length >= 4, `${refused.length} refused`);
      for (const e of refused) {
        assert.equal(e.code, 'limit_exceeded');
        assert.equal(e.retryable, true);
      }
      await client.close();
    } finally {
      await t.close();
    }
  });

  test('maxStateBytes: 413 over HTTP, too_large over WS', async () => {
    const t = await startTestServer({ limits: { maxStateBytes: 1000 } });
    try {
      const over = JSON.stringify('x'.repeat(1000));
      const res = await fetch(`${t.url}/sbmp/v3/state/size/k`, { method: 'PUT', body: over });
      assert.equal(res.status, 413);
      assert.equal((await res.json()).code, 'too_large');
      const client = await FrameClient.connect(t.wsUrl);
      const answer = (await client.publish('size/k', 'y'.repeat(1000))) as ErrorFrame;
      assert.equal(answer.code, 'too_large');
      const welcome = client.frames.find((f) => f.type === 'welcome');
      assert.equal(welcome?.type === 'welcome' && welcome.maxStateBytes, 1000);
      await client.close();
      assert.equal(await t.store.get('size/k'), undefined);
    } finally {
      await t.close();
    }
  });

  test('maxInFlightPerConnection: publishes beyond the window get limit_exceeded, the others their ACK', async () => {
    const store = new GatedStore();
    const t = await startTestServer({ store, limits: { maxInFlightPerConnection: 4 } });
    try {
      const client = await FrameClient.connect(t.wsUrl);
      store.closeGate();
      const answers = Array.from({ length: 6 }, (_, i) => client.publish(`inflight/k${i}`, i));
      // The first four wait in the store; the fifth and sixth are beyond the window.
      const refused = (await Promise.all(answers.slice(4))) as ErrorFrame[];
      for (const e of refused) assert.equal(e.code, 'limit_exceeded');
      store.openGate();
      const acked = (await Promise.all(answers.slice(0, 4))) as AckFrame[];
      for (const a of acked) assert.equal(a.result, 'applied');
      assert.equal(await store.get('inflight/k5'), undefined);
      await client.close();
    } finally {
      await t.close();
      await store.close();
    }
  });

  test('a request id answered at once is free again for the next frame', async () => {
    const t = await startTestServer();
    try {
      const client = await FrameClient.connect(t.wsUrl);
      // The memory store answers before the next frame is read: the same id again is a new publish.
      client.sendBatch([
        { type: 'publish', requestId: 7, key: 'reuse/a', state: new Uint8Array([1]) },
        { type: 'publish', requestId: 7, key: 'reuse/b', state: new Uint8Array([2]) },
      ]);
      const answers = () =>
        client.frames.filter((f) => (f.type === 'ack' || f.type === 'error') && f.requestId === 7);
      await client.next(() => answers().length === 2, 'two answers to request 7');
      assert.deepEqual(
        answers().map((f) => f.type),
        ['ack', 'ack'],
      );
      assert.equal((await t.store.get('reuse/b'))?.version, 1);
      await client.close();
    } finally {
      await t.close();
    }
  });

  test('a request id in flight cannot be reused until answered', async () => {
    const store = new GatedStore();
    const t = await startTestServer({ store });
    try {
      const client = await FrameClient.connect(t.wsUrl);
      store.closeGate();
      client.send({ type: 'publish', requestId: 8, key: 'reuse/c', state: new Uint8Array([3]) });
      await store.entered;
      client.send({ type: 'publish', requestId: 8, key: 'reuse/d', state: new Uint8Array([4]) });
      const refused = (await client.next(
        (f) => f.type === 'error' && f.requestId === 8,
        'ERROR for the second request 8',
      )) as ErrorFrame;
      assert.equal(refused.code, 'bad_frame');
      store.openGate();
      const ack = (await client.next((f) => f.type === 'ack' && f.requestId === 8, 'ACK 8')) as AckFrame;
      assert.equal(ack.result, 'applied');
      assert.equal(await store.get('reuse/d'), undefined);
      assert.equal((await store.get('reuse/c'))?.version, 1);
      // Answered now, so the id is free again.
      client.send({ type: 'publish', requestId: 8, key: 'reuse/e', state: new Uint8Array([5]) });
      await client.next((f) => f.type === 'ack' && f.requestId === 8 && f !== ack, 'a second ACK 8');
      assert.equal((await store.get('reuse/e'))?.version, 1);
      await client.close();
    } finally {
      await t.close();
      await store.close();
    }
  });

  test('sseHeartbeatMs: idle SSE streams get comment heartbeats', async () => {
    const t = await startTestServer({ limits: { sseHeartbeatMs: 50 } });
    try {
      const sse = await SseClient.open(`${t.url}/sbmp/v3/watch?pattern=quiet`);
      await sse.next((e) => e.event === 'synced', 'synced');
      await withTimeout(
        sse.comment((c) => c === 'heartbeat'),
        'heartbeat comment',
        2000,
      );
      sse.close();
    } finally {
      await t.close();
    }
  });
});
