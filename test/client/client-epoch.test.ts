// A server that comes back on a store with another history (a restarted memory store, a
// restored or wiped data file) must not be resumed from by revision: the revisions the client
// holds name changes of the old history. The client syncs in full and drops what is gone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SbmpClient } from '../../src/client/client.js';
import { startServer } from '../../src/server/server.js';
import { MemoryStore } from '../../src/store/memory.js';
import { within } from './fake-peer.js';

test('a reconnect to a store with another epoch resyncs in full and drops keys of the old history', async () => {
  const oldStore = new MemoryStore();
  const newStore = new MemoryStore();
  const first = await startServer({ store: oldStore, port: 0, logger: false, serverId: 'first' });
  const port = Number(new URL(first.url).port);
  let second: Awaited<ReturnType<typeof startServer>> | undefined;
  let firstClosed = false;
  const client = await SbmpClient.connect({
    url: first.url,
    reconnect: { initialDelayMs: 10, maxDelayMs: 50, jitter: 0.5, maxAttempts: 1_000 },
  });
  try {
    assert.equal(client.welcome?.storeEpoch, oldStore.epoch);
    const sub = client.subscribe('k/>');
    await within(sub.synced, 5_000, 'first sync');
    const oldHeld = new Promise<void>((resolve) => {
      sub.onSnapshot(() => {
        if (sub.replicas.size === 3) resolve();
      });
    });
    for (let i = 1; i <= 3; i++) await oldStore.put({ key: `k/old${i}`, state: i });
    await within(oldHeld, 5_000, 'the old keys');
    assert.equal(sub.lastRevision, 3);

    await first.close({ drainMs: 10 });
    firstClosed = true;
    // Written before the client can reach the new server: past its lastRevision of 3.
    for (let i = 1; i <= 5; i++) await newStore.put({ key: `k/new${i}`, state: i * 10 });
    const resynced = new Promise<void>((resolve) => {
      sub.onSynced(() => resolve());
    });
    second = await startServer({ store: newStore, port, logger: false, serverId: 'second' });
    await within(resynced, 10_000, 'the catch-up on the new server');

    assert.equal(client.welcome?.storeEpoch, newStore.epoch);
    const held = [...sub.replicas.keys()].sort();
    assert.deepEqual(held, ['k/new1', 'k/new2', 'k/new3', 'k/new4', 'k/new5']);
    for (let i = 1; i <= 5; i++) assert.equal(sub.replicas.get(`k/new${i}`)?.state, i * 10);
    assert.equal(sub.lastRevision, 5);
  } finally {
    await client.close();
    if (!firstClosed) await first.close({ drainMs: 10 });
    await second?.close({ drainMs: 10 });
    await oldStore.close();
    await newStore.close();
  }
});
