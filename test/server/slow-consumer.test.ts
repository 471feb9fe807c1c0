import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { AckFrame, GoawayFrame } from '../../src/codec/frame-types.js';
import { encodeState } from '../../src/codec/state.js';
import type { TestServer } from './helpers.js';
import {
  debugVars,
  FrameClient,
  metricValue,
  SseClient,
  startTestServer,
  WAIT_MS,
  withTimeout,
} from './helpers.js';

const HIGH_WATER = 64 * 1024;
const KEYS = 100;
/** Enough bytes per round that a few rounds fill the loopback socket buffers many times over. */
const STATE_BYTES = 8 * 1024;
const ROUNDS = 20;

let t: TestServer;
const clients: FrameClient[] = [];
before(async () => {
  t = await startTestServer({
    limits: { sendHighWaterBytes: HIGH_WATER, maxPendingKeysPerSubscriber: 1000 },
  });
});
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await t.close();
});

/** Publishes `rounds` rounds over `keys` keys, pipelined up to the in-flight window. */
async function publishRounds(
  publisher: FrameClient,
  prefix: string,
  keys: number,
  rounds: number,
): Promise<void> {
  const padding = 'x'.repeat(STATE_BYTES);
  let requestId = 1_000_000;
  for (let round = 1; round <= rounds; round++) {
    const waits: Promise<unknown>[] = [];
    for (let k = 0; k < keys; k++) {
      const id = requestId++;
      publisher.send({
        type: 'publish',
        requestId: id,
        key: `${prefix}/k${k}`,
        state: encodeState({ round, padding }, 'msgpack'),
      });
      waits.push(publisher.nextNew((f) => f.type === 'ack' && (f as AckFrame).requestId === id, `ack ${id}`));
    }
    await Promise.all(waits);
  }
}

test('a subscriber that stops reading costs one pending snapshot per key and ends with the newest versions', async () => {
  const slow = await FrameClient.connect(t.wsUrl);
  clients.push(slow);
  slow.send({ type: 'subscribe', subscriptionId: 1, pattern: 'hot/>' });
  await slow.next((f) => f.type === 'snapshots' && f.synced === true, 'synced');
  const fast = await FrameClient.connect(t.wsUrl);
  clients.push(fast);
  fast.send({ type: 'subscribe', subscriptionId: 1, pattern: 'hot/>' });
  await fast.next((f) => f.type === 'snapshots' && f.synced === true, 'synced');
  slow.ws.pause();

  const publisher = await FrameClient.connect(t.wsUrl);
  clients.push(publisher);
  await publishRounds(publisher, 'hot', KEYS, ROUNDS);

  const vars = await debugVars(t.url);
  const slowStats = vars.connections.find(
    (c) => c.kind === 'ws' && c.subscriptions === 1 && c.waitingForDrain,
  );
  assert.ok(slowStats !== undefined, 'the stalled connection is waiting for its socket to drain');
  assert.ok(slowStats.pendingKeys <= KEYS, `pending ${slowStats.pendingKeys} > ${KEYS} keys`);
  // Unsent bytes stay near the high-water mark: one frame may overshoot it.
  assert.ok(slowStats.bufferedBytes <= HIGH_WATER + 1024 * 1024, `buffered ${slowStats.bufferedBytes}`);
  assert.ok(slowStats.conflated > 0, 'snapshots were conflated instead of queued');
  assert.ok((await metricValue(t.url, 'sbmp_conflated_total')) > 0);

  // The fast subscriber was not held back by the slow one.
  await fast.next(
    () => fast.entries(1).filter((e) => e.version === ROUNDS).length === KEYS,
    'fast subscriber has the newest versions',
  );

  slow.ws.resume();
  const newest = new Map<string, number>();
  await slow.next(
    () => {
      newest.clear();
      for (const e of slow.entries(1)) {
        assert.ok(e.version > (newest.get(e.key) ?? 0), `version went back on ${e.key}`);
        newest.set(e.key, e.version);
      }
      return newest.size === KEYS && [...newest.values()].every((v) => v === ROUNDS);
    },
    'slow subscriber converged after resuming',
    WAIT_MS,
  );
  // Conflation means the slow subscriber skipped versions instead of receiving them all.
  assert.ok(slow.entries(1).length < KEYS * ROUNDS, `received ${slow.entries(1).length} entries`);
});

