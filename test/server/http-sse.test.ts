import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ObjectPool } from '../../src/pool/object-pool.js';
import { PoolRegistry } from '../../src/pool/registry.js';
import { startServer } from '../../src/server/server.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { SseClient, TestServer } from './helpers.js';
import { SseClient as Sse, startTestServer } from './helpers.js';

let t: TestServer;
const open: SseClient[] = [];
before(async () => {
  t = await startTestServer();
});
after(async () => {
  for (const client of open) client.close();
  await t.close();
});

async function watch(query: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const client = await Sse.open(`${t.url}/sbmp/v3/watch?${query}`, headers);
  open.push(client);
  return client;
}

async function put(key: string, state: unknown): Promise<number> {
  const res = await fetch(`${t.url}/sbmp/v3/state/${key}`, { method: 'PUT', body: JSON.stringify(state) });
  assert.equal(res.status, 200);
  return ((await res.json()) as { revision: number }).revision;
}

describe('GET /sbmp/v3/watch', () => {
  test('current state, a synced marker, then live changes with their revision as id', async () => {
    await put('sse/a/1', { n: 1 });
    await put('sse/a/2', { n: 2 });
    await put('sse/b/1', { n: 3 });
    const client = await watch('pattern=sse/a/*');
    assert.equal(client.status, 200);
    assert.match(String(client.headers['content-type']), /^text\/event-stream/);
    const synced = await client.next((e) => e.event === 'synced', 'synced');
    const syncedRevision = (JSON.parse(synced.data) as { revision: number }).revision;
    assert.equal(synced.id, String(syncedRevision));
    assert.deepEqual(
      client
        .snapshots()
        .map((s) => s.key)
        .sort(),
      ['sse/a/1', 'sse/a/2'],
    );
    const revision = await put('sse/a/1', { n: 10 });
    await put('sse/b/1', { n: 11 });
    const live = await client.next((e) => e.event === 'message' && e.id === String(revision), 'live event');
    const snapshot = JSON.parse(live.data);
    assert.equal(snapshot.key, 'sse/a/1');
    assert.equal(snapshot.version, 2);
    assert.equal(snapshot.revision, revision);
    assert.deepEqual(snapshot.state, { n: 10 });
    assert.ok(client.snapshots().every((s) => s.key.startsWith('sse/a/')));
  });

  test('Last-Event-ID resumes after the last event seen (and wins over ?since=)', async () => {
    await put('resume/k1', 1);
    const first = await watch('pattern=resume/>');
    await first.next((e) => e.event === 'synced', 'synced');
    const lastRevision = await put('resume/k1', 2);
    const seen = await first.next((e) => e.id === String(lastRevision), 'event at last revision');
    first.close();
    await put('resume/k2', 3);
    await put('resume/k1', 4);
    const resumed = await watch('pattern=resume/>&since=0', { 'last-event-id': seen.id! });
    await resumed.next((e) => e.event === 'synced', 'synced after resume');
    const keys = resumed.snapshots().map((s) => `${s.key}@${s.version}`);
    assert.deepEqual(keys.sort(), ['resume/k1@3', 'resume/k2@1']);
  });

  test('?since= alone resumes too', async () => {
    const since = await put('since-sse/a', 1);
    await put('since-sse/b', 2);
    const client = await watch(`pattern=since-sse/>&since=${since}`);
    await client.next((e) => e.event === 'synced', 'synced');
    assert.deepEqual(
      client.snapshots().map((s) => s.key),
      ['since-sse/b'],
    );
  });

  test('a resume point the store never reached gets a resync event first', async () => {
    await put('resync-sse/a', 1);
    const client = await watch('pattern=resync-sse/>&since=999999999');
    const resync = await client.next((e) => e.event === 'resync', 'resync');
    const synced = await client.next((e) => e.event === 'synced', 'synced');
    assert.ok(client.events.indexOf(resync) < client.events.indexOf(synced));
    assert.equal(client.events.filter((e) => e.event !== 'resync')[0]?.event, 'message');
    assert.deepEqual(
      client.snapshots().map((s) => s.key),
      ['resync-sse/a'],
    );
  });

  test('bad pattern and bad since are 400 with a typed body', async () => {
    const badPattern = await fetch(`${t.url}/sbmp/v3/watch?pattern=a/>/b`);
    assert.equal(badPattern.status, 400);
    assert.equal((await badPattern.json()).code, 'bad_pattern');
    const missing = await fetch(`${t.url}/sbmp/v3/watch`);
    assert.equal(missing.status, 400);
    assert.equal((await missing.json()).code, 'bad_pattern');
    const badSince = await fetch(`${t.url}/sbmp/v3/watch?pattern=a&since=-1`);
    assert.equal(badSince.status, 400);
    assert.equal((await badSince.json()).code, 'bad_request');
  });

  test('deletes arrive as tombstone events', async () => {
    await put('tomb/a', 1);
    const client = await watch('pattern=tomb/a');
    await client.next((e) => e.event === 'synced', 'synced');
    const res = await fetch(`${t.url}/sbmp/v3/state/tomb/a`, {
      method: 'DELETE',
      headers: { 'if-match': '"1"' },
    });
    assert.equal(res.status, 200);
    const tombstone = await client.next(
      (e) => e.event === 'message' && JSON.parse(e.data).deleted === true,
      'tombstone',
    );
    assert.equal(JSON.parse(tombstone.data).version, 2);
  });
});

