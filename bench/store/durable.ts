import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KV } from '@nats-io/kv';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { connect } from '@nats-io/transport-node';
import { SbmpClient } from '../../src/client/client.js';
import { openLmdbStore } from '../../src/store/lmdb.js';
import type { Figure } from '../lib/measure.js';
import { natsPeer } from '../lib/peers.js';
import type { Row } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';
import { measureWindowRate } from '../lib/window-rate.js';
import { encodePayload } from '../net/payload.js';
import type { Measured } from '../net/rows.js';
import { comparedRows } from '../net/rows.js';
import { openSubject } from '../net/subjects.js';

const KEYS = 10_000;
const IN_FLIGHT = 256;
const RUN = { runMs: 700, runs: 3, warmupMs: 200 } as const;
const CONTENT_TYPE = 'application/octet-stream';
const LMDB = 'lmdb store direct';
const SBMP_WS = 'sbmp (ws, lmdb store)';
const NATS_KV = 'nats jetstream kv';
const GOAL_FACTOR = 5;
const GOAL_WS_PUTS_PER_SECOND = 100_000;

type Outcome = { figure: Figure } | { missing: string };

/**
 * Durable, acknowledged writes of 256-byte values over 10,000 keys with rising versions:
 * the embedded LMDB store called directly, SBMP over WebSocket to a server (own process) on
 * LMDB, and NATS JetStream KV (a file-backed bucket created and destroyed here). Both LMDB
 * (`sync: false`) and JetStream (default `sync_interval`) acknowledge once the write is with
 * the OS, not flushed to the disk. Ratios are to NATS KV.
 */
export const durableScenario: Scenario = {
  name: 'durable',
  description:
    'durable acknowledged puts/s and gets/s: LMDB store direct, SBMP over WS on LMDB, NATS JetStream KV',
  async run(): Promise<Row[]> {
    const lmdb = await measureLmdbDirect();
    const sbmpWs = await measureSbmpOverWs();
    const natsKv = await measureNatsKv();

    const measured = (label: string, outcome: Outcome | undefined): Measured[] =>
      outcome === undefined
        ? []
        : 'figure' in outcome
          ? [{ label, sbmp: label !== NATS_KV, figure: outcome.figure }]
          : [{ label, sbmp: label !== NATS_KV, missing: outcome.missing }];
    const fiveTimesKv = (sbmp: Figure, peers: ReadonlyMap<string, Figure>) => {
      const kv = peers.get(NATS_KV);
      return {
        text: `>= ${GOAL_FACTOR}x NATS KV`,
        met: kv !== undefined && sbmp.median >= GOAL_FACTOR * kv.median,
      };
    };
    const base = { scenario: 'durable', unit: 'ops/s', better: 'higher' as const };
    return [
      ...comparedRows({ ...base, metric: 'puts/s, 1 at a time' }, [
        ...measured(LMDB, lmdb.serial),
        ...measured(NATS_KV, natsKv.serial),
      ]),
      ...comparedRows({ ...base, metric: `puts/s, ${IN_FLIGHT} in flight`, goal: fiveTimesKv }, [
        ...measured(LMDB, lmdb.pipelined),
        ...measured(NATS_KV, natsKv.pipelined),
      ]),
      ...comparedRows(
        {
          ...base,
          metric: `puts/s over WebSocket, ${IN_FLIGHT} in flight`,
          goal: (sbmp, peers) => {
            const kv = peers.get(NATS_KV);
            return {
              text: `>= ${GOAL_WS_PUTS_PER_SECOND.toLocaleString('en-US')}/s and >= ${GOAL_FACTOR}x NATS KV`,
              met:
                sbmp.median >= GOAL_WS_PUTS_PER_SECOND &&
                kv !== undefined &&
                sbmp.median >= GOAL_FACTOR * kv.median,
            };
          },
        },
        [...measured(SBMP_WS, sbmpWs), ...measured(NATS_KV, natsKv.pipelined)],
      ),
      ...comparedRows({ ...base, metric: `gets/s, ${IN_FLIGHT} in flight` }, [
        ...measured(LMDB, lmdb.gets),
        ...measured(NATS_KV, natsKv.gets),
      ]),
    ];
  },
};

