import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { AckFrame, SnapshotsFrame } from '../../src/codec/frame-types.js';
import { encodeState } from '../../src/codec/state.js';
import { FrameClient, withTimeout } from './helpers.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/server-process.ts', import.meta.url));
const KEYS = 40;
/** Acknowledged publishes before the kill. */
const ACKS_BEFORE_KILL = 600;

const children = new Set<ChildProcess>();
const dirs: string[] = [];
after(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** Starts the fixture server on `lmdb:<dir>` and resolves with its URL once it is serving. */
async function startFixture(dir: string): Promise<{ child: ChildProcess; url: string; wsUrl: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, `lmdb:${dir}`, '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const lines = createInterface({ input: child.stdout! });
  const first = await withTimeout(
    new Promise<string>((resolve, reject) => {
      lines.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`fixture exited with ${code} before serving`)));
    }),
    'fixture start',
    30_000,
  );
  const info = JSON.parse(first) as { url?: string; error?: unknown };
  assert.ok(info.url, `fixture failed: ${JSON.stringify(info.error)}`);
  return { child, url: info.url, wsUrl: `${info.url.replace(/^http/, 'ws')}/sbmp/v3/ws` };
}

/** Applies SNAPSHOTS frames like a client: apply rules per key, resume from the frames' revision. */
class TrackingReplica {
  readonly versions = new Map<string, number>();
  readonly states = new Map<string, unknown>();
  readonly regressions: string[] = [];
  resumeRevision = 0;

  attach(client: FrameClient): void {
    client.ws.on('message', () => {
      const frame = client.frames[client.frames.length - 1];
      if (frame?.type === 'snapshots') this.apply(client, frame);
    });
  }

  apply(client: FrameClient, frame: SnapshotsFrame): void {
    for (const entry of frame.entries) {
      const held = this.versions.get(entry.key) ?? 0;
      if (entry.version < held) this.regressions.push(`${entry.key}: ${held} -> ${entry.version}`);
      if (entry.version <= held) continue;
      this.versions.set(entry.key, entry.version);
      this.states.set(entry.key, client.state(entry));
    }
    if (frame.revision !== undefined && frame.revision > this.resumeRevision)
      this.resumeRevision = frame.revision;
  }
}

test('SIGKILL mid-stream: acknowledged publishes survive, a resumed subscriber never regresses and converges', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sbmp-server-kill-'));
  dirs.push(dir);
  const first = await startFixture(dir);

  const replica = new TrackingReplica();
  const subscriber = await FrameClient.connect(first.wsUrl);
  replica.attach(subscriber);
  subscriber.send({ type: 'subscribe', subscriptionId: 1, pattern: 'kill/>' });
  await subscriber.next((f) => f.type === 'snapshots' && f.synced === true, 'synced');

  // Publish continuously, recording what was acknowledged, until the kill cuts the stream.
  const publisher = await FrameClient.connect(first.wsUrl);
  const acked = new Map<string, number>();
  let ackCount = 0;
  let requestId = 0;
  const inFlight = new Map<number, string>();
  publisher.ws.on('message', () => {
    const frame = publisher.frames[publisher.frames.length - 1];
    if (frame?.type !== 'ack') return;
    const key = inFlight.get(frame.requestId);
    inFlight.delete(frame.requestId);
    if (key === undefined || frame.result !== 'applied') return;
    acked.set(key, Math.max(acked.get(key) ?? 0, frame.version));
    ackCount++;
  });
  const killed = withTimeout(
    new Promise<void>((resolve) => {
      const pump = () => {
        if (ackCount >= ACKS_BEFORE_KILL) {
          first.child.kill('SIGKILL');
          resolve();
          return;
        }
        while (inFlight.size < 64) {
          const id = ++requestId;
          const key = `kill/k${id % KEYS}`;
          inFlight.set(id, key);
          publisher.send({ type: 'publish', requestId: id, key, state: encodeState({ id }, 'msgpack') });
        }
        setImmediate(pump);
      };
      pump();
    }),
    'publishing until the kill',
    30_000,
  );
  await killed;
  await withTimeout(
    new Promise<void>((resolve) =>
      first.child.exitCode !== null ? resolve() : first.child.once('exit', () => resolve()),
    ),
    'child exit',
  );
  await Promise.all([
    withTimeout(subscriber.closed, 'subscriber cut'),
    withTimeout(publisher.closed, 'publisher cut'),
  ]);
  assert.ok(replica.versions.size > 0, 'the subscriber received live changes before the kill');
  assert.ok(replica.resumeRevision > 0, 'live frames carried a resume point');

  const second = await startFixture(dir);
  try {
    // Acknowledged means durable.
    for (const [key, version] of acked) {
      const res = await fetch(`${second.url}/sbmp/v3/state/${key}`);
      assert.equal(res.status, 200, key);
      const body = (await res.json()) as { version: number };
      assert.ok(body.version >= version, `${key}: acknowledged ${version}, store has ${body.version}`);
    }

    const resumed = await FrameClient.connect(second.wsUrl);
    replica.attach(resumed);
    resumed.send({
      type: 'subscribe',
      subscriptionId: 1,
      pattern: 'kill/>',
      sinceRevision: replica.resumeRevision,
    });
    await resumed.next((f) => f.type === 'snapshots' && f.synced === true, 'resumed synced');
    const more = await FrameClient.connect(second.wsUrl);
    const after = (await more.publish('kill/k0', { after: true })) as AckFrame;
    assert.equal(after.result, 'applied');
    await resumed.next(
      (f) =>
        f.type === 'snapshots' && f.entries.some((e) => e.key === 'kill/k0' && e.version === after.version),
      'live change after the restart',
    );

    assert.deepEqual(replica.regressions, []);
    const listing = (await (await fetch(`${second.url}/sbmp/v3/state?prefix=kill/&limit=1000`)).json()) as {
      items: { key: string; version: number; state: unknown }[];
    };
    assert.equal(listing.items.length, replica.versions.size);
    for (const item of listing.items) {
      assert.equal(replica.versions.get(item.key), item.version, `${item.key} converged`);
      assert.deepEqual(replica.states.get(item.key), item.state, `${item.key} state`);
    }
    await Promise.all([resumed.close(), more.close()]);
  } finally {
    second.child.kill('SIGTERM');
    await withTimeout(
      new Promise<void>((resolve) =>
        second.child.exitCode !== null ? resolve() : second.child.once('exit', () => resolve()),
      ),
      'fixture exit on SIGTERM',
    );
  }
  assert.equal(second.child.exitCode, 0, 'graceful exit on SIGTERM');
});
