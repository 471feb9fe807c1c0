import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { AckFrame, ErrorFrame } from '../../src/codec/frame-types.js';
import { PROTOCOL_VERSION } from '../../src/codec/frame-types.js';
import { encodeFrame } from '../../src/codec/frames.js';
import type { TestServer } from './helpers.js';
import { debugVars, eventually, FrameClient, startTestServer, withTimeout } from './helpers.js';

const MAX_BAD_FRAMES = 4;

let t: TestServer;
let sentinelVersion: number;
/** A well-behaved client that keeps working while the others misbehave. */
let bystander: FrameClient;
before(async () => {
  t = await startTestServer({ limits: { maxBadFrames: MAX_BAD_FRAMES, helloTimeoutMs: 300 } });
  sentinelVersion = (await t.store.put({ key: 'sentinel', state: { keep: true }, version: 42 })).version;
  bystander = await FrameClient.connect(t.wsUrl);
  bystander.send({ type: 'subscribe', subscriptionId: 1, pattern: 'sentinel' });
  await bystander.next((f) => f.type === 'snapshots' && f.synced === true, 'bystander synced');
});
after(async () => {
  try {
    // Whatever happened, the stored data is unchanged and the bystander still works.
    const sentinel = await t.store.get('sentinel');
    assert.equal(sentinel?.version, sentinelVersion);
    assert.deepEqual(sentinel?.state, { keep: true });
    bystander.send({ type: 'ping', nonce: 99 });
    await bystander.next((f) => f.type === 'pong' && f.nonce === 99, 'bystander pong');
    await bystander.close();
  } finally {
    await t.close();
  }
});

/** Writes raw bytes to the server's port and returns everything it answers until it closes. */
async function rawExchange(text: string): Promise<string> {
  const { port } = new URL(t.url);
  const socket = tcpConnect(Number(port), '127.0.0.1');
  let answer = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    answer += d;
  });
  const closed = new Promise((resolve) => socket.once('close', resolve));
  socket.write(text);
  try {
    await withTimeout(closed, 'server closes the raw connection');
  } finally {
    socket.destroy();
  }
  return answer;
}

async function open(): Promise<FrameClient> {
  return FrameClient.open(t.wsUrl);
}

async function hello(client: FrameClient): Promise<void> {
  client.send({
    type: 'hello',
    protocolVersion: PROTOCOL_VERSION,
    clientId: 'bad',
    stateEncoding: 'msgpack',
  });
  // An ERROR instead (the server shedding load, say) fails with its code rather than a timeout.
  const answer = await client.next((f) => f.type === 'welcome' || f.type === 'error', 'WELCOME or ERROR');
  if (answer.type === 'error') assert.fail(`HELLO answered with ERROR ${answer.code}: ${answer.message}`);
}

