import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { isSbmpError } from '../../src/core/errors.js';
import {
  checkProfilingAccess,
  checkVarsAccess,
  isLoopbackAddress,
  resolveDebugOptions,
} from '../../src/server/observability/debug-access.js';
import type { SbmpServer } from '../../src/server/server.js';
import { startServer } from '../../src/server/server.js';
import { MemoryStore } from '../../src/store/memory.js';
import { rawRequest } from './helpers.js';

const store = new MemoryStore();
let enabled: SbmpServer;
let disabled: SbmpServer;

before(async () => {
  enabled = await startServer({ store, port: 0, logger: false, debug: { pprof: true } });
  disabled = await startServer({ store, port: 0, logger: false });
});

after(async () => {
  await enabled.close({ drainMs: 1000 });
  await disabled.close({ drainMs: 1000 });
  await store.close();
});

function errorCode(body: string): unknown {
  return (JSON.parse(body) as { code: unknown }).code;
}

describe('/debug/pprof access', () => {
  test('disabled by default: 404 not_found', async () => {
    for (const path of ['profile?seconds=1', 'heap', 'heap?snapshot=1']) {
      const res = await rawRequest(`${disabled.url}/debug/pprof/${path}`);
      assert.equal(res.status, 404, path);
      assert.equal(errorCode(res.body), 'not_found', path);
    }
  });

  test('only loopback clients are let through; others get forbidden', () => {
    for (const address of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) {
      assert.equal(isLoopbackAddress(address), true, address);
    }
    for (const address of [
      '10.0.0.5',
      '::ffff:10.0.0.5',
      '192.168.1.1',
      'fe80::1',
      '128.0.0.1',
      '',
      undefined,
    ]) {
      assert.equal(isLoopbackAddress(address), false, String(address));
    }
    const from = (remoteAddress: string) => ({ socket: { remoteAddress } }) as unknown as IncomingMessage;
    const on = resolveDebugOptions({ pprof: true });
    assert.doesNotThrow(() => checkProfilingAccess(on, from('127.0.0.1'), '/debug/pprof/heap'));
    assert.throws(
      () => checkProfilingAccess(on, from('10.1.2.3'), '/debug/pprof/heap'),
      (err: unknown) => isSbmpError(err, 'forbidden'),
    );
    assert.throws(
      () => checkProfilingAccess(resolveDebugOptions(undefined), from('127.0.0.1'), '/debug/pprof/heap'),
      (err: unknown) => isSbmpError(err, 'not_found'),
    );
  });

  test('debug options are validated at start-up', async () => {
    for (const debug of [{ pprof: 'yes' }, { maxHeapSnapshotBytes: 0 }, { maxHeapSnapshotBytes: 1.5 }, 7]) {
      await assert.rejects(
        startServer({ store, port: 0, logger: false, debug: debug as never }),
        (err: unknown) => isSbmpError(err, 'bad_config'),
        JSON.stringify(debug),
      );
    }
  });
});

