import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AckFrame, ErrorFrame, Frame, WelcomeFrame } from '../../src/codec/frame-types.js';
import { encodeFrame } from '../../src/codec/frames.js';
import { encodeState } from '../../src/codec/state.js';
import { WS_CLOSE } from '../../src/codec/ws-protocol.js';
import type { TestServer } from './helpers.js';
import { FrameClient, startTestServer } from './helpers.js';

let t: TestServer;
const clients: FrameClient[] = [];
before(async () => {
  t = await startTestServer({ limits: { maxInFlightPerConnection: 256, maxBadFrames: 10 } });
});
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await t.close();
});

async function connect(batches: boolean): Promise<FrameClient> {
  const client = await FrameClient.connect(t.wsUrl, 'msgpack', { batches });
  clients.push(client);
  return client;
}

function publish(requestId: number, key: string, value: unknown): Frame {
  return { type: 'publish', requestId, key, state: encodeState(value, 'msgpack') };
}

function answerTo(requestId: number) {
  return (f: Frame) => (f.type === 'ack' || f.type === 'error') && f.requestId === requestId;
}

describe('BATCH messages', () => {
  test('WELCOME says the server reads batches', async () => {
    const client = await connect(false);
    const welcome = client.frames.find((f) => f.type === 'welcome') as WelcomeFrame;
    assert.equal(welcome.batches, true);
  });

  test('a batch of publishes is applied in order and answered in batches to a client that reads them', async () => {
    const client = await connect(true);
    const count = 50;
    client.sendBatch(Array.from({ length: count }, (_, i) => publish(i + 1, `batch/read/${i % 5}`, { i })));
    const acks = await Promise.all(
      Array.from({ length: count }, (_, i) => client.next(answerTo(i + 1), `answer ${i + 1}`)),
    );
    for (const ack of acks) assert.equal((ack as AckFrame).result, 'applied');
    // Ten publishes per key, applied in the order sent: each key ends at its last one.
    for (let k = 0; k < 5; k++) {
      const stored = await t.store.get(`batch/read/${k}`);
      assert.deepEqual(stored?.state, { i: 45 + k });
      assert.equal(stored?.version, 10);
    }
    assert.ok(client.batches >= 1, 'at least one BATCH received');
    assert.ok(client.messages - 1 < count, `${client.messages} messages for ${count} answers and WELCOME`);
  });

  test('a client that did not ask for batches gets every frame alone', async () => {
    const client = await connect(false);
    const count = 50;
    client.sendBatch(Array.from({ length: count }, (_, i) => publish(i + 1, `batch/alone/${i}`, i)));
    await Promise.all(
      Array.from({ length: count }, (_, i) => client.next(answerTo(i + 1), `answer ${i + 1}`)),
    );
    assert.equal(client.batches, 0);
    assert.equal(client.messages, count + 1);
  });

  test('a bad frame inside a batch is refused alone; the frames around it are handled', async () => {
    const client = await connect(true);
    const undecodable = new Uint8Array([0x1a, 0x10, 0x0a]);
    client.sendBatch([
      publish(1, 'batch/mixed/a', 1),
      publish(2, 'bad key with spaces', 2),
      undecodable,
      publish(4, 'batch/mixed/b', 4),
    ]);
    assert.equal(((await client.next(answerTo(1), 'answer 1')) as AckFrame).result, 'applied');
    assert.equal(((await client.next(answerTo(2), 'answer 2')) as ErrorFrame).code, 'bad_key');
    const badFrame = (await client.next(
      (f) => f.type === 'error' && f.code === 'bad_frame',
      'bad_frame',
    )) as ErrorFrame;
    assert.equal(badFrame.requestId, undefined);
    assert.equal(((await client.next(answerTo(4), 'answer 4')) as AckFrame).result, 'applied');
    assert.equal((await t.store.get('batch/mixed/b'))?.state, 4);
  });

  test('a malformed batch is refused whole: nothing in it is applied and the connection stays', async () => {
    const client = await connect(true);
    // A PUBLISH, then a frame whose length runs past the end of the batch.
    const good = encodeFrame(publish(1, 'batch/malformed/a', 1));
    const bytes = new Uint8Array(2 + 2 + good.length + 2);
    bytes.set([0x62, 2 + good.length + 2, 0x0a, good.length]);
    bytes.set(good, 4);
    bytes.set([0x0a, 0x05], 4 + good.length);
    client.sendRaw(bytes);
    const error = (await client.next((f) => f.type === 'error', 'ERROR')) as ErrorFrame;
    assert.equal(error.code, 'bad_frame');
    assert.match(error.message, /past the end/);
    client.send({ type: 'ping', nonce: 77 });
    await client.next((f) => f.type === 'pong' && f.nonce === 77, 'PONG');
    assert.equal(await t.store.get('batch/malformed/a'), undefined);
  });

  test('a nested batch is refused whole', async () => {
    const client = await connect(true);
    client.sendRaw(new Uint8Array([0x62, 0x06, 0x0a, 0x04, 0x62, 0x02, 0x42, 0x00]));
    const error = (await client.next((f) => f.type === 'error', 'ERROR')) as ErrorFrame;
    assert.equal(error.code, 'bad_frame');
    assert.match(error.message, /batch cannot hold a batch/);
  });

  test('a batch before HELLO is a protocol error: ERROR, then close 1002', async () => {
    const client = await FrameClient.open(t.wsUrl);
    clients.push(client);
    client.sendBatch([{ type: 'hello', protocolVersion: 3, clientId: 'x', stateEncoding: 'msgpack' }]);
    const error = (await client.next((f) => f.type === 'error', 'ERROR')) as ErrorFrame;
    assert.equal(error.code, 'bad_frame');
    assert.equal((await client.closed).code, WS_CLOSE.protocolError);
  });
});
