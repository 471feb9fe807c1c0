import assert from 'node:assert/strict';
import { setMaxListeners } from 'node:events';
import { describe, it } from 'node:test';
import { expectTypeOf } from 'expect-type';
import fc from 'fast-check';
import { Channel } from '../../src/core/channel.js';
import { isSbmpError } from '../../src/core/errors.js';
import { MAX_SELECT_TIMEOUT_MS, type SelectCase, select } from '../../src/core/select.js';
import { rejectsWithCode, seededRandom, stateOf, within } from './channel-helpers.js';

describe('select with ready cases', () => {
  it('performs the ready case at once, never a case that is not ready', async () => {
    for (let i = 0; i < 50; i++) {
      const idle = new Channel<number>(1);
      const ready = new Channel<string>(1);
      ready.trySend('x');
      const outcome = await within(
        select([idle.recvCase(), ready.recvCase(), idle.sendCase(1)], { nonBlocking: false }),
      );
      // idle.sendCase is ready too (buffer has room): either it or the receive fired, exactly one.
      if (outcome.index === 1) {
        assert.deepEqual(outcome, { index: 1, kind: 'recv', value: 'x', ok: true });
        assert.equal(idle.length, 0);
      } else {
        assert.deepEqual(outcome, { index: 2, kind: 'send' });
        assert.equal(idle.length, 1);
        assert.equal(ready.length, 1);
      }
    }
    const a = new Channel<number>();
    const b = new Channel<number>(1);
    b.trySend(5);
    assert.deepEqual(await within(select([a.recvCase(), b.recvCase()])), {
      index: 1,
      kind: 'recv',
      value: 5,
      ok: true,
    });
  });

  it('a receive on a closed, drained channel is ready with ok:false', async () => {
    const open = new Channel<number>();
    const closed = new Channel<number>();
    closed.close();
    const outcome = await within(select([open.recvCase(), closed.recvCase()]));
    assert.deepEqual(outcome, { index: 1, kind: 'recv', value: undefined, ok: false });
    assert.equal(open.receiversWaiting, 0);
  });

  it('a send to a waiting receiver is ready', async () => {
    const ch = new Channel<string>();
    const receiving = ch.recv();
    assert.deepEqual(await within(select([ch.sendCase('hi')])), { index: 0, kind: 'send' });
    assert.deepEqual(await within(receiving), { value: 'hi', ok: true });
  });

  it('chooses fairly among ready cases', async () => {
    const RUNS = 2000;
    const a = new Channel<number>(1);
    const b = new Channel<number>(1);
    const c = new Channel<number>(1);
    a.trySend(0);
    b.trySend(0);
    const counts = [0, 0, 0];
    for (let i = 0; i < RUNS; i++) {
      const { index } = await select([a.recvCase(), b.recvCase(), c.recvCase()]);
      counts[index] = (counts[index] as number) + 1;
      // Refill the channel that was read, so a and b stay ready and c never is.
      (index === 0 ? a : b).trySend(i);
    }
    assert.equal(counts[2], 0);
    for (const n of counts.slice(0, 2)) assert.ok(n >= RUNS * 0.4 && n <= RUNS * 0.6, `counts ${counts}`);
  });
});

describe('select waiting', () => {
  it('a losing receive case takes nothing', async () => {
    const a = new Channel<number>();
    const b = new Channel<number>();
    const selecting = select([a.recvCase(), b.recvCase()]);
    assert.equal(await stateOf(selecting), 'pending');
    assert.equal(a.receiversWaiting + b.receiversWaiting, 2);
    assert.equal(b.trySend(2), true);
    assert.deepEqual(await within(selecting), { index: 1, kind: 'recv', value: 2, ok: true });
    assert.equal(a.receiversWaiting, 0);
    assert.equal(a.trySend(1), false, 'no dead select case takes the value');
  });

  it('a losing send case delivers nothing', async () => {
    const a = new Channel<string>();
    const b = new Channel<string>();
    const selecting = select([a.sendCase('to a'), b.sendCase('to b')]);
    assert.equal(await stateOf(selecting), 'pending');
    assert.deepEqual(await within(b.recv()), { value: 'to b', ok: true });
    assert.deepEqual(await within(selecting), { index: 1, kind: 'send' });
    assert.equal(a.sendersWaiting, 0);
    assert.equal(a.tryRecv(), undefined);
  });

  it('a blocked send case fires when a buffered channel gets room', async () => {
    const ch = new Channel<number>(1);
    ch.trySend(1);
    const selecting = select([ch.sendCase(2)]);
    assert.equal(await stateOf(selecting), 'pending');
    assert.deepEqual(ch.tryRecv(), { value: 1, ok: true });
    assert.deepEqual(await within(selecting), { index: 0, kind: 'send' });
    assert.deepEqual(ch.tryRecv(), { value: 2, ok: true });
  });

  it('closing a channel resolves a waiting receive case with ok:false', async () => {
    const a = new Channel<number>();
    const b = new Channel<number>();
    const selecting = select([a.recvCase(), b.recvCase()]);
    b.close();
    assert.deepEqual(await within(selecting), { index: 1, kind: 'recv', value: undefined, ok: false });
    assert.equal(a.receiversWaiting, 0);
  });

  it('a send case on a closed channel rejects with closed, now or while waiting', async () => {
    const closed = new Channel<number>(1);
    closed.close();
    await assert.rejects(
      select([new Channel<number>().recvCase(), closed.sendCase(1)]),
      (err: unknown) => isSbmpError(err, 'closed') && err.details?.index === 1,
    );
    const other = new Channel<number>();
    const ch = new Channel<number>();
    const selecting = select([other.recvCase(), ch.sendCase(1)]);
    assert.equal(await stateOf(selecting), 'pending');
    ch.close();
    await rejectsWithCode(selecting, 'closed');
    assert.equal(other.receiversWaiting, 0);
  });

  it('handles two cases on one channel', async () => {
    const ch = new Channel<number>();
    const selecting = select([ch.recvCase(), ch.recvCase()]);
    assert.equal(ch.receiversWaiting, 2);
    await within(ch.send(9));
    assert.deepEqual(await within(selecting), { index: 0, kind: 'recv', value: 9, ok: true });
    assert.equal(ch.receiversWaiting, 0);
    assert.equal(ch.trySend(1), false);
  });
});

