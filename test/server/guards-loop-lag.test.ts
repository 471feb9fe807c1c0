import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSbmpError } from '../../src/core/errors.js';
import { LoopLag } from '../../src/server/guards/loop-lag.js';
import { rejectsCode, within } from '../store/helpers.js';

/** Blocks the event loop for `ms`, as a long synchronous task would. */
function busyWait(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

describe('LoopLag', () => {
  test('validates its options, naming the option', () => {
    for (const [options, option] of [
      [{ resolutionMs: 0 }, 'resolutionMs'],
      [{ probeIntervalMs: 1.5 }, 'probeIntervalMs'],
    ] as const) {
      assert.throws(
        () => new LoopLag(options),
        (err: unknown) => isSbmpError(err, 'bad_config') && err.details?.option === option,
      );
    }
  });

  test('is all zeros before start() and after stop()', async () => {
    const lag = new LoopLag();
    assert.deepEqual(lag.snapshot(), { currentMs: 0, meanMs: 0, p50Ms: 0, p99Ms: 0, maxMs: 0, samples: 0 });
    await rejectsCode(lag.nextSample(), 'closed');
    lag.start();
    assert.equal(lag.running, true);
    const pending = lag.nextSample();
    lag.stop();
    await rejectsCode(pending, 'closed');
    assert.equal(lag.running, false);
    assert.equal(lag.snapshot().samples, 0);
  });

  test('an idle loop shows little lag', async () => {
    const lag = new LoopLag({ resolutionMs: 10, probeIntervalMs: 20 });
    lag.start();
    try {
      for (let i = 0; i < 5; i++) await within(lag.nextSample(), 5000, 'a probe');
      const figures = lag.snapshot();
      assert.ok(figures.samples > 0);
      // Generous: the machine is shared, but an idle loop is nowhere near the 200 ms below.
      assert.ok(figures.p50Ms < 50, `p50 ${figures.p50Ms} ms`);
      assert.ok(figures.currentMs < 100, `current ${figures.currentMs} ms`);
    } finally {
      lag.stop();
    }
  });

  test('a loop blocked for 200 ms shows it in the current lag and the histogram', async () => {
    const lag = new LoopLag({ resolutionMs: 10, probeIntervalMs: 20 });
    lag.start();
    try {
      await within(lag.nextSample(), 5000, 'a first probe');
      const probed = lag.nextSample();
      busyWait(200);
      const currentMs = await within(probed, 5000, 'the probe after the block');
      assert.ok(currentMs >= 150, `current lag ${currentMs} ms`);
      // One more probe, so that the histogram's sampler has run after the block too.
      await within(lag.nextSample(), 5000, 'a probe after the block');
      const figures = lag.snapshot({ reset: true });
      assert.ok(figures.maxMs >= 150, `max ${figures.maxMs} ms`);
      assert.ok(figures.p99Ms >= 150, `p99 ${figures.p99Ms} ms`);
      assert.ok(figures.meanMs > 0 && figures.meanMs <= figures.maxMs);
      assert.ok(figures.p50Ms <= figures.p99Ms);

      // reset: a new window no longer holds the block.
      for (let i = 0; i < 3; i++) await within(lag.nextSample(), 5000, 'probes in the new window');
      const fresh = lag.snapshot();
      assert.ok(fresh.maxMs < 150, `max after reset ${fresh.maxMs} ms`);
    } finally {
      lag.stop();
    }
  });
});
