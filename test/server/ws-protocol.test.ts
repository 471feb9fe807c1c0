import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AckFrame, ErrorFrame, SnapshotsFrame, WelcomeFrame } from '../../src/codec/frame-types.js';
import { PROTOCOL_VERSION } from '../../src/codec/frame-types.js';
import type { TestServer } from './helpers.js';
import { FrameClient, startTestServer } from './helpers.js';

let t: TestServer;
const clients: FrameClient[] = [];
before(async () => {
  t = await startTestServer({ limits: { maxSubscriptionsPerConnection: 3, maxInFlightPerConnection: 4 } });
});
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await t.close();
});

async function connect(encoding: 'msgpack' | 'json' = 'msgpack'): Promise<FrameClient> {
  const client = await FrameClient.connect(t.wsUrl, encoding);
  clients.push(client);
  return client;
}

function isSynced(subscriptionId: number) {
  return (f: { type: string }) =>
    f.type === 'snapshots' &&
    (f as SnapshotsFrame).subscriptionId === subscriptionId &&
    (f as SnapshotsFrame).synced === true;
}

describe('HELLO / WELCOME', () => {
  test('WELCOME carries the limits and the store revision', async () => {
    await t.store.put({ key: 'hello/rev', state: 1 });
    const client = await connect();
    const welcome = client.frames.find((f) => f.type === 'welcome') as WelcomeFrame;
    assert.equal(welcome.protocolVersion, PROTOCOL_VERSION);
    assert.equal(welcome.serverId, 'test');
    assert.equal(welcome.maxSubscriptions, 3);
    assert.equal(welcome.maxInFlight, 4);
    assert.equal(welcome.maxStateBytes, 1024 * 1024);
    assert.ok(welcome.maxFrameBytes >= welcome.maxStateBytes);
    assert.ok(welcome.revision >= 1);
  });

  test('a wrong protocol version is refused and the connection closed with 1002', async () => {
    const client = await FrameClient.open(t.wsUrl);
    clients.push(client);
    client.send({ type: 'hello', protocolVersion: 99, clientId: 'old', stateEncoding: 'msgpack' });
    const error = (await client.next((f) => f.type === 'error', 'ERROR')) as ErrorFrame;
    assert.equal(error.code, 'bad_request');
    assert.equal((await client.closed).code, 1002);
  });
});

