// The SDK's small parts on their own: backoff, URL derivation, listeners, the publish queue,
// giving up, HTTP timeouts.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { backoffDelay, RECONNECT_DEFAULTS, resolveReconnectOptions } from '../../src/client/backoff.js';
import { SbmpClient } from '../../src/client/client.js';
import { HttpApi } from '../../src/client/http-api.js';
import { Listeners } from '../../src/client/listeners.js';
import { PublishQueue } from '../../src/client/publish-queue.js';
import { resolveServerUrls } from '../../src/client/urls.js';
import { isSbmpError, SbmpError } from '../../src/core/errors.js';
import { FakePeer, within } from './fake-peer.js';

describe('backoff', () => {
  it('grows exponentially to the cap, jitter only shortening it', () => {
    const options = resolveReconnectOptions({ initialDelayMs: 100, maxDelayMs: 1_000, jitter: 0.5 });
    fc.assert(
      fc.property(fc.nat(80), fc.double({ min: 0, max: 0.999999, noNaN: true }), (attempt, r) => {
        const full = Math.min(1_000, 100 * 2 ** attempt);
        const delay = backoffDelay(attempt, options, 0, () => r);
        return delay <= full && delay >= full * 0.5;
      }),
      { numRuns: 200 },
    );
    assert.equal(
      backoffDelay(0, options, 0, () => 0),
      100,
    );
    assert.equal(
      backoffDelay(3, options, 0, () => 0),
      800,
    );
    assert.equal(
      backoffDelay(30, options, 0, () => 0),
      1_000,
    );
  });

  it('never comes back before a GOAWAY hint, and spreads clients after it', () => {
    const options = resolveReconnectOptions({ jitter: 0.5 });
    assert.equal(
      backoffDelay(0, options, 2_000, () => 0),
      2_000,
    );
    assert.equal(
      backoffDelay(0, options, 2_000, () => 1),
      3_000,
    );
  });

  it('states its defaults and refuses bad settings', () => {
    assert.deepEqual(resolveReconnectOptions(), RECONNECT_DEFAULTS);
    for (const bad of [
      { jitter: -0.1 },
      { jitter: 1.5 },
      { initialDelayMs: -1 },
      { maxDelayMs: 1, initialDelayMs: 5 },
      { maxAttempts: 0 },
    ]) {
      assert.throws(
        () => resolveReconnectOptions(bad),
        (e: unknown) => isSbmpError(e, 'bad_config'),
      );
    }
  });
});

describe('server URLs', () => {
  it('derives the WebSocket endpoint from the HTTP address and back', () => {
    assert.deepEqual(resolveServerUrls('http://127.0.0.1:7400'), {
      wsUrl: 'ws://127.0.0.1:7400/sbmp/v3/ws',
      httpUrl: 'http://127.0.0.1:7400',
    });
    assert.deepEqual(resolveServerUrls('wss://sbmp.example.com/sbmp/v3/ws'), {
      wsUrl: 'wss://sbmp.example.com/sbmp/v3/ws',
      httpUrl: 'https://sbmp.example.com',
    });
    assert.equal(resolveServerUrls('ws://h:1', 'http://other:2/x').httpUrl, 'http://other:2');
  });
});

describe('listeners', () => {
  it('calls each listener once with both arguments, and reports a throwing one without stopping', () => {
    const reported: unknown[] = [];
    const listeners = new Listeners<string, number>((error) => reported.push(error));
    const calls: string[] = [];
    const first = (a: string, b: number) => calls.push(`first ${a} ${b}`);
    listeners.add(first);
    listeners.add(first);
    listeners.add(() => {
      throw new Error('boom');
    });
    listeners.add((a, b) => calls.push(`last ${a} ${b}`));
    listeners.emit('x', 1);
    assert.deepEqual(calls, ['first x 1', 'last x 1']);
    assert.equal(listeners.size, 3);
    assert.deepEqual(
      reported.map((e) => (e as Error).message),
      ['boom'],
    );
  });

  it('calls a listener of one argument with exactly one, and stops at a clear during an emit', () => {
    const listeners = new Listeners<string>();
    const counts: number[] = [];
    listeners.add((...args: unknown[]) => {
      counts.push(args.length);
      listeners.clear();
    });
    listeners.add(() => counts.push(-1));
    listeners.emit('connected');
    assert.deepEqual(counts, [1]);
  });

  it('skips a listener removed during an emit, and calls one added during it from the next emit', () => {
    const listeners = new Listeners<number>();
    const calls: string[] = [];
    let removeSecond = () => {};
    listeners.add((n) => {
      calls.push(`first ${n}`);
      if (n === 1) {
        removeSecond();
        listeners.add((m) => calls.push(`added ${m}`));
      }
    });
    removeSecond = listeners.add((n) => calls.push(`second ${n}`));
    const removeThird = listeners.add((n) => calls.push(`third ${n}`));
    listeners.emit(1);
    assert.deepEqual(calls, ['first 1', 'third 1']);
    removeThird();
    removeThird();
    listeners.emit(2);
    assert.deepEqual(calls, ['first 1', 'third 1', 'first 2', 'added 2']);
    listeners.clear();
    listeners.emit(3);
    assert.equal(calls.length, 4);
  });
});

