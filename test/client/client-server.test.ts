// The SDK against a real server (in this process, memory store, free port): publish outcomes,
// reads, subscriptions and their replicas, both state encodings.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { throwIfRefused } from '../../src/client/ack.js';
import { SbmpClient } from '../../src/client/client.js';
import type { DeliveredSnapshot } from '../../src/client/delivery.js';
import type { TransportFactory } from '../../src/client/transport.js';
import { webSocketTransport } from '../../src/client/transport.js';
import { isSbmpError } from '../../src/core/errors.js';
import { type SbmpServer, startServer } from '../../src/server/server.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/types.js';
import { within } from './fake-peer.js';

describe('SbmpClient against a real server', () => {
  let store: Store;
  let server: SbmpServer;
  const clients: SbmpClient[] = [];
  before(async () => {
    store = await openStore('memory');
    server = await startServer({ store, port: 0, logger: false });
  });
  after(async () => {
    for (const client of clients) await client.close();
    await server.close({ drainMs: 100 });
    await store.close();
  });
  async function connect(options: Partial<Parameters<typeof SbmpClient.connect>[0]> = {}) {
    const client = await SbmpClient.connect({ url: server.url, ...options });
    clients.push(client);
    return client;
  }

  it('acks every apply result as a value', async () => {
    const client = await connect();
    assert.equal(client.welcome?.protocolVersion, 3);
    const applied = await client.publish('acks/a', { n: 1 }, { version: 5 });
    assert.equal(applied.result, 'applied');
    assert.equal(applied.version, 5);
    assert.ok(applied.revision > 0);
    const duplicate = await client.publish('acks/a', { n: 1 }, { version: 5 });
    assert.deepEqual(
      { result: duplicate.result, version: duplicate.version },
      { result: 'duplicate', version: 5 },
    );
    const stale = await client.publish('acks/a', { n: 0 }, { version: 4 });
    assert.deepEqual({ result: stale.result, version: stale.version }, { result: 'stale', version: 5 });
    const conflict = await client.publish('acks/a', { n: 2 }, { version: 5 });
    assert.deepEqual(
      { result: conflict.result, version: conflict.version },
      { result: 'conflict', version: 5 },
    );
    const cas = await client.publish('acks/a', { n: 3 }, { ifVersion: 4 });
    assert.deepEqual({ result: cas.result, version: cas.version }, { result: 'conflict', version: 5 });
    const next = await client.publish('acks/a', { n: 6 }, { ifVersion: 5 });
    assert.deepEqual({ result: next.result, version: next.version }, { result: 'applied', version: 6 });
    const assigned = await client.publish('acks/a', { n: 7 });
    assert.deepEqual(
      { result: assigned.result, version: assigned.version },
      { result: 'applied', version: 7 },
    );
    assert.throws(
      () => throwIfRefused(stale),
      (err: unknown) => isSbmpError(err, 'stale') && err.details?.current === 5,
    );
    assert.equal(throwIfRefused(duplicate), duplicate);
  });

  it('reads what was published over HTTP', async () => {
    const client = await connect({ encoding: 'json' });
    await client.publish('reads/x', { hello: ['world', 1, null, true] }, { version: 3 });
    const snapshot = await client.get('reads/x');
    assert.deepEqual(snapshot?.state, { hello: ['world', 1, null, true] });
    assert.equal(snapshot?.version, 3);
    assert.equal(await client.get('reads/missing'), undefined);
    await client.delete('reads/x', { version: 4 });
    assert.equal(await client.get('reads/x'), undefined);
    await assert.rejects(client.get('bad key'), (err: unknown) => isSbmpError(err, 'bad_key'));
  });

  it('fills a subscription replica with the current state, then every change, in order', async () => {
    const publisher = await connect();
    for (let i = 0; i < 5; i++) await publisher.publish(`subs/k${i}`, { i, v: 1 }, { version: 1 });
    await publisher.publish('other/k', 1, { version: 1 });
    const subscriber = await connect({ encoding: 'json' });
    const seen = new Map<string, number[]>();
    const sub = subscriber.subscribe<{ i: number; v: number }>('subs/*', (s) => {
      seen.set(s.key, [...(seen.get(s.key) ?? []), s.version]);
    });
    const revision = await within(sub.synced, 5_000, 'synced');
    assert.ok(revision >= 6);
    assert.equal(sub.replicas.size, 5);
    assert.ok(!sub.replicas.has('other/k'));
    const changed = new Promise<void>((resolve) =>
      sub.onSnapshot((s) => {
        if (s.key === 'subs/k4' && s.version === 10) resolve();
      }),
    );
    for (let v = 2; v <= 10; v++) void publisher.publish('subs/k4', { i: 4, v }, { version: v });
    await publisher.publish('subs/k9', { i: 9, v: 1 }, { version: 1 });
    await within(changed, 5_000, 'subs/k4 at version 10');
    const versions = seen.get('subs/k4')!;
    assert.ok(
      versions.every((v, i) => i === 0 || v > versions[i - 1]!),
      `versions went back: ${versions}`,
    );
    assert.deepEqual(sub.replicas.get('subs/k4')?.state, { i: 4, v: 10 });
    await publisher.delete('subs/k0', { version: 2 });
    await within(
      new Promise<void>((resolve) => {
        if (!sub.replicas.has('subs/k0')) resolve();
        sub.onSnapshot((s) => s.key === 'subs/k0' && s.deleted === true && resolve());
      }),
      5_000,
      'the delete',
    );
    assert.equal(sub.replicas.get('subs/k0')?.deleted, true);
    sub.unsubscribe();
    await within(sub.done, 5_000, 'done');
    assert.equal(subscriber.stats().subscriptions, 0);
  });

  it('iterates changes newest-first per key', async () => {
    const publisher = await connect();
    const subscriber = await connect();
    const sub = subscriber.subscribe('iter/>');
    await within(sub.synced, 5_000, 'synced');
    const received: DeliveredSnapshot[] = [];
    const loop = (async () => {
      for await (const snapshot of sub) {
        received.push(snapshot);
        if (snapshot.version === 20) break;
      }
    })();
    for (let v = 1; v <= 20; v++) await publisher.publish('iter/a', { v }, { version: v });
    await within(loop, 5_000, 'iteration to version 20');
    const versions = received.map((s) => s.version);
    assert.ok(
      versions.every((v, i) => i === 0 || v > versions[i - 1]!),
      `iteration went back: ${versions}`,
    );
    assert.equal(versions.at(-1), 20);
  });

  it('resumes a subscription after a given revision', async () => {
    const publisher = await connect();
    await publisher.publish('since/a', 1, { version: 1 });
    const mark = (await publisher.publish('since/b', 1, { version: 1 })).revision;
    await publisher.publish('since/c', 1, { version: 1 });
    const subscriber = await connect();
    const sub = subscriber.subscribe('since/>', undefined, { sinceRevision: mark });
    await within(sub.synced, 5_000, 'synced');
    assert.deepEqual([...sub.replicas.keys()], ['since/c']);
  });

  it('refuses a state above the server limit before sending it', async () => {
    const client = await connect();
    await assert.rejects(client.publish('big/a', 'x'.repeat(1024 * 1024 + 10)), (err: unknown) =>
      isSbmpError(err, 'too_large'),
    );
  });

  it('ends a subscription with too_large when a snapshot outgrows a frame once encoded as JSON', async () => {
    const client = await connect({ encoding: 'json' });
    const errors: unknown[] = [];
    client.onError((error) => errors.push(error));
    const sub = client.subscribe('json-big/>');
    await within(sub.synced, 5_000, 'synced');
    // Within maxStateBytes as MessagePack, about six times larger as JSON (\u0001 escapes).
    await store.put({ key: 'json-big/a', state: { s: '\u0001'.repeat(900_000) } });
    await assert.rejects(
      within(sub.done, 5_000, 'the subscription to end'),
      (err: unknown) => isSbmpError(err, 'too_large') && err.details?.subscriptionId === sub.id,
    );
    assert.equal(client.status, 'connected');
    assert.equal(client.stats().reconnects, 0);
    assert.deepEqual(errors, []);
  });

  it('drains unanswered publishes on close when asked to', async () => {
    const client = await SbmpClient.connect({ url: server.url });
    const acks = Array.from({ length: 50 }, (_, i) => client.publish(`drain/k${i}`, i, { version: 1 }));
    await client.close({ drainMs: 5_000 });
    const results = await Promise.all(acks);
    assert.ok(results.every((a) => a.result === 'applied'));
    assert.equal(client.status, 'closed');
  });

  it('sends a window of publishes as BATCH messages and reads the batches of the server', async () => {
    let sent = 0;
    let received = 0;
    const counting: TransportFactory = async (url, handlers) => {
      const transport = await webSocketTransport(url, {
        onMessage: (bytes) => {
          received++;
          handlers.onMessage(bytes);
        },
        onClose: (info) => handlers.onClose(info),
      });
      return {
        send: (bytes) => {
          sent++;
          transport.send(bytes);
        },
        close: (code, reason) => transport.close(code, reason),
        get bufferedAmount() {
          return transport.bufferedAmount;
        },
      };
    };
    const client = await connect({ transport: counting, maxInFlight: 200 });
    assert.equal(client.welcome?.batches, true);
    const [sentBefore, receivedBefore] = [sent, received];
    const count = 200;
    const acks = await Promise.all(
      Array.from({ length: count }, (_, i) => client.publish(`batched/${i % 20}`, { i })),
    );
    assert.ok(acks.every((ack) => ack.result === 'applied'));
    for (let k = 0; k < 20; k++) assert.deepEqual((await store.get(`batched/${k}`))?.state, { i: 180 + k });
    assert.ok(sent - sentBefore < count / 10, `${sent - sentBefore} messages for ${count} publishes`);
    assert.ok(
      received - receivedBefore < count / 10,
      `${received - receivedBefore} messages for ${count} ACKs`,
    );
  });
});