describe('select timeout, abort and nonBlocking', () => {
  it('resolves kind timeout and withdraws its cases', async () => {
    const ch = new Channel<number>();
    const outcome = await within(select([ch.recvCase(), ch.sendCase(1)], { timeoutMs: 5 }));
    assert.deepEqual(outcome, { index: -1, kind: 'timeout' });
    assert.equal(ch.receiversWaiting + ch.sendersWaiting, 0);
    assert.equal(ch.trySend(1), false);
  });

  it('lets a ready case win over timeoutMs 0', async () => {
    const ch = new Channel<number>(1);
    ch.trySend(3);
    assert.deepEqual(await within(select([ch.recvCase()], { timeoutMs: 0 })), {
      index: 0,
      kind: 'recv',
      value: 3,
      ok: true,
    });
    assert.deepEqual(await within(select([ch.recvCase()], { timeoutMs: 0 })), { index: -1, kind: 'timeout' });
  });

  it('rejects with aborted on abort and leaves no waiter behind', async () => {
    const ch = new Channel<string>();
    const controller = new AbortController();
    const selecting = select([ch.recvCase()], { signal: controller.signal });
    assert.equal(await stateOf(selecting), 'pending');
    controller.abort(new Error('stop'));
    await assert.rejects(
      within(selecting),
      (err: unknown) => isSbmpError(err, 'aborted') && (err.cause as Error).message === 'stop',
    );
    assert.equal(ch.receiversWaiting, 0);
    const realReceiver = ch.recv();
    await within(ch.send('for the real receiver'));
    assert.deepEqual(await within(realReceiver), { value: 'for the real receiver', ok: true });
  });

  it('an already aborted signal rejects without committing a ready case', async () => {
    const ch = new Channel<number>(1);
    ch.trySend(1);
    await rejectsWithCode(select([ch.recvCase()], { signal: AbortSignal.abort() }), 'aborted');
    assert.equal(ch.length, 1);
  });

  it('many withdrawn selects do not accumulate on a channel', async () => {
    const ch = new Channel<number>();
    const other = new Channel<number>();
    for (let round = 0; round < 3; round++) {
      const controller = new AbortController();
      setMaxListeners(1000, controller.signal);
      const pending = Array.from({ length: 500 }, () =>
        select([ch.recvCase(), other.sendCase(1)], { signal: controller.signal }).catch(
          (err: unknown) => err,
        ),
      );
      assert.equal(ch.receiversWaiting, 500);
      controller.abort();
      for (const err of await within(Promise.all(pending))) assert.ok(isSbmpError(err, 'aborted'));
      assert.equal(ch.receiversWaiting + other.sendersWaiting, 0);
    }
    assert.equal(ch.trySend(1), false);
    assert.equal(other.tryRecv(), undefined);
  });

  it('nonBlocking resolves kind default when nothing is ready, else performs a ready case', async () => {
    const ch = new Channel<number>();
    assert.deepEqual(await within(select([ch.recvCase(), ch.sendCase(1)], { nonBlocking: true })), {
      index: -1,
      kind: 'default',
    });
    assert.equal(ch.receiversWaiting + ch.sendersWaiting, 0);
    const buffered = new Channel<number>(1);
    assert.deepEqual(await within(select([ch.recvCase(), buffered.sendCase(4)], { nonBlocking: true })), {
      index: 1,
      kind: 'send',
    });
    assert.equal(buffered.length, 1);
  });

  it('refuses bad arguments with bad_request', async () => {
    const ch = new Channel<number>();
    const bad: [unknown, unknown][] = [
      [[ch.recvCase()], { timeoutMs: -1 }],
      [[ch.recvCase()], { timeoutMs: Number.NaN }],
      [[ch.recvCase()], { timeoutMs: MAX_SELECT_TIMEOUT_MS + 1 }],
      [[ch.recvCase()], { timeoutMs: 5, nonBlocking: true }],
      [[ch.recvCase()], { signal: {} }],
      [[{ kind: 'recv', channel: {} }], {}],
      [[null], {}],
      [[], {}],
      ['not cases', {}],
    ];
    for (const [cases, options] of bad) {
      await rejectsWithCode(select(cases as SelectCase[], options as object), 'bad_request');
    }
    assert.equal(ch.receiversWaiting, 0);
    assert.deepEqual(await within(select([], { timeoutMs: 1 })), { index: -1, kind: 'timeout' });
  });
});

