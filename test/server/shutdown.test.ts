import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AckFrame, ErrorFrame, GoawayFrame } from '../../src/codec/frame-types.js';
import { encodeState } from '../../src/codec/state.js';
import { startServer } from '../../src/server/server.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { Store } from '../../src/store/types.js';
import { FrameClient, GatedStore, SseClient, withTimeout } from './helpers.js';

async function start(store: Store) {
  const server = await startServer({ store, port: 0, logger: false });
  return { server, wsUrl: `${server.url.replace(/^http/, 'ws')}/sbmp/v3/ws` };
}

test('close(): GOAWAY to WebSocket clients, in-flight publishes acked, SSE ended, listener stopped, store open', async () => {
  const store = new GatedStore();
  const { server, wsUrl } = await start(store);
  const client = await FrameClient.connect(wsUrl);
  client.send({ type: 'subscribe', subscriptionId: 1, pattern: 'down/>' });
  await client.next((f) => f.type === 'snapshots' && f.synced === true, 'synced');
  const sse = await SseClient.open(`${server.url}/sbmp/v3/watch?pattern=down/>`);
  await sse.next((e) => e.event === 'synced', 'sse synced');

  store.closeGate();
  client.send({ type: 'publish', requestId: 1, key: 'down/a', state: encodeState({ x: 1 }, 'msgpack') });
  await withTimeout(store.entered!, 'publish reached the store');
  const closing = server.close({ drainMs: 5000 });

  const goaway = (await client.next((f) => f.type === 'goaway', 'GOAWAY')) as GoawayFrame;
  assert.equal(goaway.reason, 'shutdown');
  assert.ok(goaway.reconnectAfterMs >= 0);
  // New work after GOAWAY is refused as retryable, not lost silently.
  client.send({ type: 'publish', requestId: 2, key: 'down/b', state: encodeState(1, 'msgpack') });
  const refused = (await client.next(
    (f) => f.type === 'error' && f.requestId === 2,
    'refusal',
  )) as ErrorFrame;
  assert.equal(refused.code, 'unavailable');
  assert.equal(refused.retryable, true);

  store.openGate();
  const ack = (await client.next(
    (f) => f.type === 'ack' && f.requestId === 1,
    'ACK of in-flight publish',
  )) as AckFrame;
  assert.equal(ack.result, 'applied');
  const closed = await withTimeout(client.closed, 'close');
  assert.equal(closed.code, 1001);
  await withTimeout(sse.ended, 'SSE ended');
  assert.ok(sse.events.some((e) => e.event === 'goaway'));
  await withTimeout(closing, 'server.close()');

  await assert.rejects(fetch(`${server.url}/healthz`));
  // The store belongs to the caller and stays open.
  assert.equal((await store.get('down/a'))?.version, 1);
  assert.equal(await store.get('down/b'), undefined);
  await server.close();
  await store.close();
});

test('close() is bounded by drainMs when a publish never completes', async () => {
  const store = new GatedStore();
  const { server, wsUrl } = await start(store);
  const client = await FrameClient.connect(wsUrl);
  store.closeGate();
  client.send({ type: 'publish', requestId: 1, key: 'stuck/a', state: encodeState(1, 'msgpack') });
  await withTimeout(store.entered!, 'publish reached the store');
  const started = performance.now();
  await withTimeout(server.close({ drainMs: 200 }), 'bounded close', 5000);
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 3000, `close took ${elapsed} ms`);
  assert.equal((await withTimeout(client.closed, 'close')).code, 1001);
  store.openGate();
  await store.close();
});

test('close() with no clients is quick and idempotent', async () => {
  const store = new MemoryStore();
  const { server } = await start(store);
  const first = server.close();
  const second = server.close();
  await withTimeout(Promise.all([first, second]), 'close');
  await store.close();
});
