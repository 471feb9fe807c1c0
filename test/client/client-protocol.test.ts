// The SDK against a scripted peer: the faults here (withheld acks, old versions, resyncs,
// GOAWAY, silence) are ones a correct server never commits on demand.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SbmpClient } from '../../src/client/client.js';
import type { SnapshotEntry } from '../../src/codec/frame-types.js';
import { encodeState } from '../../src/codec/state.js';
import { isSbmpError } from '../../src/core/errors.js';
import { FakePeer, within } from './fake-peer.js';

function entry(
  key: string,
  version: number,
  revision: number,
  state: unknown = { v: version },
): SnapshotEntry {
  return { key, version, revision, ts: 1, source: 'test', state: encodeState(state, 'msgpack') };
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(
    within(promise, 5_000, `rejection ${code}`),
    (err: unknown) => isSbmpError(err) && err.code === code,
  );
}

const fast = { initialDelayMs: 10, maxDelayMs: 50, jitter: 0.5 };

describe('SbmpClient against a scripted peer', () => {
  let peer: FakePeer;
  const clients: SbmpClient[] = [];
  before(async () => {
    peer = await FakePeer.start();
  });
  after(async () => {
    for (const client of clients) await client.close();
    await peer.close();
  });
  async function connect(options: Partial<Parameters<typeof SbmpClient.connect>[0]> = {}) {
    const client = await SbmpClient.connect({ url: peer.url, reconnect: fast, ...options });
    clients.push(client);
    return client;
  }

  it('says HELLO with its id and encoding', async () => {
    const [client, conn] = await Promise.all([
      connect({ clientId: 'c-1', encoding: 'json' }),
      peer.nextConnection(),
    ]);
    assert.equal(conn.hello.clientId, 'c-1');
    assert.equal(conn.hello.stateEncoding, 'json');
    assert.equal(conn.hello.protocolVersion, 3);
    assert.equal(client.status, 'connected');
    await client.close();
  });

  it('keeps at most maxInFlight publishes unanswered, sending the rest in call order', async () => {
    const [client, conn] = await Promise.all([connect({ maxInFlight: 4 }), peer.nextConnection()]);
    const acks = Array.from({ length: 10 }, (_, i) => client.publish(`w/k${i}`, { i }, { version: 1 }));
    for (let i = 0; i < 4; i++) assert.equal((await conn.next('publish')).key, `w/k${i}`);
    // Frames keep their order on the socket: a fifth PUBLISH would arrive before this PONG.
    conn.send({ type: 'ping', nonce: 7 });
    assert.equal((await conn.next('pong')).nonce, 7);
    assert.deepEqual(
      { inFlight: client.stats().inFlight, queued: client.stats().queued },
      { inFlight: 4, queued: 6 },
    );
    // Each ack makes room for exactly the next publish, in call order.
    const sent = [0, 1, 2, 3];
    for (let i = 4; i < 10; i++) {
      const done = sent.shift()!;
      conn.send({ type: 'ack', requestId: done + 1, result: 'applied', version: 1, revision: done + 1 });
      const frame = await conn.next('publish');
      assert.equal(frame.key, `w/k${i}`, 'publishes leave in call order');
      sent.push(i);
    }
    for (const i of sent)
      conn.send({ type: 'ack', requestId: i + 1, result: 'applied', version: 1, revision: i + 1 });
    const results = await within(Promise.all(acks), 5_000, 'all acks');
    assert.deepEqual(
      results.map((a) => a.revision),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
    await client.close();
  });

  it('sends the bytes a byte state had at publish(), sent at once or queued, whatever the caller does with its buffer after', async () => {
    const [client, conn] = await Promise.all([connect({ maxInFlight: 1 }), peer.nextConnection()]);
    const bytes = { contentType: 'application/octet-stream' };
    const first = Buffer.alloc(300, 1);
    const second = Buffer.alloc(300, 2);
    const acks = [
      client.publish('b/k1', first, { ...bytes, version: 1 }),
      // The window holds one: this one waits in the queue.
      client.publish('b/k2', second, { ...bytes, version: 1 }),
    ];
    assert.deepEqual(
      { inFlight: client.stats().inFlight, queued: client.stats().queued },
      { inFlight: 1, queued: 1 },
    );
    first.fill(9);
    second.fill(9);
    const sentFirst = await conn.next('publish');
    assert.ok(Buffer.from(sentFirst.state).equals(Buffer.alloc(300, 1)), 'the publish sent at once');
    conn.send({ type: 'ack', requestId: sentFirst.requestId, result: 'applied', version: 1, revision: 1 });
    const sentSecond = await conn.next('publish');
    assert.ok(Buffer.from(sentSecond.state).equals(Buffer.alloc(300, 2)), 'the publish that waited');
    conn.send({ type: 'ack', requestId: sentSecond.requestId, result: 'applied', version: 1, revision: 2 });
    assert.deepEqual(
      (await within(Promise.all(acks), 5_000, 'both acks')).map((a) => a.key),
      ['b/k1', 'b/k2'],
    );
  });

  it('opens the window one publish per ack', async () => {
    const [client, conn] = await Promise.all([connect({ maxInFlight: 2 }), peer.nextConnection()]);
    const acks = Array.from({ length: 5 }, (_, i) => client.publish(`o/k${i}`, i, { version: 1 }));
    const sent = [await conn.next('publish'), await conn.next('publish')];
    for (let i = 2; i < 5; i++) {
      const answered = sent.shift()!;
      conn.send({ type: 'ack', requestId: answered.requestId, result: 'applied', version: 1, revision: i });
      const next = await conn.next('publish');
      assert.equal(next.key, `o/k${i}`);
      sent.push(next);
      conn.send({ type: 'ping', nonce: i });
      await conn.next('pong');
      assert.equal(client.stats().inFlight, 2);
    }
    for (const frame of sent)
      conn.send({ type: 'ack', requestId: frame.requestId, result: 'applied', version: 1, revision: 9 });
    const results = await within(Promise.all(acks), 5_000, 'all acks');
    assert.deepEqual(
      results.map((a) => a.key),
      ['o/k0', 'o/k1', 'o/k2', 'o/k3', 'o/k4'],
    );
    assert.equal(client.stats().inFlight, 0);
    await client.close();
  });

  it('takes the smaller of its own and the server window', async () => {
    peer.options = { welcome: { maxInFlight: 1 } };
    try {
      const [client, conn] = await Promise.all([connect({ maxInFlight: 100 }), peer.nextConnection()]);
      const acks = [client.publish('s/a', 1), client.publish('s/b', 2)];
      await conn.next('publish');
      conn.send({ type: 'ping', nonce: 1 });
      await conn.next('pong');
      assert.equal(client.stats().window, 1);
      assert.equal(client.stats().queued, 1);
      await client.close();
      for (const ack of acks) await rejectsWith(ack, 'closed');
    } finally {
      peer.options = {};
    }
  });

  it('resolves stale and conflict as values, from an ACK or an ERROR frame', async () => {
    const [client, conn] = await Promise.all([connect(), peer.nextConnection()]);
    const first = client.publish('r/a', 1, { version: 3 });
    const second = client.publish('r/b', 1, { version: 3 });
    const a = await conn.next('publish');
    const b = await conn.next('publish');
    assert.equal(a.version, 3);
    conn.send({ type: 'ack', requestId: a.requestId, result: 'stale', version: 9, revision: 4 });
    conn.send({ type: 'error', code: 'conflict', message: 'x', requestId: b.requestId, currentVersion: 3 });
    assert.deepEqual(await first, { key: 'r/a', result: 'stale', version: 9, revision: 4 });
    assert.deepEqual(await second, { key: 'r/b', result: 'conflict', version: 3, revision: 0 });
    const third = client.publish('r/c', 1);
    const c = await conn.next('publish');
    conn.send({ type: 'error', code: 'too_large', message: 'big', requestId: c.requestId });
    await rejectsWith(third, 'too_large');
    await client.close();
  });

  it('fails in-flight publishes with unavailable on disconnect and sends queued ones after reconnecting', async () => {
    const [client, conn] = await Promise.all([connect({ maxInFlight: 1 }), peer.nextConnection()]);
    const inFlight = client.publish('d/a', 1, { version: 1 });
    const queued = client.publish('d/b', 2, { version: 1 });
    await conn.next('publish');
    conn.terminate();
    await assert.rejects(
      within(inFlight, 5_000, 'in-flight rejection'),
      (err: unknown) =>
        isSbmpError(err, 'unavailable') && err.retryable && err.details?.outcome === 'unknown',
    );
    const again = await peer.nextConnection();
    const resent = await again.next('publish');
    assert.equal(resent.key, 'd/b', 'the in-flight publish is never re-sent; the queued one is');
    again.send({ type: 'ack', requestId: resent.requestId, result: 'applied', version: 1, revision: 1 });
    assert.equal((await queued).result, 'applied');
    assert.equal(client.stats().reconnects, 1);
    await client.close();
  });

  it('never shows a version going back, whatever the server delivers', async () => {
    const [client, conn] = await Promise.all([connect(), peer.nextConnection()]);
    const seen: number[] = [];
    const sub = client.subscribe('m/>', (s) => seen.push(s.version));
    const frame = await conn.next('subscribe');
    const id = frame.subscriptionId;
    conn.send({
      type: 'snapshots',
      subscriptionId: id,
      entries: [
        entry('m/x', 5, 1),
        entry('m/x', 3, 2),
        entry('m/x', 5, 3, { other: true }),
        entry('m/x', 6, 4),
      ],
      synced: true,
      revision: 4,
    });
    assert.equal(await within(sub.synced, 5_000, 'synced'), 4);
    const iterated: number[] = [];
    const iterating = (async () => {
      for await (const snapshot of sub) {
        iterated.push(snapshot.version);
        if (snapshot.version === 8) break;
      }
    })();
    conn.send({ type: 'snapshots', subscriptionId: id, entries: [entry('m/x', 2, 5), entry('m/x', 7, 6)] });
    conn.send({ type: 'snapshots', subscriptionId: id, entries: [entry('m/x', 1, 7), entry('m/x', 8, 8)] });
    await within(iterating, 5_000, 'iteration up to version 8');
    assert.ok(
      iterated.every((v, i) => i === 0 || v > iterated[i - 1]!),
      `iteration went back: ${iterated}`,
    );
    assert.deepEqual(seen, [5, 6, 7, 8]);
    assert.equal(sub.replicas.get('m/x')?.version, 8);
    assert.deepEqual(sub.replicas.get('m/x')?.state, { v: 8 });
    // Counted, so that a check of a deployment can tell a server that broke the rules.
    assert.deepEqual(sub.refusedDeliveries(), { duplicate: 0, stale: 3, conflict: 1 });
    await client.close();
  });

  it('skips deliveries outside the pattern or with invalid versions, reporting them', async () => {
    const errors: unknown[] = [];
    const [client, conn] = await Promise.all([
      connect({ onError: (e) => errors.push(e) }),
      peer.nextConnection(),
    ]);
    const sub = client.subscribe('p/*');
    const { subscriptionId } = await conn.next('subscribe');
    conn.send({
      type: 'snapshots',
      subscriptionId,
      entries: [entry('q/a', 1, 1), entry('p/a/b', 1, 2), entry('p/a', 1, 3)],
      synced: true,
      revision: 3,
    });
    await within(sub.synced, 5_000, 'synced');
    assert.deepEqual([...sub.replicas.keys()], ['p/a']);
    assert.equal(errors.filter((e) => isSbmpError(e, 'bad_frame')).length, 2);
    await client.close();
  });

  it('resumes from the last revision seen, and after a resync keeps only the keys resent', async () => {
    const [client, conn] = await Promise.all([connect(), peer.nextConnection()]);
    const sub = client.subscribe('z/>');
    const first = await conn.next('subscribe');
    assert.equal(first.sinceRevision, undefined);
    conn.send({
      type: 'snapshots',
      subscriptionId: first.subscriptionId,
      entries: [entry('z/a', 1, 10), entry('z/b', 1, 11)],
      synced: true,
      revision: 11,
    });
    await within(sub.synced, 5_000, 'synced');
    conn.send({
      type: 'snapshots',
      subscriptionId: first.subscriptionId,
      entries: [entry('z/a', 2, 12)],
      revision: 12,
    });
    // Without a frame revision, an entry's own revision is no resume point (conflation reorders).
    conn.send({ type: 'snapshots', subscriptionId: first.subscriptionId, entries: [entry('z/b', 2, 14)] });
    conn.send({ type: 'ping', nonce: 1 });
    await conn.next('pong');
    conn.terminate();
    const again = await peer.nextConnection();
    const resumed = await again.next('subscribe');
    assert.equal(resumed.sinceRevision, 12);
    assert.equal(sub.lastRevision, 12);
    assert.equal(resumed.subscriptionId, first.subscriptionId);
    const resynced = new Promise<number>((resolve) => sub.onSynced(resolve));
    again.send({
      type: 'snapshots',
      subscriptionId: resumed.subscriptionId,
      entries: [entry('z/a', 3, 20)],
      resync: true,
    });
    again.send({
      type: 'snapshots',
      subscriptionId: resumed.subscriptionId,
      entries: [entry('z/c', 1, 21)],
      synced: true,
      revision: 21,
    });
    assert.equal(await within(resynced, 5_000, 'resync'), 21);
    assert.deepEqual([...sub.replicas.keys()].sort(), ['z/a', 'z/c']);
    assert.equal(sub.replicas.get('z/a')?.version, 3);
    await client.close();
  });

  it('after an undecodable frame, reports bad_frame and applies no later frame of that connection', async () => {
    const errors: unknown[] = [];
    const [client, conn] = await Promise.all([
      connect({ onError: (error) => errors.push(error) }),
      peer.nextConnection(),
    ]);
    const sub = client.subscribe('bf/>');
    const first = await conn.next('subscribe');
    conn.send({
      type: 'snapshots',
      subscriptionId: first.subscriptionId,
      entries: [entry('bf/a', 1, 10)],
      synced: true,
      revision: 10,
    });
    await within(sub.synced, 5_000, 'synced');
    // The frame carrying revision 11 is lost; the next one must not move the resume point past it.
    conn.sendRaw(new Uint8Array([0xc1, 0xff, 0x00]));
    conn.send({
      type: 'snapshots',
      subscriptionId: first.subscriptionId,
      entries: [entry('bf/b', 1, 12)],
      revision: 12,
    });
    const again = await peer.nextConnection();
    const resumed = await again.next('subscribe');
    assert.equal(resumed.sinceRevision, 10);
    assert.equal(sub.replicas.get('bf/b'), undefined);
    assert.ok(
      errors.some((e) => isSbmpError(e, 'bad_frame')),
      `bad_frame reported: ${errors.map(String).join('; ')}`,
    );
    await client.close();
  });

  it('after GOAWAY, lets the server answer what is in flight, holds new publishes, and honours the hint', async () => {
    const [client, conn] = await Promise.all([connect(), peer.nextConnection()]);
    const inFlight = client.publish('g/a', 1, { version: 1 });
    const sentBefore = await conn.next('publish');
    const sent = Date.now();
    conn.send({ type: 'goaway', reason: 'draining', reconnectAfterMs: 300 });
    conn.send({ type: 'ping', nonce: 1 });
    await conn.next('pong');
    const afterGoaway = client.publish('g/b', 2, { version: 1 });
    conn.send({ type: 'ack', requestId: sentBefore.requestId, result: 'applied', version: 1, revision: 1 });
    assert.equal((await within(inFlight, 5_000, 'the drained ack')).result, 'applied');
    conn.send({ type: 'ping', nonce: 2 });
    assert.equal((await conn.next('pong')).nonce, 2, 'no publish is sent after GOAWAY');
    conn.close(1001);
    const next = await peer.nextConnection();
    assert.ok(Date.now() - sent >= 300, `reconnected after ${Date.now() - sent} ms`);
    const held = await next.next('publish');
    assert.equal(held.key, 'g/b');
    next.send({ type: 'ack', requestId: held.requestId, result: 'applied', version: 1, revision: 2 });
    assert.equal((await afterGoaway).result, 'applied');
    await client.close();
  });

  it('re-subscribes after a temporary refusal', async () => {
    const [client, conn] = await Promise.all([connect(), peer.nextConnection()]);
    const sub = client.subscribe('busy/>');
    const first = await conn.next('subscribe');
    conn.send({
      type: 'error',
      code: 'overloaded',
      message: 'shedding',
      subscriptionId: first.subscriptionId,
      retryable: true,
    });
    const again = await conn.next('subscribe');
    assert.equal(again.subscriptionId, first.subscriptionId);
    conn.send({
      type: 'snapshots',
      subscriptionId: again.subscriptionId,
      entries: [entry('busy/a', 1, 1)],
      synced: true,
      revision: 1,
    });
    assert.equal(await within(sub.synced, 5_000, 'synced'), 1);
    await client.close();
  });

  it('replaces a connection on which the server fell silent', async () => {
    const [client, conn] = await Promise.all([connect({ heartbeatMs: 50 }), peer.nextConnection()]);
    assert.equal((await conn.next('ping')).type, 'ping');
    // The peer never answers: the client must give up on it and connect again.
    await peer.nextConnection();
    await within(conn.closed, 5_000, 'the silent connection closed');
    await client.close();
  });

  it('ends a subscription the server refuses for good', async () => {
    const [client, conn] = await Promise.all([connect(), peer.nextConnection()]);
    const sub = client.subscribe('f/>');
    const { subscriptionId } = await conn.next('subscribe');
    conn.send({ type: 'error', code: 'forbidden', message: 'no', subscriptionId });
    await rejectsWith(sub.synced, 'forbidden');
    await rejectsWith(sub.done, 'forbidden');
    assert.equal(sub.ended, true);
    assert.equal(client.stats().subscriptions, 0);
    await client.close();
  });

  it('refuses bad input before sending anything', async () => {
    const [client] = await Promise.all([connect({ maxQueued: 1, maxInFlight: 1 }), peer.nextConnection()]);
    await rejectsWith(client.publish('bad key', 1), 'bad_key');
    await rejectsWith(client.publish('k', 1, { version: 0 }), 'bad_version');
    await rejectsWith(client.publish('k', 1, { version: 2 ** 53 }), 'bad_version');
    await rejectsWith(
      client.publish('k', () => 1),
      'bad_state',
    );
    await rejectsWith(client.publish('k', 'x'.repeat(1024 * 1024 + 1)), 'too_large');
    assert.throws(
      () => client.subscribe('a/>/b'),
      (e: unknown) => isSbmpError(e, 'bad_pattern'),
    );
    const sent = client.publish('k', 1);
    const queued = client.publish('k', 2);
    await rejectsWith(client.publish('k', 3), 'limit_exceeded');
    const controller = new AbortController();
    await client.close();
    await rejectsWith(sent, 'closed');
    await rejectsWith(queued, 'closed');
    await rejectsWith(client.publish('k', 4, { signal: controller.signal }), 'closed');
  });

  it('aborts a queued publish', async () => {
    const [client] = await Promise.all([connect({ maxInFlight: 1 }), peer.nextConnection()]);
    const first = client.publish('a/1', 1);
    const controller = new AbortController();
    const second = client.publish('a/2', 2, { signal: controller.signal });
    controller.abort();
    await rejectsWith(second, 'aborted');
    assert.equal(client.stats().queued, 0);
    await client.close();
    await rejectsWith(first, 'closed');
  });
});

describe('SbmpClient.connect failures', () => {
  it('rejects with the server refusal code', async () => {
    const peer = await FakePeer.start({ refuse: { code: 'unauthorized', message: 'no token' } });
    try {
      await rejectsWith(SbmpClient.connect({ url: peer.url }), 'unauthorized');
    } finally {
      await peer.close();
    }
  });

  it('rejects with timeout when the server never answers HELLO', async () => {
    const peer = await FakePeer.start({ welcome: false });
    try {
      await rejectsWith(SbmpClient.connect({ url: peer.url, connectTimeoutMs: 200 }), 'timeout');
    } finally {
      await peer.close();
    }
  });

  it('rejects with unavailable when nothing listens', async () => {
    const peer = await FakePeer.start();
    const url = peer.url;
    await peer.close();
    await rejectsWith(SbmpClient.connect({ url }), 'unavailable');
  });

  it('refuses bad options with bad_config naming the option', async () => {
    for (const options of [
      { url: 'ftp://x' },
      { url: 'not a url' },
      { url: 'http://127.0.0.1:1', maxInFlight: 0 },
      { url: 'http://127.0.0.1:1', encoding: 'xml' as 'json' },
      { url: 'http://127.0.0.1:1', reconnect: { jitter: 2 } },
    ]) {
      await rejectsWith(SbmpClient.connect(options), 'bad_config');
    }
  });
});
