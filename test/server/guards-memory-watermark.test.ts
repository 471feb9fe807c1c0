import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { isSbmpError } from '../../src/core/errors.js';
import { parseByteSize } from '../../src/server/guards/byte-size.js';
import { resolveMemoryLimit } from '../../src/server/guards/memory-limit.js';
import type { WatermarkChange, WatermarkState } from '../../src/server/guards/memory-watermark.js';
import {
  DEFAULT_WATERMARK_THRESHOLDS,
  MemoryWatermark,
  nextWatermarkState,
} from '../../src/server/guards/memory-watermark.js';
import { throwsCode, within } from '../store/helpers.js';

const MiB = 1024 * 1024;

function throwsBadOption(fn: () => unknown, option: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isSbmpError(err, 'bad_config'), String(err));
    assert.equal(err.details?.option, option);
    assert.match(err.message, new RegExp(`options\\.${option}`));
    return true;
  });
}

/** A sample function that returns `values` in order, then keeps returning the last one. */
function sequence(values: readonly number[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)]!;
}

function overloaded(fn: () => void): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isSbmpError(err, 'overloaded'), String(err));
    assert.equal(err.status, 503);
    assert.equal(err.retryable, true);
    assert.ok((err.details?.retryAfterMs as number) >= 1000);
    return true;
  });
}

describe('parseByteSize', () => {
  test('reads decimal and binary units, case ignored', () => {
    assert.equal(parseByteSize('512MB', 'memory limit'), 512e6);
    assert.equal(parseByteSize('1GiB', 'memory limit'), 1024 ** 3);
    assert.equal(parseByteSize('1.5kib', 'memory limit'), 1536);
    assert.equal(parseByteSize(' 65536 ', 'memory limit'), 65536);
    assert.equal(parseByteSize('2t', 'memory limit'), 2e12);
  });

  test('refuses anything else with bad_config naming the option', () => {
    for (const text of ['', 'MB', '12 potatoes', '-1MB', '0', '0.1', '1e3', '99999999PB', '1.MB']) {
      assert.throws(
        () => parseByteSize(text, '--memory-limit'),
        (err: unknown) => isSbmpError(err, 'bad_config') && err.details?.option === '--memory-limit',
        text,
      );
    }
    throwsCode(() => parseByteSize(12 as unknown as string, 'x'), 'bad_config');
  });
});

describe('resolveMemoryLimit', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'sbmp-cgroup-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function cgroupDir(name: string, v2: string | undefined, v1: string | undefined): Promise<string> {
    const dir = join(root, name);
    await mkdir(join(dir, 'memory'), { recursive: true });
    if (v2 !== undefined) await writeFile(join(dir, 'memory.max'), v2);
    if (v1 !== undefined) await writeFile(join(dir, 'memory', 'memory.limit_in_bytes'), v1);
    return dir;
  }

  test('an explicit limit wins, as bytes or as a size text', async () => {
    const dir = await cgroupDir('explicit', '1048576\n', undefined);
    assert.deepEqual(resolveMemoryLimit({ limitBytes: 4096, cgroupRoot: dir }), {
      bytes: 4096,
      source: 'explicit',
    });
    assert.deepEqual(resolveMemoryLimit({ limitBytes: '1GiB', cgroupRoot: dir }), {
      bytes: 1024 ** 3,
      source: 'explicit',
    });
    throwsBadOption(() => resolveMemoryLimit({ limitBytes: 0 }), 'limitBytes');
    throwsBadOption(() => resolveMemoryLimit({ limitBytes: 1.5 }), 'limitBytes');
    throwsCode(() => resolveMemoryLimit({ limitBytes: 'lots' }), 'bad_config');
  });

  test('cgroup v2 memory.max, then v1 memory.limit_in_bytes', async () => {
    const v2 = await cgroupDir('v2', '536870912\n', '1048576\n');
    assert.deepEqual(resolveMemoryLimit({ cgroupRoot: v2 }), { bytes: 536870912, source: 'cgroup-v2' });
    const v1 = await cgroupDir('v1', 'max\n', '268435456\n');
    assert.deepEqual(resolveMemoryLimit({ cgroupRoot: v1 }), { bytes: 268435456, source: 'cgroup-v1' });
    const v1only = await cgroupDir('v1only', undefined, '268435456\n');
    assert.deepEqual(resolveMemoryLimit({ cgroupRoot: v1only }), { bytes: 268435456, source: 'cgroup-v1' });
  });

  test("'max', absurd values and garbage mean no cgroup limit: the V8 heap limit is used", async () => {
    const heap = { bytes: getHeapStatistics().heap_size_limit, source: 'v8-heap' };
    const unlimited = await cgroupDir('unlimited', 'max\n', '9223372036854771712\n');
    assert.deepEqual(resolveMemoryLimit({ cgroupRoot: unlimited }), heap);
    const garbage = await cgroupDir('garbage', 'lots\n', '-5\n');
    assert.deepEqual(resolveMemoryLimit({ cgroupRoot: garbage }), heap);
    const zero = await cgroupDir('zero', '0\n', undefined);
    assert.deepEqual(resolveMemoryLimit({ cgroupRoot: zero }), heap);
    assert.deepEqual(resolveMemoryLimit({ cgroupRoot: join(root, 'absent') }), heap);
  });
});

