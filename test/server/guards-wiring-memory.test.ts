// The memory watermark wired into a real server, under real memory pressure: the server runs in
// its own process (its memory limit computed from its own RSS) and allocates real memory there.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ErrorFrame } from '../../src/codec/frame-types.js';
import { PROTOCOL_VERSION } from '../../src/codec/frame-types.js';
import { WS_CLOSE } from '../../src/codec/ws-protocol.js';
import type { HealthReport } from '../../src/server/http/health.js';
import { FrameClient, metricValue, rawRequest, SseClient, WAIT_MS, withTimeout } from './helpers.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/guarded-server-process.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
/** The idle server sits at this fraction of its limit: well below the 75% recovery line. */
const BASELINE_RATIO = 0.4;

/** The fixture process: a JSON line per answer on stdout, one command per line on stdin. */
class GuardedServer {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  #answers: Record<string, unknown>[] = [];
  #waiters: ((answer: Record<string, unknown>) => void)[] = [];
  stderr = '';

  constructor(storeSpec: string) {
    this.child = spawn(
      process.execPath,
      ['--expose-gc', '--import', TSX, FIXTURE, storeSpec, String(BASELINE_RATIO)],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    this.exited = new Promise((resolve) => this.child.once('close', (code) => resolve(code)));
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const answer = JSON.parse(line) as Record<string, unknown>;
      const waiter = this.#waiters.shift();
      if (waiter === undefined) this.#answers.push(answer);
      else waiter(answer);
    });
  }

  /** The next answer line, within the test's bound. */
  answer(what: string): Promise<Record<string, unknown>> {
    const ready = this.#answers.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return withTimeout(
      new Promise((resolve) => this.#waiters.push(resolve)),
      `${what} (stderr: ${this.stderr.slice(-500)})`,
      30_000,
    );
  }

  async command(command: Record<string, unknown>): Promise<Record<string, unknown>> {
    this.child.stdin!.write(`${JSON.stringify(command)}\n`);
    const answer = await this.answer(`answer to ${command.cmd}`);
    assert.equal(answer.done, command.cmd, JSON.stringify(answer));
    return answer;
  }
}

