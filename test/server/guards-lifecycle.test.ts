import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSbmpError, SbmpError } from '../../src/core/errors.js';
import type { LifecyclePhase, LifecycleStep } from '../../src/server/guards/lifecycle.js';
import { Lifecycle } from '../../src/server/guards/lifecycle.js';
import { rejectsCode, throwsCode, within } from '../store/helpers.js';

interface Context {
  readonly events: string[];
}

/** A step that records its start and stop in the context's event list. */
function recorder(name: string, extra: Partial<LifecycleStep<Context>> = {}): LifecycleStep<Context> {
  return {
    name,
    start: (ctx) => {
      ctx.events.push(`start ${name}`);
    },
    stop: (ctx) => {
      ctx.events.push(`stop ${name}`);
    },
    ...extra,
  };
}

/** Asserts `promise` rejects with `code` and returns the error. */
async function failure(promise: Promise<unknown>, code: string): Promise<SbmpError> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(isSbmpError(caught, code as SbmpError['code']), String(caught));
  return caught;
}

function never(): Promise<never> {
  return new Promise<never>(() => undefined);
}

describe('Lifecycle', () => {
  test('validates options and steps up front', () => {
    assert.throws(
      () => new Lifecycle({ startTimeoutMs: 0 }),
      (err: unknown) => isSbmpError(err, 'bad_config') && err.details?.option === 'startTimeoutMs',
    );
    assert.throws(
      () => new Lifecycle({ stopTimeoutMs: -5 }),
      (err: unknown) => isSbmpError(err, 'bad_config') && err.details?.option === 'stopTimeoutMs',
    );
    const lifecycle = new Lifecycle<Context>();
    lifecycle.addStep('pre-init', recorder('config'));
    throwsCode(() => lifecycle.addStep('pre-init', recorder('config')), 'bad_config');
    throwsCode(() => lifecycle.addStep('init' as LifecyclePhase, recorder('other')), 'bad_config');
    throwsCode(() => lifecycle.addStep('core-init', { name: '', start: () => undefined }), 'bad_config');
    throwsCode(() => lifecycle.addStep('core-init', { name: 'x' } as LifecycleStep<Context>), 'bad_config');
    throwsCode(() => lifecycle.onRuntimeReady(42 as unknown as () => void), 'bad_config');
  });

  test('runs phases and hooks in order, and shuts down in reverse', async () => {
    const lifecycle = new Lifecycle<Context>();
    // Added out of order on purpose: the phase decides, then the order within a phase.
    lifecycle.addStep('post-init', recorder('health'));
    lifecycle.addStep('core-init', recorder('store'));
    lifecycle.addStep('pre-init', recorder('config'));
    lifecycle.addStep('core-init', recorder('hub'));
    lifecycle.addStep('pre-init', recorder('metrics'));
    lifecycle.addStep('post-init', {
      name: 'heartbeat',
      start: (ctx) => void ctx.events.push('start heartbeat'),
    });
    lifecycle.onConfigLoaded((ctx) => void ctx.events.push('onConfigLoaded'));
    lifecycle.onServiceBound((ctx) => void ctx.events.push('onServiceBound'));
    lifecycle.onRuntimeReady((ctx) => void ctx.events.push('onRuntimeReady 1'));
    lifecycle.onRuntimeReady(async (ctx) => {
      await Promise.resolve();
      ctx.events.push('onRuntimeReady 2');
    });
    const removed = lifecycle.onRuntimeReady((ctx) => void ctx.events.push('removed hook'));
    removed();
    lifecycle.onShutdown((ctx) => void ctx.events.push('onShutdown 1'));
    lifecycle.onShutdown((ctx) => void ctx.events.push('onShutdown 2'));

    const ctx: Context = { events: [] };
    assert.equal(lifecycle.status, 'idle');
    await lifecycle.start(ctx);
    assert.equal(lifecycle.status, 'running');
    assert.deepEqual(ctx.events, [
      'start config',
      'start metrics',
      'onConfigLoaded',
      'start store',
      'start hub',
      'onServiceBound',
      'start health',
      'start heartbeat',
      'onRuntimeReady 1',
      'onRuntimeReady 2',
    ]);
    throwsCode(() => lifecycle.addStep('post-init', recorder('late')), 'bad_config');
    await rejectsCode(lifecycle.start(ctx), 'bad_config');

    ctx.events.length = 0;
    const first = lifecycle.shutdown();
    assert.equal(lifecycle.shutdown(), first, 'idempotent');
    await first;
    assert.equal(lifecycle.status, 'stopped');
    assert.deepEqual(ctx.events, [
      'onShutdown 2',
      'onShutdown 1',
      'stop health',
      'stop hub',
      'stop store',
      'stop metrics',
      'stop config',
    ]);
  });

  test('a failing step stops start-up, names phase, step and cause, and rolls back what started', async () => {
    const lifecycle = new Lifecycle<Context>();
    lifecycle.addStep('pre-init', recorder('config'));
    lifecycle.addStep('core-init', recorder('pools'));
    lifecycle.addStep('core-init', {
      name: 'store',
      hint: 'pass --store memory or a writable lmdb:<dir>',
      start: () => {
        throw new SbmpError('bad_config', "cannot open './sbmp-data': permission denied");
      },
    });
    lifecycle.addStep('core-init', recorder('hub'));
    lifecycle.addStep('post-init', recorder('health'));
    let ready = false;
    lifecycle.onServiceBound(() => {
      ready = true;
    });

    const ctx: Context = { events: [] };
    const err = await failure(lifecycle.start(ctx), 'bad_config');
    assert.deepEqual(err.details, { phase: 'core-init', step: 'store' });
    assert.ok(isSbmpError(err.cause, 'bad_config'));
    for (const part of ['core-init', "'store'", 'permission denied', '--store memory']) {
      assert.ok(err.message.includes(part), `message names ${part}: ${err.message}`);
    }
    assert.deepEqual(ctx.events, ['start config', 'start pools', 'stop pools', 'stop config']);
    assert.equal(ready, false);
    assert.equal(lifecycle.status, 'failed');
    await lifecycle.shutdown();
    assert.deepEqual(
      ctx.events,
      ['start config', 'start pools', 'stop pools', 'stop config'],
      'nothing stops twice',
    );
  });

  test('a plain error is internal; a failing hook is named like a step', async () => {
    const plain = new Lifecycle<Context>();
    plain.addStep('post-init', { name: 'heartbeat', start: () => Promise.reject(new TypeError('boom')) });
    const err = await failure(plain.start({ events: [] }), 'internal');
    assert.deepEqual(err.details, { phase: 'post-init', step: 'heartbeat' });
    assert.ok(err.cause instanceof TypeError);

    const hooked = new Lifecycle<Context>();
    hooked.addStep('pre-init', recorder('config'));
    hooked.addStep('core-init', recorder('store'));
    hooked.addStep('post-init', recorder('health'));
    hooked.onServiceBound(function injectFilter() {
      throw new SbmpError('unavailable', 'the plugin registry is down');
    });
    const ctx: Context = { events: [] };
    const hookErr = await failure(hooked.start(ctx), 'unavailable');
    assert.deepEqual(hookErr.details, { phase: 'core-init', step: "onServiceBound hook 'injectFilter'" });
    assert.deepEqual(ctx.events, ['start config', 'start store', 'stop store', 'stop config']);
  });

  test('a step that outlasts startTimeoutMs fails with timeout, and is stopped if it finishes later', async () => {
    const lifecycle = new Lifecycle<Context>({ startTimeoutMs: 50 });
    let finishStart!: () => void;
    let lateStop!: () => void;
    const stoppedLate = new Promise<void>((resolve) => {
      lateStop = resolve;
    });
    lifecycle.addStep('pre-init', recorder('config'));
    lifecycle.addStep('core-init', {
      name: 'nats',
      start: () =>
        new Promise<void>((resolve) => {
          finishStart = resolve;
        }),
      stop: () => lateStop(),
    });
    const ctx: Context = { events: [] };
    const err = await failure(lifecycle.start(ctx), 'timeout');
    assert.deepEqual(err.details, { phase: 'core-init', step: 'nats' });
    assert.deepEqual(ctx.events, ['start config', 'stop config']);
    finishStart();
    await within(stoppedLate, 5000, 'the late-started step to be stopped');
  });

  test('failures while rolling back are reported with the start-up error', async () => {
    const lifecycle = new Lifecycle<Context>();
    lifecycle.addStep('pre-init', recorder('config'));
    lifecycle.addStep('pre-init', {
      name: 'metrics',
      start: () => undefined,
      stop: () => {
        throw new Error('registry locked');
      },
    });
    lifecycle.addStep('core-init', { name: 'store', start: () => Promise.reject(new Error('disk full')) });
    const ctx: Context = { events: [] };
    const err = await failure(lifecycle.start(ctx), 'internal');
    assert.equal(err.details?.step, 'store');
    assert.deepEqual(err.details?.rollbackFailures, [
      { phase: 'pre-init', step: 'metrics', code: 'internal', message: 'registry locked' },
    ]);
    assert.deepEqual(ctx.events, ['start config', 'stop config'], 'the other steps are still stopped');
  });

  test('shutdown bounds each stop and hook by stopTimeoutMs, runs them all, and reports every failure', async () => {
    const lifecycle = new Lifecycle<Context>({ stopTimeoutMs: 50 });
    lifecycle.addStep('pre-init', recorder('config'));
    lifecycle.addStep('core-init', { ...recorder('store'), stop: never });
    lifecycle.addStep('post-init', recorder('health'));
    lifecycle.onShutdown(() => {
      throw new SbmpError('unavailable', 'could not deregister');
    });
    lifecycle.onShutdown((ctx) => void ctx.events.push('goaway sent'));
    const ctx: Context = { events: [] };
    await lifecycle.start(ctx);
    ctx.events.length = 0;

    const started = Date.now();
    const err = await failure(lifecycle.shutdown(), 'internal');
    assert.ok(Date.now() - started < 5000);
    assert.deepEqual(err.details?.failures, [
      { phase: 'shutdown', step: 'onShutdown hook #1', code: 'unavailable', message: 'could not deregister' },
      { phase: 'core-init', step: 'store', code: 'timeout', message: 'did not stop within 50 ms' },
    ]);
    assert.ok(err.cause instanceof AggregateError);
    assert.deepEqual(ctx.events, ['goaway sent', 'stop health', 'stop config']);
    assert.equal(lifecycle.status, 'stopped');
    await assert.rejects(lifecycle.shutdown(), (again: unknown) => again === err);
  });

  test('shutdown during start-up waits for it, then stops everything', async () => {
    const lifecycle = new Lifecycle<Context>();
    let finish!: () => void;
    let began!: () => void;
    const storeBegan = new Promise<void>((resolve) => {
      began = resolve;
    });
    lifecycle.addStep('pre-init', recorder('config'));
    lifecycle.addStep('core-init', {
      ...recorder('store'),
      start: (ctx) =>
        new Promise<void>((resolve) => {
          ctx.events.push('start store');
          finish = resolve;
          began();
        }),
    });
    const ctx: Context = { events: [] };
    const starting = lifecycle.start(ctx);
    await within(storeBegan, 5000, 'the store step to begin');
    const stopping = lifecycle.shutdown();
    assert.equal(lifecycle.status, 'starting');
    finish();
    await starting;
    await stopping;
    assert.deepEqual(ctx.events, ['start config', 'start store', 'stop store', 'stop config']);
  });

  test('shutdown before start is a no-op, and the lifecycle cannot start afterwards', async () => {
    const lifecycle = new Lifecycle<Context>();
    lifecycle.addStep('pre-init', recorder('config'));
    await lifecycle.shutdown();
    assert.equal(lifecycle.status, 'stopped');
    await rejectsCode(lifecycle.start({ events: [] }), 'bad_config');
  });
});