test('a subscriber with more pending keys than allowed gets GOAWAY slow_consumer and can resume', async () => {
  const local = await startTestServer({
    limits: { sendHighWaterBytes: HIGH_WATER, maxPendingKeysPerSubscriber: 50 },
  });
  try {
    const slow = await FrameClient.connect(local.wsUrl);
    slow.send({ type: 'subscribe', subscriptionId: 1, pattern: 'wide/>' });
    await slow.next((f) => f.type === 'snapshots' && f.synced === true, 'synced');
    const bystander = await FrameClient.connect(local.wsUrl);
    slow.ws.pause();
    const publisher = await FrameClient.connect(local.wsUrl);
    await publishRounds(publisher, 'wide', 400, 4);
    assert.ok((await metricValue(local.url, 'sbmp_slow_consumers_total')) >= 1);
    slow.ws.resume();
    const closed = await withTimeout(slow.closed, 'slow consumer closed');
    assert.ok(closed.code === 1001 || closed.code === 1006, `close code ${closed.code}`);
    const goaway = slow.frames.find((f) => f.type === 'goaway') as GoawayFrame | undefined;
    if (closed.code === 1001) assert.equal(goaway?.reason, 'slow_consumer');
    // Other clients were not affected.
    const ack = (await bystander.publish('wide/other', 1)) as AckFrame;
    assert.equal(ack.result, 'applied');
    // Resuming from the last safe revision converges to the store.
    const frames = slow.snapshotFrames(1);
    const resumeFrom = Math.max(0, ...frames.map((f) => f.revision ?? 0));
    const again = await FrameClient.connect(local.wsUrl);
    again.send({ type: 'subscribe', subscriptionId: 1, pattern: 'wide/>', sinceRevision: resumeFrom });
    await again.next((f) => f.type === 'snapshots' && f.synced === true, 'resumed synced');
    const held = new Map<string, number>();
    for (const e of [...slow.entries(1), ...again.entries(1)])
      held.set(e.key, Math.max(held.get(e.key) ?? 0, e.version));
    for (let k = 0; k < 400; k++) assert.equal(held.get(`wide/k${k}`), 4, `wide/k${k}`);
    await Promise.all([again.close(), bystander.close(), publisher.close()]);
  } finally {
    await local.close();
  }
});

test('a stalled SSE reader: bounded pending keys, and every Last-Event-ID it saw is a safe resume point', async () => {
  const sse = await SseClient.open(`${t.url}/sbmp/v3/watch?pattern=sse-hot/>`);
  await sse.next((e) => e.event === 'synced', 'synced');
  sse.pause();
  const publisher = await FrameClient.connect(t.wsUrl);
  clients.push(publisher);
  await publishRounds(publisher, 'sse-hot', KEYS, ROUNDS);
  const vars = await debugVars(t.url);
  const stalled = vars.connections.find((c) => c.kind === 'sse');
  assert.ok(stalled?.waitingForDrain, 'the stalled stream is waiting for its socket to drain');
  assert.ok(stalled.pendingKeys <= KEYS, `pending ${stalled.pendingKeys}`);
  sse.resume();
  await sse.next(() => {
    const newest = new Map<string, number>();
    for (const s of sse.snapshots()) newest.set(s.key, s.version);
    return newest.size === KEYS && [...newest.values()].every((v) => v === ROUNDS);
  }, 'SSE reader converged');
  sse.close();

  // Had the reader dropped right after any event and reconnected with that event's id, the
  // resume (every key changed after the id) plus what it held must give the final state.
  const finalOf = new Map<string, { version: number; revision: number }>();
  for (let k = 0; k < KEYS; k++) {
    const s = (await t.store.get(`sse-hot/k${k}`))!;
    finalOf.set(s.key, { version: s.version, revision: s.revision });
  }
  const held = new Map<string, number>();
  let lastId = 0;
  let checked = 0;
  for (const event of sse.events) {
    if (event.event === 'message') {
      const s = JSON.parse(event.data) as { key: string; version: number };
      assert.ok(s.version > (held.get(s.key) ?? 0), `version went back on ${s.key}`);
      held.set(s.key, s.version);
    }
    if (event.id === undefined) continue;
    const id = Number(event.id);
    assert.ok(id >= lastId, `ids went back: ${lastId} -> ${id}`);
    lastId = id;
    for (const [key, final] of finalOf) {
      if (final.revision > id) continue;
      assert.equal(held.get(key), final.version, `resuming after id ${id} would miss ${key}`);
      checked++;
    }
  }
  assert.ok(checked > 0, 'some resume points were checked against the final state');
});

test('an SSE stream with sendHighWaterBytes below Node’s own 16 KiB mark resumes once the reader drains it', async () => {
  const local = await startTestServer({ limits: { sendHighWaterBytes: 4096 } });
  const sse = await SseClient.open(`${local.url}/sbmp/v3/watch?pattern=low-hw/>`);
  try {
    await sse.next((e) => e.event === 'synced', 'synced');
    sse.pause();
    const padding = 'x'.repeat(3000);
    let stalled = false;
    // One change per event-loop turn, so each write is one small event (below 16 KiB: Node
    // emits no 'drain' for it). Bounded: at most 200 rounds of 50 keys (~30 MB), far beyond
    // the loopback buffers.
    for (let round = 1; round <= 200 && !stalled; round++) {
      for (let k = 0; k < 50; k++) {
        await local.store.put({ key: `low-hw/k${k}`, state: { round, padding } });
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      const vars = await debugVars(local.url);
      stalled = vars.connections.find((c) => c.kind === 'sse')?.waitingForDrain === true;
    }
    assert.ok(stalled, 'the stream paused while its reader did not read');
    sse.resume();
    await local.store.put({ key: 'low-hw/final', state: { final: true } });
    const final = await sse.next(
      (e) => e.event === 'message' && (JSON.parse(e.data) as { key: string }).key === 'low-hw/final',
      'the change after the reader resumed',
      5_000,
    );
    assert.deepEqual((JSON.parse(final.data) as { state: unknown }).state, { final: true });
  } finally {
    sse.close();
    await local.close();
  }
});
