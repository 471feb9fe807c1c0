import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BATCH_FRAME_MAX_BYTES, FrameBatcher } from '../../src/codec/frame-batcher.js';
import type { Frame } from '../../src/codec/frame-types.js';
import {
  decodeFrame,
  decodeFrameAt,
  encodeBatch,
  encodeFrame,
  splitBatch,
  splitBatchRanges,
} from '../../src/codec/frames.js';
import { isSbmpError } from '../../src/internal.js';
import * as arb from './frame-arbitraries.js';

const ping = (nonce: number): Uint8Array => encodeFrame({ type: 'ping', nonce });

/** The frames of one written message: a batch's frames, or the message itself. */
function framesOf(message: Uint8Array): Frame[] {
  return (splitBatch(message, message.length) ?? [message]).map((bytes) => decodeFrame(bytes));
}

function nonces(messages: readonly Uint8Array[]): number[] {
  return messages.flatMap(framesOf).map((frame) => (frame.type === 'ping' ? frame.nonce : -1));
}

/** Resolves once the current turn's end-of-turn work (process.nextTick) has run. */
const turnEnded = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('splitBatch', () => {
  it('gives back the frames encodeBatch was given, in order, and leaves single frames alone', () => {
    fc.assert(
      fc.property(fc.array(arb.frame, { minLength: 1, maxLength: 8 }), (frames) => {
        const encoded = frames.map((frame) => encodeFrame(frame));
        for (const single of encoded) assert.equal(splitBatch(single, single.length), undefined);
        const batch = encodeBatch(encoded);
        const split = splitBatch(batch, batch.length);
        assert.ok(split !== undefined);
        assert.deepEqual(
          split.map((bytes) => [...bytes]),
          encoded.map((bytes) => [...bytes]),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('skips unknown fields of the batch and reads fields in any order', () => {
    // An unknown top-level field (13) before the batch; an unknown field (2) inside it.
    const bytes = new Uint8Array([
      0x6a, 0x01, 0x00, 0x62, 0x08, 0x10, 0x05, 0x0a, 0x04, 0x42, 0x02, 0x08, 0x05,
    ]);
    const split = splitBatch(bytes, bytes.length);
    assert.ok(split !== undefined);
    assert.deepEqual(
      split.map((frame) => decodeFrame(frame)),
      [{ type: 'ping', nonce: 5 }],
    );
  });

  it('refuses a batch longer than the frame limit with too_large', () => {
    const batch = encodeBatch([ping(1), ping(2)]);
    assert.throws(
      () => splitBatch(batch, batch.length - 1),
      (err: unknown) => isSbmpError(err, 'too_large'),
    );
    assert.equal(splitBatch(batch, batch.length)?.length, 2);
  });

  it('is refused by decodeFrame, which reads one frame', () => {
    assert.throws(
      () => decodeFrame(encodeBatch([ping(1)])),
      (err: unknown) =>
        isSbmpError(err, 'bad_frame') && /BATCH where one frame was expected/.test(err.message),
    );
  });
});

describe('splitBatchRanges and decodeFrameAt', () => {
  it('find and decode, in place, the frames splitBatch gives as views', () => {
    fc.assert(
      fc.property(fc.array(arb.frame, { minLength: 1, maxLength: 8 }), (frames) => {
        const encoded = frames.map((frame) => encodeFrame(frame));
        const batch = encodeBatch(encoded);
        const ranges = splitBatchRanges(batch, batch.length);
        assert.ok(ranges !== undefined);
        assert.equal(ranges.length, 2 * encoded.length);
        encoded.forEach((bytes, i) => {
          const [start, end] = [ranges[2 * i]!, ranges[2 * i + 1]!];
          assert.deepEqual([...batch.subarray(start, end)], [...bytes]);
          assert.deepEqual(decodeFrameAt(batch, start, end, batch.length), decodeFrame(bytes));
        });
        for (const single of encoded) assert.equal(splitBatchRanges(single, single.length), undefined);
      }),
      { numRuns: 300 },
    );
  });

  it('decodeFrameAt reads only its range, and holds it to the frame limit', () => {
    const batch = encodeBatch([ping(1), ping(22), ping(333)]);
    const ranges = splitBatchRanges(batch, batch.length)!;
    const [start, end] = [ranges[2]!, ranges[3]!];
    assert.deepEqual(decodeFrameAt(batch, start, end, end - start), { type: 'ping', nonce: 22 });
    assert.throws(
      () => decodeFrameAt(batch, start, end, end - start - 1),
      (err: unknown) => isSbmpError(err, 'too_large'),
    );
    // A range cut one byte short ends inside the frame's body: malformed, not the next frame.
    assert.throws(
      () => decodeFrameAt(batch, start, end - 1, batch.length),
      (err: unknown) => isSbmpError(err, 'bad_frame'),
    );
    assert.throws(
      () => decodeFrameAt(batch, start, start, batch.length),
      (err: unknown) => isSbmpError(err, 'bad_frame') && /empty frame/.test(err.message),
    );
  });
});

describe('FrameBatcher', () => {
  function recorder(): { messages: Uint8Array[]; batcher: FrameBatcher; frameBytes: number[] } {
    const messages: Uint8Array[] = [];
    const frameBytes: number[] = [];
    const batcher = new FrameBatcher((message, bytes) => {
      messages.push(message);
      frameBytes.push(bytes);
    });
    return { messages, batcher, frameBytes };
  }

  it('writes every frame at once, as itself, until enabled', () => {
    const { messages, batcher } = recorder();
    batcher.send(ping(1));
    batcher.send(ping(2));
    assert.equal(messages.length, 2);
    assert.equal(splitBatch(messages[0]!, 1024), undefined);
    assert.deepEqual(nonces(messages), [1, 2]);
  });

  it('sends the frames of one turn, microtasks included, as one batch once the turn ends', async () => {
    const { messages, batcher } = recorder();
    batcher.enable(1024 * 1024);
    batcher.send(ping(1));
    batcher.send(ping(2));
    await Promise.resolve();
    batcher.send(ping(3));
    assert.equal(messages.length, 0, 'nothing leaves before the turn ends');
    await turnEnded();
    assert.equal(messages.length, 1);
    assert.ok(splitBatch(messages[0]!, 1024) !== undefined);
    assert.deepEqual(nonces(messages), [1, 2, 3]);
  });

  it('sends a lone frame as itself', async () => {
    const { messages, batcher } = recorder();
    batcher.enable(1024 * 1024);
    batcher.send(ping(7));
    await turnEnded();
    assert.equal(messages.length, 1);
    assert.equal(splitBatch(messages[0]!, 1024), undefined);
    assert.deepEqual(nonces(messages), [7]);
  });

  it('keeps the order when a large frame travels alone', async () => {
    const { messages, batcher } = recorder();
    batcher.enable(4 * 1024 * 1024);
    const large = encodeFrame({
      type: 'publish',
      requestId: 9,
      key: 'large',
      state: new Uint8Array(BATCH_FRAME_MAX_BYTES + 1),
    });
    batcher.send(ping(1));
    batcher.send(ping(2));
    batcher.send(large);
    batcher.send(ping(3));
    await turnEnded();
    assert.equal(messages.length, 3);
    assert.equal(messages[1], large, 'the large frame is written as it is, not copied');
    assert.deepEqual(
      messages.flatMap(framesOf).map((frame) => (frame.type === 'ping' ? frame.nonce : frame.type)),
      [1, 2, 'publish', 3],
    );
  });

  it('keeps every message within the peer limit', async () => {
    const { messages, batcher } = recorder();
    batcher.enable(100);
    for (let nonce = 1; nonce <= 60; nonce++) batcher.send(ping(nonce));
    await turnEnded();
    assert.ok(messages.length > 1);
    for (const message of messages) assert.ok(message.length <= 100, `${message.length} bytes`);
    assert.deepEqual(
      nonces(messages),
      Array.from({ length: 60 }, (_, i) => i + 1),
    );
  });

  it('tells the writer how many bytes of frames each message carries', async () => {
    const { messages, batcher, frameBytes } = recorder();
    const frames = [ping(1), ping(300), ping(70_000)];
    const large = encodeFrame({
      type: 'publish',
      requestId: 9,
      key: 'large',
      state: new Uint8Array(BATCH_FRAME_MAX_BYTES + 1),
    });
    const lengthOf = (list: Uint8Array[]) => list.reduce((sum, frame) => sum + frame.length, 0);
    batcher.send(frames[0]!);
    assert.deepEqual(frameBytes, [frames[0]!.length], 'a frame written before batching is enabled');
    batcher.enable(1024 * 1024);
    for (const frame of frames) batcher.send(frame);
    batcher.send(large);
    batcher.send(frames[1]!);
    batcher.send(frames[2]!);
    await turnEnded();
    assert.equal(messages.length, 4);
    assert.ok(messages[1]!.length > lengthOf(frames), 'the batch adds its own framing');
    assert.deepEqual(frameBytes, [
      frames[0]!.length,
      lengthOf(frames),
      large.length,
      frames[1]!.length + frames[2]!.length,
    ]);
    assert.equal(
      frameBytes.reduce((sum, bytes) => sum + bytes, 0),
      2 * lengthOf(frames) + large.length,
      'every byte sent is reported once',
    );
  });

  it('flush writes what is pending at once', () => {
    const { messages, batcher } = recorder();
    batcher.enable(1024 * 1024);
    batcher.send(ping(1));
    batcher.send(ping(2));
    batcher.flush();
    assert.equal(messages.length, 1);
    assert.deepEqual(nonces(messages), [1, 2]);
    batcher.flush();
    assert.equal(messages.length, 1, 'nothing left to write');
  });
});
