import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { SseClient, TestServer } from './helpers.js';
import {
  eventually,
  FrameClient,
  metricValue,
  ReplicaCheck,
  SseClient as Sse,
  startTestServer,
} from './helpers.js';

let t: TestServer;
const clients: FrameClient[] = [];
const streams: SseClient[] = [];
before(async () => {
  t = await startTestServer();
});
after(async () => {
  for (const s of streams) s.close();
  await Promise.all(clients.map((c) => c.close()));
  await t.close();
});

const SUBSCRIBERS = 120;
const KEYS = 20;
const ROUNDS = 25;

test('many subscribers on mixed patterns and encodings converge to the store, never going back', async () => {
  const patterns = ['fan/>', 'fan/*', 'fan/k7'];
  const replicas: ReplicaCheck[] = [];
  const subscribers: { client: FrameClient; pattern: string; replica: ReplicaCheck }[] = [];
  await Promise.all(
    Array.from({ length: SUBSCRIBERS }, async (_, i) => {
      const client = await FrameClient.connect(t.wsUrl, i % 3 === 0 ? 'json' : 'msgpack');
      clients.push(client);
      const pattern = patterns[i % patterns.length]!;
      const replica = new ReplicaCheck();
      replicas.push(replica);
      client.ws.on('message', () => {
        const frame = client.frames[client.frames.length - 1];
        if (frame?.type === 'snapshots') replica.apply(frame.entries);
      });
      client.send({ type: 'subscribe', subscriptionId: 1, pattern });
      await client.next((f) => f.type === 'snapshots' && f.synced === true, `synced ${i}`);
      subscribers.push({ client, pattern, replica });
    }),
  );
  const sse = await Sse.open(`${t.url}/sbmp/v3/watch?pattern=fan/>`);
  streams.push(sse);
  await sse.next((e) => e.event === 'synced', 'sse synced');

  const publisher = await FrameClient.connect(t.wsUrl);
  clients.push(publisher);
  const started = performance.now();
  for (let round = 1; round <= ROUNDS; round++) {
    const acks = [];
    for (let k = 0; k < KEYS; k++) acks.push(publisher.publish(`fan/k${k}`, { round, k }));
    await Promise.all(acks);
  }
  const finalRevision = t.store.currentRevision();
  assert.equal(finalRevision, KEYS * ROUNDS);

  const expectedKeysOf = (pattern: string) =>
    pattern === 'fan/k7' ? ['fan/k7'] : Array.from({ length: KEYS }, (_, k) => `fan/k${k}`);
  const converged = (client: FrameClient, pattern: string) => {
    const held = new Map<string, number>();
    for (const e of client.entries(1)) held.set(e.key, Math.max(held.get(e.key) ?? 0, e.version));
    return expectedKeysOf(pattern).every((key) => held.get(key) === ROUNDS);
  };
  await Promise.all(
    subscribers.map(({ client, pattern }, i) =>
      client.next(() => converged(client, pattern), `subscriber ${i} converged`),
    ),
  );
  const elapsed = performance.now() - started;
  for (const { pattern, replica } of subscribers) {
    assert.deepEqual(replica.regressions, []);
    const expectedKeys = expectedKeysOf(pattern);
    assert.equal(replica.versions.size, expectedKeys.length, pattern);
    for (const key of expectedKeys) assert.equal(replica.versions.get(key), ROUNDS, `${pattern} ${key}`);
  }
  // JSON subscribers decode the same states.
  const jsonClient = subscribers.find((s) => s.client.encoding === 'json' && s.pattern === 'fan/>')!.client;
  const last = jsonClient
    .entries(1)
    .filter((e) => e.key === 'fan/k3')
    .at(-1)!;
  assert.deepEqual(jsonClient.state(last), { round: ROUNDS, k: 3 });

  await sse.next((e) => e.event === 'message' && Number(e.id) >= finalRevision, 'sse caught up');
  const sseVersions = new Map<string, number>();
  for (const s of sse.snapshots()) {
    assert.ok(s.version > (sseVersions.get(s.key) ?? 0), `sse regression on ${s.key}`);
    sseVersions.set(s.key, s.version);
  }
  for (let k = 0; k < KEYS; k++) assert.equal(sseVersions.get(`fan/k${k}`), ROUNDS);

  const deliveries = await metricValue(t.url, 'sbmp_deliveries_total');
  assert.ok(deliveries > 0);
  const subscriptions = await metricValue(t.url, 'sbmp_subscriptions');
  assert.equal(subscriptions, SUBSCRIBERS + 1);
  assert.ok(elapsed < 30_000, `fan-out took ${elapsed} ms`);
});

test('closing subscribers are removed from the hub and the gauges', async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const s of streams.splice(0)) s.close();
  // The server learns of each close asynchronously; the gauge is only observable by asking.
  await eventually(
    async () => (await metricValue(t.url, 'sbmp_subscriptions')) === 0,
    'subscriptions gauge at 0',
  );
  assert.equal(await metricValue(t.url, 'sbmp_connections', { kind: 'ws' }), 0);
});
