// The SDK's small parts on their own: backoff, URL derivation, giving up, HTTP timeouts.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { backoffDelay, RECONNECT_DEFAULTS, resolveReconnectOptions } from '../../src/client/backoff.js';
import { SbmpClient } from '../../src/client/client.js';
import { HttpApi } from '../../src/client/http-api.js';
import { resolveServerUrls } from '../../src/client/urls.js';
import { isSbmpError } from '../../src/core/errors.js';
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