async function put(url: string, key: string, state: unknown) {
  const res = await rawRequest(`${url}/sbmp/v3/state/${key}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(state),
  });
  return { ...res, json: JSON.parse(res.body) as Record<string, unknown> };
}

describe('memory watermark, wired, under real memory pressure', () => {
  let dir: string;
  let guarded: GuardedServer;
  let url: string;
  let wsUrl: string;
  let health: SseClient;
  /** Every acknowledged write: key -> version. */
  const acked = new Map<string, number>();

  /** The first health event after event number `from` whose report passes `match`. */
  async function healthAfter(from: number, match: (report: HealthReport) => boolean, what: string) {
    const event = await health.next(
      (e) =>
        health.events.indexOf(e) >= from && e.event === 'health' && match(JSON.parse(e.data) as HealthReport),
      what,
      WAIT_MS,
    );
    return JSON.parse(event.data) as HealthReport;
  }

  async function publishOk(key: string, state: unknown): Promise<void> {
    const res = await put(url, key, state);
    assert.equal(res.status, 200, res.body);
    acked.set(key, res.json.version as number);
  }

  /** Opens a WebSocket and sends HELLO; resolves with the ERROR and the close that follow. */
  async function refusedHello(): Promise<{ error: ErrorFrame; code: number }> {
    const client = await FrameClient.open(wsUrl);
    client.send({
      type: 'hello',
      protocolVersion: PROTOCOL_VERSION,
      clientId: 'late',
      stateEncoding: 'msgpack',
    });
    const error = (await client.next((f) => f.type === 'error', 'ERROR to HELLO')) as ErrorFrame;
    const { code } = await withTimeout(client.closed, 'close after the refused HELLO');
    return { error, code };
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sbmp-guards-memory-'));
    guarded = new GuardedServer(`lmdb:${join(dir, 'data')}`);
    const ready = await guarded.answer('server start-up');
    assert.equal(typeof ready.url, 'string', JSON.stringify(ready));
    url = ready.url as string;
    wsUrl = `${url.replace(/^http/, 'ws')}/sbmp/v3/ws`;
    health = await SseClient.open(`${url}/sbmp/v3/health/stream`);
    assert.equal(health.status, 200);
  });

  after(async () => {
    health?.close();
    if (guarded !== undefined) {
      guarded.child.kill('SIGTERM');
      const timer = setTimeout(() => guarded.child.kill('SIGKILL'), 10_000);
      await guarded.exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('sheds new work from 85%, refuses publishes from 92%, recovers below 75%, and loses nothing acknowledged', async () => {
    // Normal: everything is admitted.
    const normal = await healthAfter(0, (r) => r.guards.memory?.state === 'normal', 'a normal report');
    assert.equal(normal.guards.memory?.limitSource, 'explicit');
    assert.equal((await rawRequest(`${url}/readyz`)).status, 200);
    for (let i = 1; i <= 5; i++) await publishOk(`mem/before/${i}`, { i });
    const existing = await FrameClient.connect(wsUrl);

    // Shedding (85..92%): new connections and subscriptions are refused; publishes still go through.
    await guarded.command({ cmd: 'fill', ratio: 0.885 });
    let mark = health.events.length;
    const shedding = await healthAfter(mark, (r) => r.guards.memory?.state === 'shedding', 'shedding');
    assert.equal(shedding.status, 'degraded');
    assert.ok(shedding.guards.memory!.ratio >= 0.85, `ratio ${shedding.guards.memory!.ratio}`);

    const ws = await refusedHello();
    assert.equal(ws.error.code, 'overloaded');
    assert.equal(ws.error.retryable, true);
    assert.equal(ws.code, WS_CLOSE.tryAgainLater);

    const watch = await SseClient.open(`${url}/sbmp/v3/watch?pattern=mem/>`);
    assert.equal(watch.status, 503);
    assert.ok(Number(watch.headers['retry-after']) >= 1, 'Retry-After on the refused watch');
    assert.equal((await watch.errorBody()).code, 'overloaded');

    existing.send({ type: 'subscribe', subscriptionId: 7, pattern: 'mem/>' });
    const subRefused = (await existing.next(
      (f) => f.type === 'error' && f.subscriptionId === 7,
      'refused SUBSCRIBE',
    )) as ErrorFrame;
    assert.equal(subRefused.code, 'overloaded');

    const readyShedding = await rawRequest(`${url}/readyz`);
    assert.equal(readyShedding.status, 503);
    assert.equal(JSON.parse(readyShedding.body).code, 'overloaded');
    assert.equal(await metricValue(url, 'sbmp_memory_watermark_state', { state: 'shedding' }), 1);

    await publishOk('mem/shedding/1', { during: 'shedding' });
    const wsAck = await existing.publish('mem/shedding/2', { during: 'shedding' });
    assert.equal(wsAck.type, 'ack', JSON.stringify(wsAck));
    if (wsAck.type === 'ack') acked.set('mem/shedding/2', wsAck.version);

    // Critical (>= 92%): publishes are refused too, as retryable `overloaded`.
    await guarded.command({ cmd: 'fill', ratio: 0.97 });
    mark = health.events.length;
    await healthAfter(mark, (r) => r.guards.memory?.state === 'critical', 'critical');
    const refusedPut = await put(url, 'mem/critical/1', { lost: true });
    assert.equal(refusedPut.status, 503, refusedPut.body);
    assert.equal(refusedPut.json.code, 'overloaded');
    assert.ok(Number(refusedPut.headers['retry-after']) >= 1, 'Retry-After on the refused publish');
    const refusedFrame = await existing.publish('mem/critical/2', { lost: true });
    assert.equal(refusedFrame.type, 'error');
    if (refusedFrame.type === 'error') {
      assert.equal(refusedFrame.code, 'overloaded');
      assert.equal(refusedFrame.retryable, true);
    }
    assert.equal(await metricValue(url, 'sbmp_memory_watermark_state', { state: 'critical' }), 1);
    assert.ok((await metricValue(url, 'sbmp_guard_refusals_total', { action: 'publish' })) >= 2);
    assert.ok((await metricValue(url, 'sbmp_guard_refusals_total', { action: 'connection' })) >= 2);
    assert.ok((await metricValue(url, 'sbmp_memory_watermark_ratio')) >= 0.92);
    const vars = (await (await fetch(`${url}/debug/vars`)).json()) as { health: HealthReport };
    assert.equal(vars.health.guards.memory?.state, 'critical');

    // Released: below 75% everything is admitted again.
    await guarded.command({ cmd: 'release' });
    mark = health.events.length;
    const recovered = await healthAfter(mark, (r) => r.guards.memory?.state === 'normal', 'recovery');
    assert.ok(recovered.guards.memory!.ratio < 0.75, `ratio ${recovered.guards.memory!.ratio}`);
    assert.equal(recovered.status, 'ok');
    assert.equal((await rawRequest(`${url}/readyz`)).status, 200);
    assert.equal(await metricValue(url, 'sbmp_memory_watermark_state', { state: 'normal' }), 1);

    const late = await FrameClient.connect(wsUrl);
    late.send({ type: 'subscribe', subscriptionId: 1, pattern: 'mem/>' });
    await late.next((f) => f.type === 'snapshots' && f.synced === true, 'subscription admitted again');
    const watchAgain = await SseClient.open(`${url}/sbmp/v3/watch?pattern=mem/>`);
    assert.equal(watchAgain.status, 200);
    await watchAgain.next((e) => e.event === 'synced', 'SSE watch admitted again');
    watchAgain.close();
    await publishOk('mem/after/1', { after: true });

    // Nothing acknowledged was lost, and nothing refused was stored.
    for (const [key, version] of acked) {
      const res = await rawRequest(`${url}/sbmp/v3/state/${key}`);
      assert.equal(res.status, 200, `${key}: ${res.body}`);
      assert.equal(JSON.parse(res.body).version, version, key);
    }
    assert.equal((await rawRequest(`${url}/sbmp/v3/state/mem/critical/1`)).status, 404);
    assert.equal((await rawRequest(`${url}/sbmp/v3/state/mem/critical/2`)).status, 404);
    await late.close();
    await existing.close();
  });
});
