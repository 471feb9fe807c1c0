// The server's own pools: registered by name at start-up, used on a real path (HTTP PUT
// bodies), reported in /debug/vars and /metrics, closed with the server.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSbmpError } from '../../src/core/errors.js';
import { PoolRegistry } from '../../src/pool/registry.js';
import { SERVER_POOLS } from '../../src/server/pools.js';
import { startServer } from '../../src/server/server.js';
import { MemoryStore } from '../../src/store/memory.js';

interface Stats {
  name: string;
  allocations: number;
  reuses: number;
  puts: number;
}

describe('server pools', () => {
  it('reads PUT bodies through sbmp.http.body.v1: one allocation, then reuses', async () => {
    const store = new MemoryStore();
    const server = await startServer({ store, port: 0, logger: false });
    try {
      const body = JSON.stringify({ filler: 'x'.repeat(300) });
      for (let version = 1; version <= 5; version++) {
        const res = await fetch(`${server.url}/sbmp/v3/state/pool/k`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json', 'sbmp-version': String(version) },
          body,
        });
        assert.equal(res.status, 200);
      }
      const vars = (await (await fetch(`${server.url}/debug/vars`)).json()) as { pools: Stats[] };
      const stats = vars.pools.find((p) => p.name === 'sbmp.http.body.v1');
      assert.ok(stats, 'the body pool is reported');
      assert.equal(stats.puts, 5, 'every borrowed body buffer went back');
      assert.equal(stats.allocations + stats.reuses, 5);
      assert.ok(stats.reuses >= 3, `reused: ${JSON.stringify(stats)}`);
      assert.equal((await store.get('pool/k'))?.version, 5);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      assert.match(metrics, /sbmp_pool_reuses_total\{pool="sbmp\.http\.body\.v1"\} [1-9]/);
    } finally {
      await server.close();
      await store.close();
    }
  });

  it('declares every pool name once and validly; a registry already holding them is refused', async () => {
    const probe = new PoolRegistry();
    for (const descriptor of SERVER_POOLS) probe.registerPool(descriptor);
    assert.deepEqual(
      probe.listPools().map((p) => p.name),
      SERVER_POOLS.map((p) => p.name),
    );
    const store = new MemoryStore();
    const shared = new PoolRegistry();
    const first = await startServer({ store, port: 0, logger: false, pools: shared });
    try {
      await assert.rejects(startServer({ store, port: 0, logger: false, pools: shared }), (err: unknown) =>
        isSbmpError(err, 'bad_config'),
      );
    } finally {
      await first.close();
      await store.close();
    }
  });
});