describe('health and metrics', () => {
  test('/healthz and /readyz', async () => {
    const health = await fetch(`${t.url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal((await health.json()).status, 'ok');
    const ready = await fetch(`${t.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal((await ready.json()).status, 'ready');
  });

  test('/sbmp/v3/health/stream sends a health event at once and then every second', async () => {
    const client = await Sse.open(`${t.url}/sbmp/v3/health/stream`);
    open.push(client);
    const first = await client.next((e) => e.event === 'health', 'first health event', 2000);
    const report = JSON.parse(first.data);
    assert.equal(report.status, 'ok');
    assert.equal(typeof report.uptimeMs, 'number');
    assert.equal(typeof report.eventLoopLag.p99Ms, 'number');
    assert.ok(report.memory.rssBytes > 0);
    assert.ok(report.connections.health >= 1);
    assert.equal(report.store.kind, 'memory');
    assert.equal(typeof report.store.revision, 'number');
    await client.next((e) => e.event === 'health' && e !== first, 'second health event', 3000);
  });

  test('/metrics exposes sbmp_ counters and Node default metrics', async () => {
    await put('metrics/a', 1);
    const res = await fetch(`${t.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    assert.match(text, /sbmp_publishes_total\{result="applied",transport="http"\} [1-9]/);
    for (const name of [
      'sbmp_deliveries_total',
      'sbmp_conflated_total',
      'sbmp_stale_rejections_total',
      'sbmp_connections',
      'sbmp_subscriptions',
      'sbmp_publish_to_delivery_seconds_bucket',
      'process_cpu_user_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      assert.ok(text.includes(name), name);
    }
  });

  test('/debug/vars is JSON with hub and fan-out figures', async () => {
    const res = await fetch(`${t.url}/debug/vars`);
    assert.equal(res.status, 200);
    const vars = await res.json();
    assert.equal(typeof vars.hub.revision, 'number');
    assert.equal(typeof vars.fanout.pendingKeys, 'number');
    assert.equal(vars.limits.maxStateBytes, 1024 * 1024);
    assert.ok(Array.isArray(vars.connections));
  });
});

test('a server given a pool registry reports sbmp_pool_* per pool in /metrics and /debug/vars', async () => {
  const pools = new PoolRegistry();
  pools.registerPool({ name: 'sbmp.test.thing.v1' });
  const pool = new ObjectPool({
    name: 'sbmp.test.thing.v1',
    registry: pools,
    create: () => ({ n: 0 }),
    reset: (o) => {
      o.n = 0;
    },
  });
  const item = pool.get();
  pool.put(item);
  pool.get();
  const store = new MemoryStore();
  const server = await startServer({ store, port: 0, logger: false, pools });
  try {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(text, /sbmp_pool_hits_total\{pool="sbmp\.test\.thing\.v1"\} 1/);
    assert.match(text, /sbmp_pool_misses_total\{pool="sbmp\.test\.thing\.v1"\} 1/);
    assert.match(text, /sbmp_pool_allocs_total\{pool="sbmp\.test\.thing\.v1"\} 1/);
    assert.match(text, /sbmp_pool_reuses_total\{pool="sbmp\.test\.thing\.v1"\} 1/);
    const vars = await (await fetch(`${server.url}/debug/vars`)).json();
    const names = (vars.pools as { name: string }[]).map((p) => p.name);
    assert.deepEqual(
      names,
      ['sbmp.http.body.v1', 'sbmp.test.thing.v1'],
      'the server pools and the ones passed in',
    );
  } finally {
    pool.close();
    await server.close();
    await store.close();
  }
});
