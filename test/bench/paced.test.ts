import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { BusPublisher } from '../../bench/net/bus.js';
import { newPublisherStats } from '../../bench/net/bus.js';
import { publishPaced, SharedClock } from '../../bench/net/paced.js';
import type { PayloadHeader } from '../../bench/net/payload.js';
import { readPayload } from '../../bench/net/payload.js';

interface Sent {
  readonly slot: number;
  readonly version: number;
  readonly header: PayloadHeader;
}

/** A publisher that records what it is given; `window` sends in a row, then one wait. */
function recordingPublisher(window: number): { publisher: BusPublisher; sent: Sent[] } {
  const sent: Sent[] = [];
  const stats = newPublisherStats();
  const publisher: BusPublisher = {
    stats,
    send(slot, version, payload) {
      const header = { intendedAt: 0, run: 0, seq: 0 };
      assert.ok(readPayload(payload, header));
      sent.push({ slot, version, header });
      stats.sent++;
      return sent.length % window === 0 ? Promise.resolve() : undefined;
    },
    flush: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  return { publisher, sent };
}

describe('paced publishing for the latency benchmark', () => {
  it('gives message i the due time start + i / rate, exactly, whether or not it was sent late', async () => {
    const { publisher, sent } = recordingPublisher(4);
    const clock = new SharedClock(SharedClock.here());
    const outcome = await publishPaced(
      publisher,
      { run: 7, count: 50, keys: 3, rate: 20_000, maxMs: 10_000 },
      clock,
    );
    assert.equal(outcome.published, 50);
    assert.equal(sent.length, 50);
    sent.forEach(({ slot, header }, i) => {
      assert.equal(slot, i % 3);
      assert.equal(header.run, 7);
      assert.equal(header.seq, i);
      assert.equal(header.intendedAt, outcome.startedAt + i * 0.05);
    });
    assert.ok(sent.every(({ version }, i) => i === 0 || version === sent[i - 1]!.version + 1));
    // Sent on the schedule, not all at once: the last one no earlier than the publisher's early
    // wake-up (50 µs, for the oversleep of Atomics.wait) before it was due.
    assert.ok(
      outcome.sentAt >= sent.at(-1)!.header.intendedAt - 0.1,
      'the last message was sent well before it was due',
    );
  });

  it('stops at maxMs with what it sent so far', async () => {
    const { publisher, sent } = recordingPublisher(1000);
    const clock = new SharedClock(SharedClock.here());
    const outcome = await publishPaced(
      publisher,
      { run: 1, count: 1_000_000, keys: 1, rate: 1000, maxMs: 30 },
      clock,
    );
    assert.equal(outcome.published, sent.length);
    assert.ok(sent.length > 0 && sent.length < 1000, `sent ${sent.length}`);
    assert.ok(
      outcome.sentLateMs.subarray(0, sent.length).every((late) => late >= 0),
      'a sent message is never early',
    );
    assert.ok(
      outcome.sentLateMs.subarray(sent.length).every(Number.isNaN),
      'unsent messages have no lateness',
    );
  });

  it('records how late each message left its due time: a thread held up makes the next ones late', async () => {
    const { publisher, sent } = recordingPublisher(1000);
    const heldUp: BusPublisher = {
      ...publisher,
      send(slot, version, payload) {
        const wait = publisher.send(slot, version, payload);
        // Message 3 (due at 30 ms, sent at most WAKE_EARLY_MS = 0.05 ms early) holds the thread
        // for 25 ms, so message 4 (due at 40 ms) leaves at 54.95 ms or later.
        if (sent.length === 4) {
          const until = performance.now() + 25;
          while (performance.now() < until);
        }
        return wait;
      },
    };
    const outcome = await publishPaced(
      heldUp,
      { run: 2, count: 6, keys: 1, rate: 100, maxMs: 10_000 },
      new SharedClock(SharedClock.here()),
    );
    assert.equal(outcome.published, 6);
    const late = outcome.sentLateMs;
    assert.ok(!late.some(Number.isNaN), 'every message sent has its lateness');
    assert.ok(late[4]! >= 14.9, `message 4 left ${late[4]} ms late`);
    // Message 5, overdue too, follows at once: later than its own due time by less than message 4
    // was, since it was due 10 ms after it. Measured from the run's start instead, it would be more.
    assert.ok(late[5]! < late[4]!, `message 5 left ${late[5]} ms late, message 4 ${late[4]} ms`);
  });

  it("reads the other thread's clock: a worker's reading falls between the two around it, to within 20 µs", async () => {
    const clockUrl = new URL('../../bench/net/paced.ts', import.meta.url).href;
    const tsx = import.meta.resolve('tsx/esm/api');
    const worker = new Worker(
      `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(clockUrl)}); })
        .then(({ SharedClock }) => {
          const { parentPort, workerData } = require('node:worker_threads');
          const clock = new SharedClock(workerData);
          parentPort.on('message', () => parentPort.postMessage(clock.now()));
          parentPort.postMessage('ready');
        });`,
      { eval: true, workerData: SharedClock.here() },
    );
    try {
      assert.equal((await once(worker, 'message'))[0], 'ready');
      // Each thread places its clock's origin to within half a microsecond or so (see
      // `SharedClock.here`), so a reading may land that far outside.
      const slackMs = 0.02;
      for (let i = 0; i < 20; i++) {
        const before = performance.now();
        worker.postMessage('now');
        const [reading] = (await once(worker, 'message')) as [number];
        const after = performance.now();
        assert.ok(
          before - slackMs <= reading && reading <= after + slackMs,
          `${before} <= ${reading} <= ${after}, give or take ${slackMs} ms`,
        );
      }
    } finally {
      await worker.terminate();
    }
  });
});