describe('nextWatermarkState', () => {
  const t = DEFAULT_WATERMARK_THRESHOLDS;

  test('escalates at the thresholds and recovers only below recoverBelow', () => {
    const cases: Array<[WatermarkState, number, WatermarkState]> = [
      ['normal', 0.5, 'normal'],
      ['normal', 0.8, 'normal'],
      ['normal', 0.85, 'shedding'],
      ['normal', 0.92, 'critical'],
      ['shedding', 0.8, 'shedding'],
      ['shedding', 0.75, 'shedding'],
      ['shedding', 0.7499, 'normal'],
      ['shedding', 0.95, 'critical'],
      ['critical', 0.9, 'critical'],
      ['critical', 0.8, 'critical'],
      ['critical', 0.74, 'normal'],
      ['normal', 1.3, 'critical'],
    ];
    for (const [from, ratio, to] of cases)
      assert.equal(nextWatermarkState(from, ratio, t), to, `${from} at ${ratio}`);
  });

  test('property: the state follows the thresholds and holds inside the hysteresis band', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1.2, noNaN: true }), { maxLength: 50 }), (ratios) => {
        let state: WatermarkState = 'normal';
        for (const ratio of ratios) {
          const next = nextWatermarkState(state, ratio, t);
          if (ratio >= t.refusePublishesAt) assert.equal(next, 'critical');
          else if (ratio < t.recoverBelow) assert.equal(next, 'normal');
          else if (ratio < t.shedAt) assert.equal(next, state);
          else assert.equal(next, state === 'normal' ? 'shedding' : state);
          state = next;
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('MemoryWatermark', () => {
  test('validates its options up front, naming the option', () => {
    throwsBadOption(() => new MemoryWatermark({ limitBytes: 1000, shedAt: 1.5 }), 'shedAt');
    throwsBadOption(() => new MemoryWatermark({ limitBytes: 1000, shedAt: 0 }), 'shedAt');
    throwsBadOption(
      () => new MemoryWatermark({ limitBytes: 1000, refusePublishesAt: 0.8 }),
      'refusePublishesAt',
    );
    throwsBadOption(() => new MemoryWatermark({ limitBytes: 1000, recoverBelow: 0.9 }), 'recoverBelow');
    throwsBadOption(
      () => new MemoryWatermark({ limitBytes: 1000, recoverBelow: Number.NaN }),
      'recoverBelow',
    );
    throwsBadOption(() => new MemoryWatermark({ limitBytes: 1000, intervalMs: 0 }), 'intervalMs');
    throwsBadOption(
      () => new MemoryWatermark({ limitBytes: 1000, sample: 5 as unknown as () => number }),
      'sample',
    );
    throwsCode(() => new MemoryWatermark({ limitBytes: '12 potatoes' }), 'bad_config');
  });

  test('defaults: RSS against the resolved limit, thresholds 0.85 / 0.92 / 0.75', () => {
    const watermark = new MemoryWatermark();
    const figures = watermark.figures();
    assert.equal(figures.shedAt, 0.85);
    assert.equal(figures.refusePublishesAt, 0.92);
    assert.equal(figures.recoverBelow, 0.75);
    assert.ok(['cgroup-v2', 'cgroup-v1', 'v8-heap'].includes(figures.limitSource));
    assert.ok(figures.usageBytes > 0 && figures.limitBytes > 0);
    assert.equal(figures.ratio, figures.usageBytes / figures.limitBytes);
  });

  test('follows an injected sample sequence with hysteresis and refuses by state', () => {
    const watermark = new MemoryWatermark({
      limitBytes: 1000,
      sample: sequence([500, 800, 850, 900, 800, 920, 800, 760, 749, 800]),
    });
    const changes: WatermarkChange[] = [];
    watermark.onChange((change) => changes.push(change));
    assert.equal(watermark.state, 'normal');
    assert.equal(watermark.ratio, 0.5);
    watermark.admitConnection();
    watermark.admitSubscription();
    watermark.admitPublish();

    const expected: WatermarkState[] = ['normal', 'shedding', 'shedding', 'shedding', 'critical', 'critical'];
    expected.push('critical', 'normal', 'normal');
    const seen = expected.map(() => watermark.check());
    assert.deepEqual(seen, expected);
    assert.deepEqual(
      changes.map((c) => [c.from, c.to, c.usageBytes]),
      [
        ['normal', 'shedding', 850],
        ['shedding', 'critical', 920],
        ['critical', 'normal', 749],
      ],
    );
    assert.equal(changes[1]!.ratio, 0.92);
  });

  test('shedding refuses connections and subscriptions; critical refuses publishes too', () => {
    const watermark = new MemoryWatermark({ limitBytes: 1000, sample: sequence([100, 860, 930, 100]) });
    watermark.check();
    assert.equal(watermark.state, 'shedding');
    overloaded(() => watermark.admitConnection());
    overloaded(() => watermark.admitSubscription());
    watermark.admitPublish();
    watermark.check();
    assert.equal(watermark.state, 'critical');
    overloaded(() => watermark.admitConnection());
    overloaded(() => watermark.admitPublish());
    watermark.check();
    watermark.admitConnection();
    watermark.admitPublish();
  });

  test('a bad sample is internal and keeps the state; a throwing listener does not silence the others', () => {
    const watermark = new MemoryWatermark({ limitBytes: 1000, sample: sequence([900, Number.NaN, 100]) });
    assert.equal(watermark.state, 'shedding');
    throwsCode(() => watermark.check(), 'internal');
    assert.equal(watermark.state, 'shedding');
    const heard: WatermarkState[] = [];
    watermark.onChange(() => {
      throw new Error('listener bug');
    });
    const remove = watermark.onChange((change) => heard.push(change.to));
    assert.throws(() => watermark.check(), /listener bug/);
    assert.equal(watermark.state, 'normal');
    assert.deepEqual(heard, ['normal']);
    remove();
  });

  test('start() samples on its interval until stop()', async () => {
    let usage = 100;
    const watermark = new MemoryWatermark({ limitBytes: 1000, intervalMs: 5, sample: () => usage });
    const changed = new Promise<WatermarkChange>((resolve) => watermark.onChange(resolve));
    watermark.start();
    watermark.start();
    usage = 950;
    try {
      const change = await within(changed, 5000, 'the timer to see the rise');
      assert.equal(change.to, 'critical');
    } finally {
      watermark.stop();
    }
    usage = 100;
    // Stopped: only an explicit check sees the fall.
    assert.equal(watermark.state, 'critical');
    assert.equal(watermark.check(), 'normal');
  });

  test('with a real limit, real allocations flip it and releasing them recovers it', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const baseline = process.memoryUsage.rss();
    // Shedding 64 MiB above today's RSS; critical ~77 MiB above; normal again below ~+45 MiB.
    const limitBytes = Math.round((baseline + 64 * MiB) / 0.85);
    const watermark = new MemoryWatermark({ limitBytes, intervalMs: 20 });
    assert.equal(watermark.state, 'normal');

    const held: Buffer[] = [];
    const states = new Set<WatermarkState>();
    for (let i = 0; i < 256 && !states.has('critical'); i++) {
      held.push(Buffer.allocUnsafe(MiB).fill(i)); // filled, so the pages are really resident
      states.add(watermark.check());
    }
    assert.equal(watermark.state, 'critical', `RSS ${process.memoryUsage.rss()} of limit ${limitBytes}`);
    assert.ok(states.has('shedding'), 'passed through shedding on the way up');
    overloaded(() => watermark.admitPublish());

    const recovered = new Promise<WatermarkChange>((resolve) => watermark.onChange(resolve));
    held.length = 0;
    const collector = setInterval(gc, 20);
    watermark.start();
    try {
      const change = await within(recovered, 10_000, 'RSS to fall after releasing the buffers');
      assert.deepEqual([change.from, change.to], ['critical', 'normal']);
      watermark.admitConnection();
      watermark.admitPublish();
    } finally {
      watermark.stop();
      clearInterval(collector);
    }
  });
});
