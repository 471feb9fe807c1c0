// The server's own live watch fails and re-opens below the store's compacted revision: changes
// in the gap (a delete among them) are gone, so every subscriber must be made to resync.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SbmpClient } from '../../src/client/client.js';
import { startServer } from '../../src/server/server.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { Store, Watch, WatchListener, WatchOptions } from '../../src/store/types.js';
import { SseClient } from '../server/helpers.js';
import { within } from './fake-peer.js';

/** `inner`, except that the first watch of every key (the server's live feed) can be made to fail once. */
function storeWithFailingLiveWatch(inner: MemoryStore): {
  store: Store;
  failLiveWatch: (err: Error) => void;
} {
  let armed = true;
  let fail: ((err: Error) => void) | undefined;
  const watch = (pattern: string, options?: WatchOptions): Watch => {
    const real = inner.watch(pattern, options);
    if (pattern !== '>' || !armed) return real;
    armed = false;
    // The server's live feed listens; failing it rejects that listen and stops the real watch.
    const listen = (listener: WatchListener) =>
      new Promise<void>((resolve, reject) => {
        fail = (err) => {
          reject(err);
          real.stop();
        };
        real.listen(listener).then(resolve, reject);
      });
    return { stop: () => real.stop(), listen, [Symbol.asyncIterator]: () => real[Symbol.asyncIterator]() };
  };
  const store = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'watch') return watch;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as Store;
  return {
    store,
    failLiveWatch: (err) => {
      assert.ok(fail !== undefined, 'the live watch is open');
      fail(err);
    },
  };
}

test('a live feed that resumes below the compacted revision makes every subscriber resync and converge', async () => {
  const inner = new MemoryStore();
  const { store, failLiveWatch } = storeWithFailingLiveWatch(inner);
  const server = await startServer({ store, port: 0, logger: false, serverId: 'test' });
  const client = await SbmpClient.connect({
    url: server.url,
    reconnect: { initialDelayMs: 10, maxDelayMs: 50, jitter: 0.5 },
  });
  const sse = await SseClient.open(`${server.url}/sbmp/v3/watch?pattern=orders/%3E`);
  try {
    const sub = client.subscribe('orders/>');
    await within(sub.synced, 5_000, 'synced');
    await sse.next((e) => e.event === 'synced', 'SSE synced');
    const bothSeen = new Promise<void>((resolve) => {
      sub.onSnapshot(() => {
        if (sub.replicas.get('orders/1') !== undefined && sub.replicas.get('orders/2') !== undefined)
          resolve();
      });
    });
    await inner.put({ key: 'orders/1', state: { n: 1 } });
    await inner.put({ key: 'orders/2', state: { n: 1 } });
    await within(bothSeen, 5_000, 'both keys in the replica');

    const resynced = new Promise<number>((resolve) => sub.onSynced(resolve));
    failLiveWatch(new Error('simulated read failure'));
    // While the feed is down: a delete, compacted away before the feed re-opens, then a change.
    await inner.put({ key: 'orders/1', state: null, deleted: true });
    const compacted = await inner.compact({ tombstoneMs: 0 });
    assert.equal(compacted.removedTombstones, 1);
    await inner.put({ key: 'orders/2', state: { n: 2 } });

    await within(resynced, 5_000, 'the subscription to resync');
    assert.deepEqual([...sub.replicas.keys()], ['orders/2']);
    assert.equal(sub.replicas.version('orders/2'), 2);
    // The SSE stream ends too, so an EventSource reconnects with its Last-Event-ID.
    await within(sse.ended, 5_000, 'the SSE stream to end');
    const last = sse.events.at(-1);
    assert.equal(last?.event, 'error');
    assert.equal((JSON.parse(last.data) as { code: string }).code, 'unavailable');
  } finally {
    sse.close();
    await client.close();
    await server.close({ drainMs: 100 });
    await inner.close();
  }
});
