import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { AckFrame, Frame } from '../../src/codec/frame-types.js';
import { encodeFrame } from '../../src/codec/frames.js';
import { encodeState } from '../../src/codec/state.js';
import type { TestServer } from './helpers.js';
import { debugVars, eventually, FrameClient, rawRequest, startTestServer, WAIT_MS } from './helpers.js';

const HIGH_WATER = 256 * 1024;
/** Unsent bytes allowed on the server: the mark plus what one socket read may still answer. */
const BOUND_BYTES = 2 * 1024 * 1024;
const MAX_PUBLISHES = 200_000;
const SEND_FOR_MS = 20_000;
/** The client stops queueing above this and waits for its socket to drain. */
const CLIENT_QUEUE_BYTES = 1024 * 1024;
/** A client socket that has not drained within this is taken as blocked by TCP. */
const BLOCKED_AFTER_MS = 500;

const BAD_KEY = `flood/${'x'.repeat(40)} bad`;

let t: TestServer;
before(async () => {
  t = await startTestServer({ limits: { sendHighWaterBytes: HIGH_WATER } });
});
after(async () => {
  await t.close();
});

function isAnswer(frame: Frame): boolean {
  return (frame.type === 'ack' || frame.type === 'error') && frame.requestId !== undefined;
}

/** Largest unsent byte count over the server's WebSocket connections. */
async function largestBuffered(): Promise<number> {
  const vars = await debugVars(t.url);
  return Math.max(0, ...vars.connections.filter((c) => c.kind === 'ws').map((c) => c.bufferedBytes));
}

/** Resolves true once the socket drains, false if it has not within `ms`. */
function drained(socket: NodeJS.EventEmitter, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.off('drain', onDrain);
      resolve(false);
    }, ms);
    const onDrain = () => {
      clearTimeout(timer);
      resolve(true);
    };
    socket.once('drain', onDrain);
  });
}

test('a publisher that never reads its answers is held back by TCP, and gets every answer once it reads', async () => {
  // Reading batches, so that the server's answers share WebSocket messages and each message
  // counts off the bytes of several frames.
  const flooder = await FrameClient.connect(t.wsUrl, 'msgpack', { batches: true });
  const bystander = await FrameClient.connect(t.wsUrl);
  try {
    flooder.ws.pause();
    const socket = (flooder.ws as unknown as { _socket: NodeJS.EventEmitter })._socket;
    // Some bulk per publish, so fewer publishes fill the kernels' buffers on the way in.
    const state = encodeState('x'.repeat(256), 'msgpack');
    const started = Date.now();
    let sent = 0;
    let blocked = false;
    let maxBuffered = 0;
    while (sent < MAX_PUBLISHES && Date.now() - started < SEND_FOR_MS) {
      if (flooder.ws.bufferedAmount > CLIENT_QUEUE_BYTES) {
        maxBuffered = Math.max(maxBuffered, await largestBuffered());
        if (!(await drained(socket, BLOCKED_AFTER_MS))) {
          blocked = true;
          break;
        }
        continue;
      }
      sent++;
      // Every other publish names a bad key: its ERROR answer is several times the size of the
      // publish, so unanswered bytes outgrow what the kernels' socket buffers absorb.
      const key = sent % 2 === 0 ? BAD_KEY : 'flood/k';
      flooder.ws.send(encodeFrame({ type: 'publish', requestId: sent, key, state }));
      // Lets the socket write and the server answer between bursts.
      if (sent % 1000 === 0) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        maxBuffered = Math.max(maxBuffered, await largestBuffered());
      }
    }
    maxBuffered = Math.max(maxBuffered, await largestBuffered());
    assert.ok(
      maxBuffered <= BOUND_BYTES,
      `server buffered ${maxBuffered} bytes for one connection after ${sent} publishes`,
    );
    assert.ok(blocked, `the client's sends never blocked (${sent} publishes sent)`);

    // Another client is served normally meanwhile.
    const ack = (await bystander.publish('flood/other', { ok: true })) as AckFrame;
    assert.equal(ack.type, 'ack');
    assert.equal(ack.result, 'applied');
    const got = await rawRequest(`${t.url}/sbmp/v3/state/flood/other`);
    assert.equal(got.status, 200);
    assert.deepEqual((JSON.parse(got.body) as { state: unknown }).state, { ok: true });

    // Once the flooder reads, every publish it sent is answered exactly once.
    flooder.ws.resume();
    let answered = 0;
    // The predicate sees each frame once: those already received, then each new one.
    await flooder.next(
      (frame) => {
        if (isAnswer(frame)) answered++;
        return answered >= sent;
      },
      `answers to ${sent} publishes`,
      WAIT_MS,
    );
    const ids = new Set<number>();
    let applied = 0;
    for (const frame of flooder.frames) {
      if (frame.type !== 'ack' && frame.type !== 'error') continue;
      if (frame.requestId === undefined) continue;
      assert.ok(!ids.has(frame.requestId), `request ${frame.requestId} answered twice`);
      ids.add(frame.requestId);
      if (frame.requestId % 2 === 0) {
        assert.equal(frame.type === 'error' && frame.code, 'bad_key', `answer to ${frame.requestId}`);
      } else if (frame.type === 'ack') {
        assert.equal(frame.result, 'applied');
        applied++;
      }
    }
    assert.equal(ids.size, sent);
    assert.ok(applied > sent / 4, `only ${applied} of ${sent} publishes were applied`);
    // Each applied publish took the next version of the one key: none was lost or invented.
    assert.equal((await t.store.get('flood/k'))?.version, applied);
    assert.ok(flooder.batches > 0, 'the answers came in BATCH messages');
    // Every byte counted as unsent was counted off once the socket took it: none twice, none left.
    let buffered: number[] = [];
    await eventually(async () => {
      const vars = await debugVars(t.url);
      buffered = vars.connections.filter((c) => c.kind === 'ws').map((c) => c.bufferedBytes);
      return buffered.every((bytes) => bytes === 0);
    }, 'no unsent bytes left').catch(() => assert.fail(`unsent bytes by connection: ${buffered.join(', ')}`));
  } finally {
    flooder.ws.resume();
    await Promise.all([flooder.close(), bystander.close()]);
  }
});
