// `runServer`: the start-up lifecycle that `sbmp serve` and embedding code share.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isSbmpError, type SbmpError } from '../../src/core/errors.js';
import type { RunContext } from '../../src/server/run-server.js';
import { runServer } from '../../src/server/run-server.js';
import { LmdbStore } from '../../src/store/lmdb.js';
import { MemoryStore } from '../../src/store/memory.js';
import { openStore } from '../../src/store/open.js';
import { FrameClient, rawRequest, withTimeout } from './helpers.js';

/** The rejection of `promise`, which must be an `SbmpError` with `code`. */
async function failure(promise: Promise<unknown>, code: string): Promise<SbmpError> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(isSbmpError(caught), String(caught));
  assert.equal(caught.code, code, caught.message);
  return caught;
}

describe('runServer', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sbmp-run-server-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs the phases with their hooks, serves, and shuts down in reverse with GOAWAY and the store closed', async () => {
    const events: string[] = [];
    const path = join(dir, 'hooks');
    const running = await runServer(async () => ({ store: `lmdb:${path}`, port: 0, logger: false }), {
      onConfigLoaded: (ctx: RunContext) => {
        events.push(`config ${ctx.config.port} ${ctx.server === undefined}`);
      },
      onServiceBound: (ctx: RunContext) => {
        events.push(`bound ${ctx.server?.url !== undefined} ${ctx.store?.kind}`);
      },
      onRuntimeReady: (ctx: RunContext) => {
        events.push(`ready ${ctx.server?.health().status}`);
      },
      onShutdown: (ctx: RunContext) => {
        events.push(`shutdown ${ctx.server?.health().status}`);
      },
    });
    assert.deepEqual(events, ['config 0 true', 'bound true lmdb', 'ready ok']);
    assert.equal((await rawRequest(`${running.url}/readyz`)).status, 200);
    const put = await rawRequest(`${running.url}/sbmp/v3/state/run/a`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'sbmp-version': 3 },
      body: '{"a":1}',
    });
    assert.equal(put.status, 200, put.body);
    const client = await FrameClient.connect(`${running.url.replace(/^http/, 'ws')}/sbmp/v3/ws`);

    await running.shutdown();
    assert.equal(events.at(-1), 'shutdown ok');
    const goaway = await client.next((f) => f.type === 'goaway', 'GOAWAY');
    assert.equal(goaway.type === 'goaway' && goaway.reason, 'shutdown');
    await withTimeout(client.closed, 'close after GOAWAY');
    await assert.rejects(running.store.get('run/a'), (err: unknown) => isSbmpError(err, 'closed'));
    await running.shutdown();

    const reopened = await openStore(`lmdb:${path}`);
    try {
      assert.equal((await reopened.get('run/a'))?.version, 3);
    } finally {
      await reopened.close();
    }
  });

  it('opens an lmdb store with its storeOptions, and refuses them for any other store', async () => {
    const tuned = await runServer({
      store: `lmdb:${join(dir, 'tuned')}`,
      storeOptions: { sync: true, cachedHeads: 0 },
      port: 0,
      logger: false,
    });
    try {
      assert.ok(tuned.store instanceof LmdbStore);
      assert.equal(tuned.store.capabilities.syncedToDisk, true);
      assert.equal(tuned.store.cachedHeads, 0);
      const put = await rawRequest(`${tuned.url}/sbmp/v3/state/tuned/a`, { method: 'PUT', body: '1' });
      assert.equal(put.status, 200, put.body);
    } finally {
      await tuned.shutdown();
    }
    const plain = await runServer({ store: `lmdb:${join(dir, 'plain')}`, port: 0, logger: false });
    try {
      assert.ok(plain.store instanceof LmdbStore);
      assert.equal(plain.store.capabilities.syncedToDisk, false);
      assert.equal(plain.store.cachedHeads, 1_000_000);
    } finally {
      await plain.shutdown();
    }

    const memory = await failure(
      runServer({ store: 'memory', storeOptions: { sync: true }, port: 0, logger: false }),
      'bad_config',
    );
    assert.match(memory.message, /storeOptions apply to the embedded store only, not to 'memory'/);
    const open = new MemoryStore();
    const given = await failure(
      runServer({ store: open, storeOptions: { cachedHeads: 10 }, port: 0, logger: false }),
      'bad_config',
    );
    assert.match(given.message, /an open store was configured by the code that opened it/);
    const wrong = await failure(
      runServer({
        store: `lmdb:${join(dir, 'wrong')}`,
        storeOptions: { cachedHeads: 1.5 } as never,
        port: 0,
        logger: false,
      }),
      'bad_config',
    );
    assert.match(wrong.message, /storeOptions\.cachedHeads must be an integer from 0 to \d+, got 1\.5/);
  });

  it('passes debug options to the server: pprof served to loopback clients when enabled', async () => {
    const store = new MemoryStore();
    const enabled = await runServer({
      store,
      port: 0,
      logger: false,
      heartbeatMs: 0,
      debug: { pprof: true },
    });
    const disabled = await runServer({ store, port: 0, logger: false, heartbeatMs: 0 });
    try {
      const profile = await fetch(`${enabled.server.url}/debug/pprof/profile?seconds=1`);
      assert.equal(profile.status, 200);
      const body = (await profile.json()) as { nodes?: unknown[] };
      assert.ok(Array.isArray(body.nodes) && body.nodes.length > 0, 'a CPU profile');
      assert.equal((await fetch(`${disabled.server.url}/debug/pprof/profile?seconds=1`)).status, 404);
    } finally {
      await enabled.shutdown();
      await disabled.shutdown();
      await store.close();
    }
  });

  it('leaves a store it was given open', async () => {
    const store = new MemoryStore();
    const running = await runServer({ store, port: 0, logger: false, heartbeatMs: 0 });
    await running.shutdown();
    assert.equal(await store.get('nothing'), undefined);
    await store.close();
  });

  it('refuses bad and contradictory settings in pre-init with bad_config naming the setting', async () => {
    const cases: [Parameters<typeof runServer>[0], string][] = [
      [{ store: 'memory', port: 70_000, logger: false }, 'port'],
      [{ store: 'postgres://db', logger: false }, 'store'],
      [{ store: 'memory', logger: false, guards: { memory: { limitBytes: '16MB' } } }, 'limitBytes'],
      [{ store: 'memory', logger: false, guards: { memory: { limitBytes: 'lots' } } }, 'options.limitBytes'],
      [
        { store: 'memory', logger: false, guards: { memory: { shedAt: 0.7, recoverBelow: 0.8 } } },
        'recoverBelow',
      ],
      [{ store: 'memory', logger: false, limits: { maxStateBytes: 0 } }, 'maxStateBytes'],
      [{ store: 'memory', logger: false, prot: 1 } as unknown as Parameters<typeof runServer>[0], 'prot'],
      [{ store: 'memory', logger: false, drainMs: 20_000 }, 'drainMs'],
      [
        () => {
          throw new Error('the config file vanished');
        },
        '',
      ],
    ];
    for (const [config, option] of cases) {
      const error = await failure(runServer(config), option === '' ? 'internal' : 'bad_config');
      assert.equal(error.details?.phase, 'pre-init');
      assert.equal(error.details?.step, 'configuration');
      if (option !== '') {
        assert.equal((error.cause as SbmpError).details?.option, option, error.message);
      }
    }
  });

  it('a failed step or hook stops start-up loudly, naming phase and step, and rolls back', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const store = new MemoryStore();
      const inUse = await failure(runServer({ store, port, logger: false }), 'bad_config');
      assert.equal(inUse.details?.phase, 'core-init');
      assert.equal(inUse.details?.step, 'server');
      assert.match(inUse.message, /in use/);
      await store.close();
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }

    let boundUrl = '';
    const path = join(dir, 'rollback');
    const hookFailed = await failure(
      runServer(
        { store: `lmdb:${path}`, port: 0, logger: false },
        {
          onServiceBound: function refuseToStart(ctx: RunContext) {
            boundUrl = ctx.server?.url ?? '';
            throw new Error('plugin could not load');
          },
        },
      ),
      'internal',
    );
    assert.equal(hookFailed.details?.phase, 'core-init');
    assert.match(String(hookFailed.details?.step), /refuseToStart/);
    assert.match(hookFailed.message, /plugin could not load/);
    // Rolled back: the listener is gone and the store closed (it opens again from another handle).
    await assert.rejects(fetch(`${boundUrl}/healthz`));
    const reopened = await openStore(`lmdb:${path}`);
    await reopened.close();
  });

  it('refuses to run already above the memory watermark (post-init)', async () => {
    const error = await failure(
      runServer({
        store: 'memory',
        port: 0,
        logger: false,
        guards: { memory: { limitBytes: 64 * 1024 * 1024, sample: () => 63 * 1024 * 1024 } },
      }),
      'bad_config',
    );
    assert.equal(error.details?.phase, 'post-init');
    assert.equal(error.details?.step, 'memory headroom');
  });
});
