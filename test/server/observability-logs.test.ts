import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { encodeState } from '../../src/codec/state.js';
import { isSbmpError } from '../../src/core/errors.js';
import { defaultLogger } from '../../src/server/observability/logging.js';
import type { SbmpServer } from '../../src/server/server.js';
import { startServer } from '../../src/server/server.js';
import { MemoryStore } from '../../src/store/memory.js';
import { FrameClient, rawRequest, withTimeout } from './helpers.js';

type LogLine = Record<string, unknown>;

/** A pino destination that keeps every line parsed and lets a test wait for one. */
class LogCapture {
  readonly lines: LogLine[] = [];
  #waiters: { match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];

  write(text: string): void {
    const line = JSON.parse(text) as LogLine;
    this.lines.push(line);
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.match(line)) return true;
      w.resolve(line);
      return false;
    });
  }

  next(match: (line: LogLine) => boolean, what: string): Promise<LogLine> {
    const seen = this.lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return withTimeout(new Promise((resolve) => this.#waiters.push({ match, resolve })), what);
  }
}

const capture = new LogCapture();
const store = new MemoryStore();
let server: SbmpServer;

before(async () => {
  server = await startServer({ store, port: 0, serverId: 'logs', logger: pino({ level: 'debug' }, capture) });
});

after(async () => {
  await server.close({ drainMs: 1000 });
  await store.close();
});

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';

describe('structured logs', () => {
  test('an HTTP publish logs its request id and trace id; the id is echoed in the response', async () => {
    const res = await rawRequest(`${server.url}/sbmp/v3/state/logs/http`, {
      method: 'PUT',
      headers: {
        'content-type': 'application/json',
        'x-request-id': 'req-42.a:b',
        traceparent: `00-${TRACE_ID}-b7ad6b7169203331-01`,
      },
      body: '{"n":1}',
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-request-id'], 'req-42.a:b');
    const line = await capture.next((l) => l.msg === 'publish' && l.key === 'logs/http', 'publish line');
    assert.equal(line.requestId, 'req-42.a:b');
    assert.equal(line.traceId, TRACE_ID);
    assert.equal(line.transport, 'http');
    assert.equal(line.result, 'applied');
    assert.equal(line.version, 1);
    assert.equal(typeof line.revision, 'number');
    assert.equal(typeof line.durationMs, 'number');
    assert.equal(line.level, 20, 'publish lines are at debug');
    const request = await capture.next(
      (l) => l.msg === 'request' && l.requestId === 'req-42.a:b',
      'request line',
    );
    assert.equal(request.status, 200);
    assert.equal(request.method, 'PUT');
    assert.equal(request.path, '/sbmp/v3/state/logs/http');
  });

  test('a malformed or missing X-Request-Id is replaced by a generated one, on every response', async () => {
    for (const given of ['has space', 'x'.repeat(129), 'new\u00e9line', undefined]) {
      const headers: Record<string, string> = given === undefined ? {} : { 'x-request-id': given };
      const res = await rawRequest(`${server.url}/sbmp/v3/state/logs/missing`, { headers });
      assert.equal(res.status, 404);
      const id = res.headers['x-request-id'];
      assert.match(
        String(id),
        /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
        String(given),
      );
      await capture.next(
        (l) => l.msg === 'request' && l.requestId === id,
        'request line with the generated id',
      );
    }
  });

  test('a refused publish is logged with its request id and code', async () => {
    const res = await rawRequest(`${server.url}/sbmp/v3/state/logs/deep`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-request-id': 'deep-1' },
      body: `${'['.repeat(300)}${']'.repeat(300)}`,
    });
    assert.equal(res.status, 400);
    const line = await capture.next(
      (l) => l.msg === 'publish refused' && l.requestId === 'deep-1',
      'refusal',
    );
    assert.equal(line.code, 'bad_state');
    assert.equal(line.key, 'logs/deep');
  });

  test('a WebSocket publish logs its connection id and trace id', async () => {
    const client = await FrameClient.connect(`${server.url.replace(/^http/, 'ws')}/sbmp/v3/ws`);
    try {
      const connected = await capture.next((l) => l.msg === 'websocket client connected', 'connect line');
      assert.equal(typeof connected.connection, 'number');
      client.send({
        type: 'publish',
        requestId: 1,
        key: 'logs/ws',
        state: encodeState(1, 'msgpack'),
        trace: { traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01` },
      });
      const line = await capture.next((l) => l.msg === 'publish' && l.key === 'logs/ws', 'ws publish line');
      assert.equal(line.connection, connected.connection);
      assert.equal(line.traceId, TRACE_ID);
      assert.equal(line.transport, 'ws');
      assert.equal(line.requestId, undefined);
    } finally {
      await client.close();
    }
  });

  test('SBMP_LOG_LEVEL sets the default logger level; an unknown one is bad_config', () => {
    assert.equal(defaultLogger({ SBMP_LOG_LEVEL: 'warn' }).level, 'warn');
    assert.equal(defaultLogger({}).level, 'info');
    assert.throws(
      () => defaultLogger({ SBMP_LOG_LEVEL: 'loud' }),
      (err: unknown) => isSbmpError(err, 'bad_config'),
    );
  });

  test('at level info, a store failure is still logged at error with its request id; a refusal is not', async () => {
    // The server's fast path (no tracing SDK, no debug line) skips the publish span but must
    // still report the server's own faults.
    class BrokenStore extends MemoryStore {
      override put(input: Parameters<MemoryStore['put']>[0], options?: Parameters<MemoryStore['put']>[1]) {
        if (input.key.startsWith('broken/')) return Promise.reject(new Error('disk on fire'));
        return super.put(input, options);
      }
    }
    const lines = new LogCapture();
    const brokenStore = new BrokenStore();
    const quiet = await startServer({
      store: brokenStore,
      port: 0,
      serverId: 'logs-info',
      logger: pino({ level: 'info' }, lines),
    });
    try {
      const failed = await rawRequest(`${quiet.url}/sbmp/v3/state/broken/one`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', 'x-request-id': 'req-broken' },
        body: '{"n":1}',
      });
      assert.equal(failed.status, 500);
      const line = await lines.next((l) => l.msg === 'publish failed', 'the publish failed line');
      assert.equal(line.level, 50);
      assert.equal(line.code, 'internal');
      assert.equal(line.requestId, 'req-broken');
      assert.equal(line.key, 'broken/one');
      assert.match(String((line.err as { message?: string }).message), /disk on fire/);

      const refused = await rawRequest(`${quiet.url}/sbmp/v3/state/fine/one`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', 'sbmp-version': '0' },
        body: '{"n":1}',
      });
      assert.equal(refused.status, 400);
      assert.equal(
        lines.lines.filter((l) => l.msg === 'publish failed' || l.msg === 'publish refused').length,
        1,
        'only the store failure is logged',
      );
    } finally {
      await quiet.close({ drainMs: 500 });
      await brokenStore.close();
    }
  });
});
