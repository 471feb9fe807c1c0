import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Channel, MAX_CHANNEL_CAPACITY } from '../../src/core/channel.js';
import { isSbmpError } from '../../src/core/errors.js';
import { rejectsWithCode, seededRandom, stateOf, throwsCode, within } from './channel-helpers.js';

describe('Channel capacity', () => {
  it('accepts integers from 0 to MAX_CHANNEL_CAPACITY', () => {
    assert.equal(new Channel().capacity, 0);
    assert.equal(new Channel(5).capacity, 5);
    assert.equal(new Channel(MAX_CHANNEL_CAPACITY).capacity, 2 ** 30);
  });

  it('refuses anything else with bad_config naming the option', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, MAX_CHANNEL_CAPACITY + 1, '3', null]) {
      assert.throws(
        () => new Channel(bad as number),
        (err: unknown) => isSbmpError(err, 'bad_config') && err.details?.option === 'capacity',
        String(bad),
      );
    }
  });
});

describe('Channel without waiting (trySend/tryRecv)', () => {
  it('behaves like a bounded FIFO array, through ring wrap-around and growth', () => {
    const op = fc.oneof(fc.integer({ min: 0, max: 999 }), fc.constant('recv' as const));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.array(op, { maxLength: 300 }), (capacity, ops) => {
        const ch = new Channel<number>(capacity);
        const model: number[] = [];
        for (const o of ops) {
          if (o === 'recv') {
            const got = ch.tryRecv();
            const expected = model.shift();
            assert.deepEqual(got, expected === undefined ? undefined : { value: expected, ok: true });
          } else {
            assert.equal(ch.trySend(o), model.length < capacity);
            if (model.length < capacity) model.push(o);
          }
          assert.equal(ch.length, model.length);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('grows a large buffer on demand and keeps order', () => {
    const ch = new Channel<number>(5000);
    for (let i = 0; i < 5000; i++) assert.ok(ch.trySend(i));
    assert.equal(ch.trySend(5000), false);
    for (let i = 0; i < 5000; i++) assert.equal(ch.tryRecv()?.value, i);
    assert.equal(ch.tryRecv(), undefined);
  });

  it('unbuffered trySend succeeds only when a receiver is waiting', async () => {
    const ch = new Channel<string>();
    assert.equal(ch.trySend('nobody'), false);
    const received = ch.recv();
    assert.equal(ch.receiversWaiting, 1);
    assert.equal(ch.trySend('a'), true);
    assert.deepEqual(await within(received), { value: 'a', ok: true });
    assert.equal(ch.receiversWaiting, 0);
  });
});

describe('Channel FIFO with waiting', () => {
  it('one sender, one receiver: values come out in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 8 }),
        fc.array(fc.integer(), { maxLength: 100 }),
        async (cap, values) => {
          const ch = new Channel<number>(cap);
          const sending = (async () => {
            for (const v of values) await ch.send(v);
            ch.close();
          })();
          const received: number[] = [];
          for await (const v of ch) received.push(v);
          await within(sending);
          assert.deepEqual(received, values);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('many senders and receivers: each value exactly once, each sender in its order', async () => {
    const SENDERS = 8;
    const PER_SENDER = 200;
    const RECEIVERS = 5;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 8 }), fc.integer(), async (cap, seed) => {
        const random = seededRandom(seed);
        const ch = new Channel<number>(cap);
        const log: number[] = [];
        const senders = Array.from({ length: SENDERS }, async (_, s) => {
          for (let i = 0; i < PER_SENDER; i++) {
            const value = s * PER_SENDER + i;
            // Mix the synchronous path with the waiting one.
            if (random() < 0.5 && ch.trySend(value)) continue;
            await ch.send(value);
          }
        });
        const receivers = Array.from({ length: RECEIVERS }, async () => {
          for (let n = 0; n < SENDERS * PER_SENDER + 1; n++) {
            const ready = random() < 0.5 ? ch.tryRecv() : undefined;
            // Awaited either way, so the log records values in the order the channel handed them out.
            const result = await (ready ?? ch.recv());
            if (!result.ok) return;
            log.push(result.value);
          }
        });
        await within(Promise.all(senders), 10_000, 'senders');
        ch.close();
        await within(Promise.all(receivers), 10_000, 'receivers');

        assert.equal(log.length, SENDERS * PER_SENDER, 'no loss');
        assert.equal(new Set(log).size, log.length, 'no duplicate');
        const lastSeen = new Array<number>(SENDERS).fill(-1);
        for (const v of log) {
          const s = Math.floor(v / PER_SENDER);
          assert.ok(v > (lastSeen[s] as number), `sender ${s} out of order at ${v}`);
          lastSeen[s] = v;
        }
        assert.equal(ch.sendersWaiting + ch.receiversWaiting, 0);
      }),
      { numRuns: 20 },
    );
  });
});

describe('Channel waiting', () => {
  it('unbuffered send does not resolve until a receiver took the value', async () => {
    const ch = new Channel<number>();
    const sent = ch.send(1);
    assert.equal(await stateOf(sent), 'pending');
    assert.equal(ch.sendersWaiting, 1);
    assert.deepEqual(await within(ch.recv()), { value: 1, ok: true });
    assert.equal(await stateOf(sent), 'resolved');
  });

  it('buffered send waits while full; a receive moves the blocked value into the buffer', async () => {
    const ch = new Channel<number>(2);
    await within(ch.send(1));
    await within(ch.send(2));
    const third = ch.send(3);
    assert.equal(await stateOf(third), 'pending');
    assert.equal(ch.length, 2);
    assert.deepEqual(ch.tryRecv(), { value: 1, ok: true });
    assert.equal(await stateOf(third), 'resolved');
    assert.equal(ch.length, 2);
    assert.deepEqual([ch.tryRecv()?.value, ch.tryRecv()?.value, ch.tryRecv()], [2, 3, undefined]);
  });

  it('a waiting receiver gets the next send directly', async () => {
    const ch = new Channel<number>(4);
    const first = ch.recv();
    const second = ch.recv();
    assert.equal(ch.receiversWaiting, 2);
    await within(ch.send(7));
    await within(ch.send(8));
    assert.deepEqual(await within(first), { value: 7, ok: true });
    assert.deepEqual(await within(second), { value: 8, ok: true });
    assert.equal(ch.length, 0);
  });
});

describe('Channel close', () => {
  it('receivers drain the buffer, then get ok:false', async () => {
    const ch = new Channel<string>(3);
    ch.trySend('a');
    ch.trySend('b');
    ch.close();
    assert.equal(ch.closed, true);
    assert.deepEqual(await within(ch.recv()), { value: 'a', ok: true });
    assert.deepEqual(ch.tryRecv(), { value: 'b', ok: true });
    assert.deepEqual(await within(ch.recv()), { value: undefined, ok: false });
    assert.deepEqual(ch.tryRecv(), { value: undefined, ok: false });
  });

  it('send and trySend after close fail with closed', async () => {
    const ch = new Channel<number>(1);
    ch.close();
    await rejectsWithCode(ch.send(1), 'closed');
    throwsCode(() => ch.trySend(1), 'closed');
  });

  it('rejects blocked senders and resolves blocked receivers with ok:false', async () => {
    const full = new Channel<number>(1);
    full.trySend(0);
    const blockedSends = [full.send(1), full.send(2)];
    full.close();
    for (const p of blockedSends) await rejectsWithCode(p, 'closed');
    assert.deepEqual(full.tryRecv(), { value: 0, ok: true }, 'the buffered value survives');
    assert.deepEqual(full.tryRecv(), { value: undefined, ok: false }, 'blocked values are not delivered');

    const empty = new Channel<number>();
    const blockedRecvs = [empty.recv(), empty.recv()];
    empty.close();
    for (const p of blockedRecvs) assert.deepEqual(await within(p), { value: undefined, ok: false });
    assert.equal(empty.sendersWaiting + empty.receiversWaiting + full.sendersWaiting, 0);
  });

  it('throws closed on a second close', () => {
    const ch = new Channel();
    ch.close();
    throwsCode(() => ch.close(), 'closed');
  });

  it('async iteration ends when closed and drained', async () => {
    const ch = new Channel<number>(10);
    for (let i = 0; i < 5; i++) ch.trySend(i);
    const seen: number[] = [];
    const iterating = (async () => {
      for await (const v of ch) seen.push(v);
    })();
    assert.equal(await stateOf(iterating), 'pending', 'waits for more while open');
    ch.close();
    await within(iterating);
    assert.deepEqual(seen, [0, 1, 2, 3, 4]);
  });

  it('breaking out of iteration neither closes the channel nor leaves a receiver behind', async () => {
    const ch = new Channel<number>(10);
    for (let i = 0; i < 5; i++) ch.trySend(i);
    for await (const v of ch) if (v === 1) break;
    assert.equal(ch.closed, false);
    assert.equal(ch.receiversWaiting, 0);
    assert.deepEqual(ch.tryRecv(), { value: 2, ok: true });
  });
});