describe('PUBLISH / ACK', () => {
  test('applied, duplicate, stale and conflict are ACK results with the current version', async () => {
    const client = await connect();
    const applied = (await client.publish('pub/a', { v: 1 }, { version: 10 })) as AckFrame;
    assert.equal(applied.type, 'ack');
    assert.equal(applied.result, 'applied');
    assert.equal(applied.version, 10);
    assert.ok(applied.revision > 0);
    const duplicate = (await client.publish('pub/a', { v: 1 }, { version: 10 })) as AckFrame;
    assert.equal(duplicate.result, 'duplicate');
    const conflict = (await client.publish('pub/a', { v: 2 }, { version: 10 })) as AckFrame;
    assert.equal(conflict.result, 'conflict');
    assert.equal(conflict.version, 10);
    const stale = (await client.publish('pub/a', { v: 0 }, { version: 9 })) as AckFrame;
    assert.equal(stale.result, 'stale');
    assert.equal(stale.version, 10);
    const next = (await client.publish('pub/a', { v: 3 })) as AckFrame;
    assert.equal(next.version, 11);
    const cas = (await client.publish('pub/a', { v: 4 }, { ifVersion: 5 })) as AckFrame;
    assert.equal(cas.result, 'conflict');
    assert.equal(cas.version, 11);
    const held = await t.store.get('pub/a');
    assert.deepEqual(held?.state, { v: 3 });
  });

  test('a JSON connection publishes JSON state bytes', async () => {
    const client = await connect('json');
    const ack = (await client.publish('pub/json', { text: 'héllo' })) as AckFrame;
    assert.equal(ack.result, 'applied');
    assert.deepEqual((await t.store.get('pub/json'))?.state, { text: 'héllo' });
  });

  test('opaque bytes with a content type are stored as bytes', async () => {
    const client = await connect();
    client.send({
      type: 'publish',
      requestId: 900,
      key: 'pub/bytes',
      contentType: 'application/octet-stream',
      state: new Uint8Array([1, 2, 3]),
    });
    const ack = (await client.next((f) => f.type === 'ack' && f.requestId === 900, 'ACK')) as AckFrame;
    assert.equal(ack.result, 'applied');
    const held = await t.store.get('pub/bytes');
    assert.deepEqual([...(held!.state as Uint8Array)], [1, 2, 3]);
    assert.equal(held?.contentType, 'application/octet-stream');
  });

  test('bad publishes get a typed ERROR with the request id; nothing is stored', async () => {
    const client = await connect();
    const badKey = (await client.publish('bad key', 1)) as ErrorFrame;
    assert.equal(badKey.type, 'error');
    assert.equal(badKey.code, 'bad_key');
    const badVersion = (await client.publish('pub/bad', 1, { version: 0 })) as ErrorFrame;
    assert.equal(badVersion.type, 'error');
    assert.equal(badVersion.code, 'bad_version');
    client.send({ type: 'publish', requestId: 777, key: 'pub/bad', state: new Uint8Array([0xc1]) });
    const badState = (await client.next(
      (f) => f.type === 'error' && f.requestId === 777,
      'ERROR',
    )) as ErrorFrame;
    assert.equal(badState.code, 'bad_state');
    client.send({
      type: 'publish',
      requestId: 778,
      key: 'pub/bad',
      state: new Uint8Array(1024 * 1024 + 1),
      contentType: 'application/octet-stream',
    });
    const tooLarge = (await client.next(
      (f) => f.type === 'error' && f.requestId === 778,
      'ERROR',
    )) as ErrorFrame;
    assert.equal(tooLarge.code, 'too_large');
    assert.equal(await t.store.get('pub/bad'), undefined);
    // The connection still works.
    const ok = (await client.publish('pub/bad', 1)) as AckFrame;
    assert.equal(ok.result, 'applied');
  });
});