describe('select commits exactly one operation', () => {
  it('conserves every value across racing selects, timeouts and aborts', async () => {
    const CHANNELS = 3;
    const PRODUCERS = 6;
    const SENDS_EACH = 40;
    const CONSUMERS = 4;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: CHANNELS, maxLength: CHANNELS }),
        fc.integer(),
        async (capacities, seed) => {
          const random = seededRandom(seed);
          const channels = capacities.map((cap) => new Channel<number>(cap));
          const pick = (): Channel<number>[] => {
            const chosen = channels.filter(() => random() < 0.6);
            return chosen.length > 0
              ? chosen
              : [channels[Math.floor(random() * CHANNELS)] as Channel<number>];
          };
          const committed: number[] = [];
          const received: number[] = [];
          let withdrawn = 0;

          const producers = Array.from({ length: PRODUCERS }, async (_, p) => {
            for (let i = 0; i < SENDS_EACH; i++) {
              const targets = pick();
              // A unique token per case: only the winning case's token may ever be received.
              const tokens = targets.map((_, t) => (p * SENDS_EACH + i) * CHANNELS + t);
              const cases = targets.map((ch, t) => ch.sendCase(tokens[t] as number));
              const mode = random();
              const controller = new AbortController();
              const selecting =
                mode < 0.15 ? select(cases, { timeoutMs: 1 }) : select(cases, { signal: controller.signal });
              if (mode > 0.9) queueMicrotask(() => controller.abort());
              const outcome = await selecting.catch((err: unknown) => {
                assert.ok(isSbmpError(err, 'aborted'), String(err));
                return undefined;
              });
              if (outcome === undefined || outcome.kind === 'timeout') withdrawn++;
              else committed.push(tokens[outcome.index] as number);
            }
          });

          const stop = new AbortController();
          const consumers = Array.from({ length: CONSUMERS }, async () => {
            // Every wait is bounded, so a consumer re-picks its channels: a consumer blocked for
            // good on channels no remaining producer targets would deadlock the test, not select.
            // Consumers run until the producers are done (bounded by the count and `within`).
            for (let n = 0; n < 1_000_000 && !stop.signal.aborted; n++) {
              const from = pick();
              const options = { timeoutMs: random() < 0.2 ? 1 : 10, signal: stop.signal };
              const outcome = await select(
                from.map((ch) => ch.recvCase()),
                options,
              ).catch((err: unknown) => {
                assert.ok(isSbmpError(err, 'aborted'), String(err));
                return undefined;
              });
              if (outcome === undefined) return;
              if (outcome.kind === 'recv' && outcome.ok) received.push(outcome.value);
            }
          });

          await within(Promise.all(producers), 20_000, 'producers');
          stop.abort();
          await within(Promise.all(consumers), 20_000, 'consumers');
          for (const ch of channels) {
            for (let r = ch.tryRecv(); r?.ok; r = ch.tryRecv()) received.push(r.value);
            assert.equal(ch.sendersWaiting + ch.receiversWaiting, 0, 'no waiter left behind');
          }

          assert.equal(committed.length + withdrawn, PRODUCERS * SENDS_EACH);
          assert.equal(new Set(received).size, received.length, 'no value received twice');
          assert.deepEqual(
            [...received].sort((x, y) => x - y),
            [...committed].sort((x, y) => x - y),
            'received exactly the committed sends',
          );
        },
      ),
      { numRuns: 15 },
    );
  });
});

describe('select types', () => {
  it('narrows the value by the index of the case that fired', () => {
    const numbers = new Channel<number>();
    const words = new Channel<string>();
    type Outcome = Awaited<ReturnType<typeof selectBoth>>;
    const selectBoth = () => select([numbers.recvCase(), words.sendCase('w')]);
    expectTypeOf<Extract<Outcome, { index: 0; ok: true }>['value']>().toEqualTypeOf<number>();
    expectTypeOf<Extract<Outcome, { index: 1 }>>().toEqualTypeOf<{
      readonly index: 1;
      readonly kind: 'send';
    }>();
    expectTypeOf<Outcome['index']>().toEqualTypeOf<0 | 1>();
    const withTimeout = () => select([numbers.recvCase()], { timeoutMs: 1 });
    expectTypeOf<Awaited<ReturnType<typeof withTimeout>>['kind']>().toEqualTypeOf<'recv' | 'timeout'>();
    const nonBlocking = () => select([numbers.recvCase()], { nonBlocking: true });
    expectTypeOf<Awaited<ReturnType<typeof nonBlocking>>['kind']>().toEqualTypeOf<'recv' | 'default'>();
    // @ts-expect-error a send case takes the channel's element type
    numbers.sendCase('not a number');
  });
});