function failure(err: unknown): { missing: string } {
  return { missing: `failed: ${err instanceof Error ? err.message : String(err)}` };
}

async function measureLmdbDirect(): Promise<{ serial: Outcome; pipelined: Outcome; gets: Outcome }> {
  const dir = mkdtempSync(join(tmpdir(), 'sbmp-bench-durable-'));
  try {
    const store = await openLmdbStore({ path: dir });
    try {
      let version = 0;
      const put = async (i: number) => {
        const outcome = await store.put({
          key: `durable/k${i % KEYS}`,
          version: ++version,
          state: encodePayload(0, 0, i),
          contentType: CONTENT_TYPE,
        });
        if (outcome.result !== 'applied') throw new Error(`put ${i} was ${outcome.result}`);
      };
      const serial = await measureWindowRate(put, { ...RUN, window: 1 });
      const pipelined = await measureWindowRate(put, { ...RUN, window: IN_FLIGHT });
      const gets = await measureWindowRate(
        async (i) => {
          if ((await store.get(`durable/k${i % KEYS}`)) === undefined)
            throw new Error(`key ${i % KEYS} missing`);
        },
        { ...RUN, window: IN_FLIGHT },
      );
      return { serial: { figure: serial }, pipelined: { figure: pipelined }, gets: { figure: gets } };
    } finally {
      await store.close();
    }
  } catch (err) {
    const f = failure(err);
    return { serial: f, pipelined: f, gets: f };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measureSbmpOverWs(): Promise<Outcome> {
  const lookup = await openSubject('sbmp-lmdb');
  if ('missing' in lookup) return { missing: lookup.missing };
  const { subject } = lookup;
  try {
    if (subject.endpoint.kind !== 'sbmp') throw new Error('not an SBMP endpoint');
    const client = await SbmpClient.connect({
      url: subject.endpoint.url,
      maxInFlight: IN_FLIGHT,
      reconnect: { enabled: false },
    });
    try {
      const figure = await measureWindowRate(
        async (i) => {
          const ack = await client.publish(`durable/k${i % KEYS}`, encodePayload(0, 0, i), {
            version: i + 1,
            contentType: CONTENT_TYPE,
          });
          if (ack.result !== 'applied') throw new Error(`publish ${i} was ${ack.result}`);
        },
        { ...RUN, window: IN_FLIGHT },
      );
      return { figure };
    } finally {
      await client.close();
    }
  } catch (err) {
    return failure(err);
  } finally {
    await subject.close();
  }
}

async function measureNatsKv(): Promise<{ serial: Outcome; pipelined: Outcome; gets: Outcome }> {
  const found = await natsPeer({ jetstream: true });
  if ('missing' in found) {
    const m = { missing: found.missing };
    return { serial: m, pipelined: m, gets: m };
  }
  let nc: NatsConnection | undefined;
  let kv: KV | undefined;
  try {
    nc = await connect({ servers: `${found.peer.host}:${found.peer.port}`, reconnect: false });
    kv = await new Kvm(nc).create(`sbmp_bench_${randomBytes(4).toString('hex')}`, { history: 1 });
    const bucket = kv;
    const put = (i: number) => bucket.put(`k${i % KEYS}`, encodePayload(0, 0, i));
    const serial = await measureWindowRate(put, { ...RUN, window: 1 });
    const pipelined = await measureWindowRate(put, { ...RUN, window: IN_FLIGHT });
    const gets = await measureWindowRate(
      async (i) => {
        if ((await bucket.get(`k${i % KEYS}`)) === null) throw new Error(`key ${i % KEYS} missing`);
      },
      { ...RUN, window: IN_FLIGHT },
    );
    return { serial: { figure: serial }, pipelined: { figure: pipelined }, gets: { figure: gets } };
  } catch (err) {
    const f = failure(err);
    return { serial: f, pipelined: f, gets: f };
  } finally {
    await kv?.destroy().catch(() => false);
    await nc?.close().catch(() => {});
    await found.peer.close();
  }
}