describe('publish queue', () => {
  const request = (key: string) => ({
    type: 'publish' as const,
    requestId: 0,
    key,
    state: new Uint8Array([1]),
    ts: 0,
    version: 1,
  });

  it('answers each publish by its request id, each promise with its own ack', async () => {
    const queue = new PublishQueue(2, 10);
    const sent: number[] = [];
    queue.connected((frame) => sent.push(frame.requestId), 2);
    const acks = ['a', 'b', 'c'].map((key) => queue.enqueue(request(key)));
    assert.equal(sent.length, 2);
    assert.equal(queue.acknowledge(sent[1]!, 'applied', 1, 7), true);
    assert.equal(queue.acknowledge(sent[0]!, 'stale', 3, 0), true);
    assert.equal(sent.length, 3);
    assert.equal(queue.acknowledge(sent[2]!, 'applied', 1, 8), true);
    assert.deepEqual(await Promise.all(acks), [
      { key: 'a', result: 'stale', version: 3, revision: 0 },
      { key: 'b', result: 'applied', version: 1, revision: 7 },
      { key: 'c', result: 'applied', version: 1, revision: 8 },
    ]);
    assert.equal(queue.acknowledge(sent[0]!, 'applied', 1, 9), false);
  });

  it('gives a publish made while another is being sent its own ack', async () => {
    const queue = new PublishQueue(4, 10);
    const sent: number[] = [];
    let inner: Promise<unknown> | undefined;
    let innerMade = false;
    queue.connected((frame) => {
      sent.push(frame.requestId);
      if (innerMade) return;
      innerMade = true;
      inner = queue.enqueue(request('inner'));
    }, 4);
    const outer = queue.enqueue(request('outer'));
    assert.equal(sent.length, 2);
    queue.acknowledge(sent[1]!, 'applied', 1, 2);
    queue.acknowledge(sent[0]!, 'applied', 1, 1);
    assert.deepEqual(await outer, { key: 'outer', result: 'applied', version: 1, revision: 1 });
    assert.deepEqual(await inner, { key: 'inner', result: 'applied', version: 1, revision: 2 });
  });

  const notSentBy = (key: string, boom: Error) => (err: unknown) =>
    isSbmpError(err, 'unavailable') &&
    err.cause === boom &&
    err.details?.key === key &&
    err.details?.outcome === 'not sent';

  it('fails the publish whose sending threw, with that error as cause, and leaves nothing unhandled', async () => {
    const queue = new PublishQueue(4, 10);
    const boom = new Error('the socket refused the write');
    queue.connected(() => {
      throw boom;
    }, 4);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await assert.rejects(queue.enqueue(request('k')), notSentBy('k', boom));
      assert.equal(queue.stats().inFlight, 0);
      queue.close(new SbmpError('closed', 'closed by the test'));
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('frees the window slot of a publish that could not be sent, and blames no other publish', async () => {
    const queue = new PublishQueue(1, 10);
    const boom = new Error('the socket refused the write');
    const sent: string[] = [];
    const ids = new Map<string, number>();
    let refuse = '';
    queue.connected((frame) => {
      if (frame.key === refuse) throw boom;
      sent.push(frame.key);
      ids.set(frame.key, frame.requestId);
    }, 1);
    const first = queue.enqueue(request('first'));
    // Waits for the window, then is the one sent when 'first' is answered.
    const refused = queue.enqueue(request('refused'));
    refuse = 'refused';
    assert.equal(queue.acknowledge(ids.get('first')!, 'applied', 1, 1), true);
    await assert.rejects(refused, notSentBy('refused', boom));
    assert.deepEqual(queue.stats(), { inFlight: 0, queued: 0, window: 1 });
    // The window has room again: the next publish goes out at once and gets its own answer.
    const next = queue.enqueue(request('next'));
    assert.deepEqual(sent, ['first', 'next']);
    assert.equal(queue.acknowledge(ids.get('next')!, 'applied', 1, 2), true);
    assert.deepEqual(await first, { key: 'first', result: 'applied', version: 1, revision: 1 });
    assert.deepEqual(await next, { key: 'next', result: 'applied', version: 1, revision: 2 });
  });
});

describe('client limits', () => {
  it('closes with unavailable after reconnect.maxAttempts failed attempts', async () => {
    const peer = await FakePeer.start();
    const client = await SbmpClient.connect({
      url: peer.url,
      reconnect: { initialDelayMs: 5, maxDelayMs: 10, maxAttempts: 2 },
    });
    const conn = await peer.nextConnection();
    const sub = client.subscribe('x/>');
    await conn.next('subscribe');
    const closed = new Promise<void>((resolve) => client.onStatus((s) => s === 'closed' && resolve()));
    await peer.close();
    await within(closed, 5_000, 'the client to give up');
    await assert.rejects(sub.done, (e: unknown) => isSbmpError(e, 'unavailable'));
    await assert.rejects(client.publish('x/a', 1), (e: unknown) => isSbmpError(e, 'unavailable'));
  });

  it('closes at the first disconnect when reconnection is off', async () => {
    const peer = await FakePeer.start();
    try {
      const client = await SbmpClient.connect({ url: peer.url, reconnect: { enabled: false } });
      const conn = await peer.nextConnection();
      const closed = new Promise<void>((resolve) => client.onStatus((s) => s === 'closed' && resolve()));
      conn.terminate();
      await within(closed, 5_000, 'the client to close');
    } finally {
      await peer.close();
    }
  });

  it('gives an HTTP request httpTimeoutMs, then fails with timeout', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as AddressInfo;
      const api = new HttpApi(`http://127.0.0.1:${port}`, { timeoutMs: 100 });
      await assert.rejects(within(api.get('a'), 5_000, 'the timeout'), (e: unknown) =>
        isSbmpError(e, 'timeout'),
      );
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