describe('WebSocket protocol faults', () => {
  test('garbage bytes get ERROR bad_frame and the connection stays usable', async () => {
    const client = await open();
    await hello(client);
    client.sendRaw(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]));
    const error = (await client.next((f) => f.type === 'error', 'ERROR')) as ErrorFrame;
    assert.equal(error.code, 'bad_frame');
    client.send({ type: 'ping', nonce: 1 });
    await client.next((f) => f.type === 'pong', 'PONG');
    await client.close();
  });

  test('an unknown frame type and server-only frames are bad_frame', async () => {
    const client = await open();
    await hello(client);
    // Field 15, length-delimited, empty body: a frame type this protocol does not have.
    client.sendRaw(new Uint8Array([(15 << 3) | 2, 0]));
    client.send({ type: 'ack', requestId: 1, result: 'applied', version: 1, revision: 1 });
    client.send({
      type: 'hello',
      protocolVersion: PROTOCOL_VERSION,
      clientId: 'again',
      stateEncoding: 'msgpack',
    });
    await client.next(() => client.frames.filter((f) => f.type === 'error').length >= 3, 'three ERRORs');
    for (const f of client.frames.filter((x) => x.type === 'error'))
      assert.equal((f as ErrorFrame).code, 'bad_frame');
    assert.equal(client.ws.readyState, client.ws.OPEN);
    await client.close();
  });

  test(`more than ${MAX_BAD_FRAMES} bad frames close the connection with 1002`, async () => {
    const client = await open();
    await hello(client);
    for (let i = 0; i <= MAX_BAD_FRAMES; i++) client.sendRaw(new Uint8Array([0x00]));
    const closed = await withTimeout(client.closed, 'close');
    assert.equal(closed.code, 1002);
    assert.ok(client.frames.filter((f) => f.type === 'error').length >= MAX_BAD_FRAMES);
  });

  test('a text message is refused with ERROR bad_frame and close 1003', async () => {
    const client = await open();
    await hello(client);
    client.sendRaw('{"type":"publish"}');
    const error = (await client.next((f) => f.type === 'error', 'ERROR')) as ErrorFrame;
    assert.equal(error.code, 'bad_frame');
    assert.equal((await withTimeout(client.closed, 'close')).code, 1003);
  });

  test('anything before HELLO is refused and the connection closed with 1002', async () => {
    const client = await open();
    client.send({
      type: 'publish',
      requestId: 1,
      key: 'sentinel',
      version: 43,
      state: new Uint8Array([0xc0]),
    });
    const error = (await client.next((f) => f.type === 'error', 'ERROR')) as ErrorFrame;
    assert.equal(error.code, 'bad_frame');
    assert.equal((await withTimeout(client.closed, 'close')).code, 1002);
  });

  test('no HELLO within helloTimeoutMs: ERROR timeout and close 1008', async () => {
    const client = await open();
    const error = (await client.next((f) => f.type === 'error', 'ERROR', 3000)) as ErrorFrame;
    assert.equal(error.code, 'timeout');
    assert.equal((await withTimeout(client.closed, 'close')).code, 1008);
  });

  test('a message above maxFrameBytes closes with 1009', async () => {
    const client = await open();
    await hello(client);
    client.sendRaw(new Uint8Array(4 * 1024 * 1024 + 1));
    assert.equal((await withTimeout(client.closed, 'close')).code, 1009);
  });

  test('a publish with a bad key, bad state or stale version changes nothing', async () => {
    const client = await open();
    await hello(client);
    const badKey = (await client.publish('sentinel/', 1)) as ErrorFrame;
    assert.equal(badKey.code, 'bad_key');
    const tooLong = (await client.publish('k'.repeat(257), 1)) as ErrorFrame;
    assert.equal(tooLong.code, 'bad_key');
    const stale = (await client.publish('sentinel', { keep: false }, { version: 41 })) as AckFrame;
    assert.equal(stale.result, 'stale');
    const conflict = (await client.publish('sentinel', { keep: false }, { version: 42 })) as AckFrame;
    assert.equal(conflict.result, 'conflict');
    await client.close();
  });
});

describe('connections that misbehave at the socket level', () => {
  test('a client that upgrades, never sends HELLO and never reads is dropped', async () => {
    const { port } = new URL(t.url);
    const socket = tcpConnect(Number(port), '127.0.0.1');
    await withTimeout(new Promise((resolve) => socket.once('connect', resolve)), 'tcp connect');
    socket.write(
      'GET /sbmp/v3/ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    socket.pause();
    try {
      await eventually(
        async () => (await debugVars(t.url)).health.connections.ws === 2,
        'the silent socket counted',
      );
      // After helloTimeoutMs the server sends ERROR and a close frame, which this socket never
      // reads; it is cut off after the close grace, and only the bystander remains.
      await eventually(
        async () => (await debugVars(t.url)).health.connections.ws === 1,
        'silent socket dropped',
      );
    } finally {
      socket.destroy();
    }
  });

  test('a malformed HTTP request gets 400 and the server keeps serving', async () => {
    const answer = await rawExchange('THIS IS NOT HTTP\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 400/);
    const res = await fetch(`${t.url}/healthz`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
  });

  test('a WebSocket upgrade on another path is refused with 404 before the handshake', async () => {
    const answer = await rawExchange(
      'GET /elsewhere HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    assert.match(answer, /^HTTP\/1\.1 404/);
    assert.match(answer, /"code":"not_found"/);
  });

  test('thousands of connect/close cycles finish in bounded time and leak no connection', async () => {
    const CYCLES = 1500;
    const PARALLEL = 50;
    const started = performance.now();
    for (let batch = 0; batch < CYCLES / PARALLEL; batch++) {
      await Promise.all(
        Array.from({ length: PARALLEL }, async (_, i) => {
          const client = await FrameClient.open(t.wsUrl);
          // Half say HELLO first, half leave at once.
          if ((batch + i) % 2 === 0) await hello(client);
          await client.close();
        }),
      );
    }
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 45_000, `${CYCLES} cycles took ${elapsed} ms`);
    await eventually(
      async () => (await debugVars(t.url)).health.connections.ws === 1,
      'connections back to one',
    );
    const frame = encodeFrame({ type: 'ping', nonce: 7 });
    bystander.sendRaw(frame);
    await bystander.next((f) => f.type === 'pong' && f.nonce === 7, 'bystander still served');
  });
});
