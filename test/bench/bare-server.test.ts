import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startBareServer } from '../../bench/net/servers.js';
import type { DeliveredSnapshot } from '../../src/client/delivery.js';
import { SbmpClient } from '../../src/client/index.js';
import { within } from '../store/helpers.js';

describe('the bare SBMP server of bench/tools/client-ceiling.ts', () => {
  it('acknowledges each publish and forwards it to a subscriber, through the SDK', async () => {
    const server = await startBareServer();
    const clients: SbmpClient[] = [];
    try {
      const url = server.ready.url;
      const subscriber = await SbmpClient.connect({ url, reconnect: { enabled: false } });
      clients.push(subscriber);
      const delivered: DeliveredSnapshot[] = [];
      let allThree!: () => void;
      const threeDelivered = new Promise<void>((resolve) => {
        allThree = resolve;
      });
      const subscription = subscriber.subscribe('floor/>', (snapshot) => {
        if (delivered.push(snapshot) === 3) allThree();
      });
      await subscription.synced;
      const publisher = await SbmpClient.connect({ url, reconnect: { enabled: false } });
      clients.push(publisher);
      const state = new Uint8Array([1, 2, 3]);
      const acks = await Promise.all(
        [1, 2, 3].map((version) =>
          publisher.publish(`floor/k${version}`, state, { version, contentType: 'application/octet-stream' }),
        ),
      );
      assert.deepEqual(
        acks.map((ack) => [ack.key, ack.result, ack.version]),
        [
          ['floor/k1', 'applied', 1],
          ['floor/k2', 'applied', 2],
          ['floor/k3', 'applied', 3],
        ],
      );
      await within(threeDelivered, 5000, 'three deliveries');
      assert.deepEqual(
        delivered.map((s) => [s.key, s.version, [...(s.state as Uint8Array)]]),
        [
          ['floor/k1', 1, [1, 2, 3]],
          ['floor/k2', 2, [1, 2, 3]],
          ['floor/k3', 3, [1, 2, 3]],
        ],
      );
    } finally {
      await Promise.all(clients.map((client) => client.close()));
      await server.close();
    }
  });
});
