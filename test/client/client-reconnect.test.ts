// Kill -9 of the server mid-stream: SDK subscribers reconnect to the restarted server (same
// LMDB data, same port), resume, never see a version go back, and converge to the store.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SbmpClient } from '../../src/client/client.js';
import { HttpApi } from '../../src/client/http-api.js';
import type { Subscription } from '../../src/client/subscription.js';
import { isSbmpError } from '../../src/core/errors.js';
import { type SbmpProcess, startServe } from '../fixtures/client-cli.js';
import { within } from './fake-peer.js';

const KEYS = Array.from({ length: 8 }, (_, i) => `rc/k${i}`);
const ROUNDS = 60;
const KILL_AT_ROUND = 20;
const SUBSCRIBERS = 3;
const reconnect = { initialDelayMs: 50, maxDelayMs: 400, jitter: 0.5 };

/** Publishes with an explicit version until accepted: a retry after `unavailable` is idempotent. */
async function publishUntilAccepted(client: SbmpClient, key: string, version: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      const ack = await client.publish(key, { key, version }, { version });
      assert.ok(ack.result === 'applied' || ack.result === 'duplicate', `${key} v${version}: ${ack.result}`);
      return;
    } catch (error) {
      if (!isSbmpError(error, 'unavailable')) throw error;
    }
  }
  throw new Error(`${key} v${version} never accepted`);
}

describe('SDK across a server crash', () => {
  let dir: string | undefined;
  const processes: SbmpProcess[] = [];
  const clients: SbmpClient[] = [];
  after(async () => {
    for (const client of clients) await client.close();
    for (const serve of processes) {
      serve.kill('SIGKILL');
      await serve.waitForExit(5_000);
    }
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('resumes every subscriber without a regression and converges to the store', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sbmp-client-reconnect-'));
    const storeSpec = `lmdb:${join(dir, 'data')}`;
    const first = await startServe(['--port', '0', '--store', storeSpec]);
    processes.push(first.process);

    const publisher = await SbmpClient.connect({ url: first.url, reconnect, maxInFlight: 16 });
    clients.push(publisher);
    const histories: Map<string, number[]>[] = [];
    const subscribers: SbmpClient[] = [];
    const subscriptions: Subscription[] = [];
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const client = await SbmpClient.connect({
        url: first.url,
        reconnect,
        encoding: i % 2 === 0 ? 'msgpack' : 'json',
      });
      clients.push(client);
      subscribers.push(client);
      const history = new Map<string, number[]>();
      histories.push(history);
      const sub = client.subscribe('rc/>', (snapshot) => {
        const list = history.get(snapshot.key) ?? [];
        list.push(snapshot.version);
        history.set(snapshot.key, list);
      });
      subscriptions.push(sub);
      await within(sub.synced, 10_000, 'initial sync');
    }

    let killRound!: () => void;
    const reachedKillRound = new Promise<void>((resolve) => {
      killRound = resolve;
    });
    const publishing = (async () => {
      for (let version = 1; version <= ROUNDS; version++) {
        await Promise.all(KEYS.map((key) => publishUntilAccepted(publisher, key, version)));
        if (version === KILL_AT_ROUND) killRound();
      }
    })();

    await within(reachedKillRound, 30_000, `round ${KILL_AT_ROUND}`);
    first.process.kill('SIGKILL');
    const killed = await first.process.waitForExit(10_000);
    assert.equal(killed.signal, 'SIGKILL');
    const second = await startServe(['--port', String(first.port), '--store', storeSpec]);
    processes.push(second.process);
    assert.equal(second.port, first.port);
    await within(publishing, 40_000, 'all publishes accepted');

    // The store's final state, read over HTTP from the restarted server.
    const page = await new HttpApi(second.url).list('rc/');
    const expected = new Map(page.items.map((s) => [s.key, s]));
    assert.deepEqual([...expected.keys()].sort(), [...KEYS].sort());
    for (const snapshot of expected.values())
      assert.equal(snapshot.version, ROUNDS, 'every acked publish survived');

    for (let i = 0; i < SUBSCRIBERS; i++) {
      const sub = subscriptions[i]!;
      const converged = () => KEYS.every((key) => sub.replicas.version(key) === ROUNDS);
      await within(
        new Promise<void>((resolve) => {
          if (converged()) resolve();
          sub.onSnapshot(() => converged() && resolve());
        }),
        20_000,
        `subscriber ${i} converging`,
      );
      for (const key of KEYS) assert.deepEqual(sub.replicas.get(key)?.state, expected.get(key)!.state);
      for (const [key, versions] of histories[i]!) {
        for (let j = 1; j < versions.length; j++) {
          assert.ok(
            versions[j]! > versions[j - 1]!,
            `subscriber ${i} saw ${key} go from v${versions[j - 1]} to v${versions[j]}`,
          );
        }
      }
      assert.ok(subscribers[i]!.stats().reconnects >= 1, `subscriber ${i} reconnected`);
      assert.ok(sub.isSynced);
    }
    assert.ok(publisher.stats().reconnects >= 1);

    second.process.kill('SIGTERM');
    const stopped = await second.process.waitForExit(10_000);
    assert.equal(stopped.code, 0, `serve exits 0 on SIGTERM; stderr: ${second.process.stderr}`);
  });
});