describe('SUBSCRIBE', () => {
  test('current state first, synced, then live changes; UNSUBSCRIBE stops them', async () => {
    await t.store.put({ key: 'sub/x/1', state: { n: 1 } });
    await t.store.put({ key: 'sub/x/2', state: { n: 2 } });
    await t.store.put({ key: 'sub/y/1', state: { n: 3 } });
    const client = await connect();
    client.send({ type: 'subscribe', subscriptionId: 1, pattern: 'sub/x/*' });
    const synced = (await client.next(isSynced(1), 'synced')) as SnapshotsFrame;
    assert.ok((synced.revision ?? 0) >= 3);
    const initial = client.entries(1);
    assert.deepEqual(initial.map((e) => e.key).sort(), ['sub/x/1', 'sub/x/2']);
    assert.deepEqual(client.state(initial.find((e) => e.key === 'sub/x/2')!), { n: 2 });
    const publisher = await connect();
    await publisher.publish('sub/x/1', { n: 10 });
    await publisher.publish('sub/y/1', { n: 11 });
    const live = await client.next(
      (f) => f.type === 'snapshots' && f.subscriptionId === 1 && f.entries.some((e) => e.version === 2),
      'live change',
    );
    assert.equal((live as SnapshotsFrame).entries[0]!.key, 'sub/x/1');
    client.send({ type: 'unsubscribe', subscriptionId: 1 });
    client.send({ type: 'ping', nonce: 5 });
    await client.next((f) => f.type === 'pong' && f.nonce === 5, 'PONG');
    const before = client.entries(1).length;
    await publisher.publish('sub/x/2', { n: 12 });
    client.send({ type: 'ping', nonce: 6 });
    await client.next((f) => f.type === 'pong' && f.nonce === 6, 'PONG');
    // Give a fan-out turn a chance: a round trip through the server after the publish was acked.
    await publisher.publish('sub/other', 1);
    client.send({ type: 'ping', nonce: 7 });
    await client.next((f) => f.type === 'pong' && f.nonce === 7, 'PONG');
    assert.equal(client.entries(1).length, before);
    assert.ok(client.entries(1).every((e) => e.key.startsWith('sub/x/')));
  });

  test('sinceRevision delivers only later changes', async () => {
    const first = await t.store.put({ key: 'since/a', state: 1 });
    await t.store.put({ key: 'since/b', state: 2 });
    const client = await connect();
    client.send({ type: 'subscribe', subscriptionId: 2, pattern: 'since/>', sinceRevision: first.revision });
    await client.next(isSynced(2), 'synced');
    assert.deepEqual(
      client.entries(2).map((e) => e.key),
      ['since/b'],
    );
  });

  test('a JSON connection receives JSON state bytes', async () => {
    await t.store.put({ key: 'jsonsub/a', state: { ok: true } });
    const client = await connect('json');
    client.send({ type: 'subscribe', subscriptionId: 3, pattern: 'jsonsub/a' });
    await client.next(isSynced(3), 'synced');
    const [entry] = client.entries(3);
    assert.equal(new TextDecoder().decode(entry!.state), '{"ok":true}');
  });

  test('bad pattern, duplicate id and too many subscriptions are typed errors; others keep working', async () => {
    const client = await connect();
    client.send({ type: 'subscribe', subscriptionId: 10, pattern: 'a/>/b' });
    const badPattern = (await client.next(
      (f) => f.type === 'error' && f.subscriptionId === 10,
      'ERROR',
    )) as ErrorFrame;
    assert.equal(badPattern.code, 'bad_pattern');
    client.send({ type: 'subscribe', subscriptionId: 11, pattern: 'many/1' });
    client.send({ type: 'subscribe', subscriptionId: 11, pattern: 'many/2' });
    const dup = (await client.next(
      (f) => f.type === 'error' && f.subscriptionId === 11,
      'ERROR',
    )) as ErrorFrame;
    assert.equal(dup.code, 'bad_request');
    client.send({ type: 'subscribe', subscriptionId: 12, pattern: 'many/3' });
    client.send({ type: 'subscribe', subscriptionId: 13, pattern: 'many/4' });
    client.send({ type: 'subscribe', subscriptionId: 14, pattern: 'many/5' });
    const tooMany = (await client.next(
      (f) => f.type === 'error' && f.subscriptionId === 14,
      'ERROR',
    )) as ErrorFrame;
    assert.equal(tooMany.code, 'limit_exceeded');
    await client.next(isSynced(13), 'synced 13');
    const ack = (await client.publish('many/4', 1)) as AckFrame;
    assert.equal(ack.result, 'applied');
    await client.next(
      (f) => f.type === 'snapshots' && f.subscriptionId === 13 && f.entries.length > 0,
      'delivery to 13',
    );
  });

  test('PING gets PONG with the same nonce', async () => {
    const client = await connect();
    client.send({ type: 'ping', nonce: 123456 });
    const pong = await client.next((f) => f.type === 'pong', 'PONG');
    assert.deepEqual(pong, { type: 'pong', nonce: 123456 });
  });
});

test('a resume point the store never reached starts with a resync frame', async () => {
  await t.store.put({ key: 'wsresync/a', state: 1 });
  const client = await connect();
  client.send({ type: 'subscribe', subscriptionId: 1, pattern: 'wsresync/>', sinceRevision: 10_000_000 });
  await client.next(isSynced(1), 'synced');
  const frames = client.snapshotFrames(1);
  assert.equal(frames[0]!.resync, true);
  assert.ok(frames.slice(1).every((f) => f.resync !== true));
  assert.deepEqual(
    client.entries(1).map((e) => e.key),
    ['wsresync/a'],
  );
});