describe('/debug/pprof profiles', () => {
  test('bad seconds or snapshot values are 400 bad_request', async () => {
    const bad = [
      'profile?seconds=0',
      'profile?seconds=61',
      'profile?seconds=abc',
      'profile?seconds=1.5',
      'profile?seconds=',
      'profile?seconds=-1',
      'heap?seconds=100',
      'heap?snapshot=maybe',
      'heap?snapshot=1&seconds=1',
    ];
    for (const path of bad) {
      const res = await rawRequest(`${enabled.url}/debug/pprof/${path}`);
      assert.equal(res.status, 400, path);
      assert.equal(errorCode(res.body), 'bad_request', path);
    }
    const unknown = await rawRequest(`${enabled.url}/debug/pprof/goroutine`);
    assert.equal(unknown.status, 404);
    const post = await rawRequest(`${enabled.url}/debug/pprof/profile`, { method: 'POST' });
    assert.equal(post.status, 405);
  });

  test('a CPU profile is a .cpuprofile DevTools loads; the server keeps serving meanwhile', async () => {
    const profiling = rawRequest(`${enabled.url}/debug/pprof/profile?seconds=1`);
    const health = await rawRequest(`${enabled.url}/healthz`);
    assert.equal(health.status, 200);
    const res = await profiling;
    assert.equal(res.status, 200, res.body.slice(0, 200));
    assert.match(String(res.headers['content-disposition']), /\.cpuprofile"$/);
    const profile = JSON.parse(res.body) as {
      nodes: { id: number; callFrame: { functionName: string } }[];
      samples: number[];
      timeDeltas: number[];
      startTime: number;
      endTime: number;
    };
    assert.ok(Array.isArray(profile.nodes) && profile.nodes.length > 0);
    assert.equal(typeof profile.nodes[0]!.callFrame.functionName, 'string');
    assert.ok(Array.isArray(profile.samples));
    assert.equal(profile.timeDeltas.length, profile.samples.length);
    // Microseconds: the window covers the second asked for.
    assert.ok(profile.endTime - profile.startTime >= 900_000, `${profile.endTime - profile.startTime} µs`);
  });

  test('a sampling heap profile is a .heapprofile with a head and samples', async () => {
    const res = await rawRequest(`${enabled.url}/debug/pprof/heap?seconds=1`);
    assert.equal(res.status, 200, res.body.slice(0, 200));
    assert.match(String(res.headers['content-disposition']), /\.heapprofile"$/);
    const profile = JSON.parse(res.body) as {
      head: { callFrame: object; selfSize: number; children: unknown[] };
      samples: unknown[];
    };
    assert.equal(typeof profile.head.callFrame, 'object');
    assert.equal(typeof profile.head.selfSize, 'number');
    assert.ok(Array.isArray(profile.head.children));
    assert.ok(Array.isArray(profile.samples));
  });

  test('a full heap snapshot is streamed; above the configured heap size it is too_large', async () => {
    const res = await rawRequest(`${enabled.url}/debug/pprof/heap?snapshot=1`);
    assert.equal(res.status, 200, res.body.slice(0, 200));
    assert.match(String(res.headers['content-disposition']), /\.heapsnapshot"$/);
    const snapshot = JSON.parse(res.body) as {
      snapshot: { meta: object; node_count: number };
      strings: string[];
    };
    assert.ok(snapshot.snapshot.node_count > 0);
    assert.ok(snapshot.strings.length > 0);
    const small = await startServer({
      store,
      port: 0,
      logger: false,
      debug: { pprof: true, maxHeapSnapshotBytes: 1024 },
    });
    try {
      const refused = await rawRequest(`${small.url}/debug/pprof/heap?snapshot=1`);
      assert.equal(refused.status, 413);
      assert.equal(errorCode(refused.body), 'too_large');
    } finally {
      await small.close({ drainMs: 1000 });
    }
  });

  test('one profile at a time: a second request meanwhile is 429 limit_exceeded with Retry-After', async () => {
    const [a, b] = await Promise.all([
      rawRequest(`${enabled.url}/debug/pprof/profile?seconds=2`),
      rawRequest(`${enabled.url}/debug/pprof/heap?seconds=1`),
    ]);
    const statuses = [a.status, b.status].sort();
    assert.deepEqual(statuses, [200, 429]);
    const busy = a.status === 429 ? a : b;
    assert.equal(errorCode(busy.body), 'limit_exceeded');
    assert.ok(Number(busy.headers['retry-after']) >= 1);
    // Released afterwards.
    const again = await rawRequest(`${enabled.url}/debug/pprof/heap?seconds=1`);
    assert.equal(again.status, 200);
  });
});

describe('/debug/vars access', () => {
  const from = (remoteAddress: string) => ({ socket: { remoteAddress } }) as unknown as IncomingMessage;

  test('answers loopback clients only, unless opened with vars: any', () => {
    const closed = resolveDebugOptions(undefined);
    assert.doesNotThrow(() => checkVarsAccess(closed, from('127.0.0.1')));
    assert.doesNotThrow(() => checkVarsAccess(closed, from('::ffff:127.0.0.1')));
    assert.throws(
      () => checkVarsAccess(closed, from('10.1.2.3')),
      (err: unknown) => isSbmpError(err, 'forbidden'),
    );
    assert.doesNotThrow(() => checkVarsAccess(resolveDebugOptions({ vars: 'any' }), from('10.1.2.3')));
    assert.throws(
      () => resolveDebugOptions({ vars: 'all' as 'any' }),
      (err: unknown) => isSbmpError(err, 'bad_config'),
    );
  });
});
