import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Frame, SnapshotEntry } from '../../src/codec/frame-types.js';
import { encodeState } from '../../src/codec/state.js';
import type { SseClient, TestServer } from './helpers.js';
import { FrameClient, rawRequest, SseClient as Sse, startTestServer, withTimeout } from './helpers.js';
import type { RecordedSpan } from './recording-tracer.js';
import { RecordingTracerProvider } from './recording-tracer.js';

const provider = new RecordingTracerProvider();
let t: TestServer;
let ws: FrameClient;
let sse: SseClient;

before(async () => {
  assert.equal(trace.setGlobalTracerProvider(provider), true, 'no other tracer provider is registered');
  t = await startTestServer();
  ws = await FrameClient.connect(t.wsUrl);
  ws.send({ type: 'subscribe', subscriptionId: 1, pattern: 'spans/>' });
  await ws.next((f) => f.type === 'snapshots' && f.synced === true, 'WS synced');
  sse = await Sse.open(`${t.url}/sbmp/v3/watch?pattern=spans/>`);
  await sse.next((e) => e.event === 'synced', 'SSE synced');
});

after(async () => {
  sse.close();
  await ws.close();
  await t.close();
  trace.disable();
});

function span(match: (span: RecordedSpan) => boolean, what: string): Promise<RecordedSpan> {
  return withTimeout(provider.next(match), what);
}

function publishSpanOf(key: string): Promise<RecordedSpan> {
  return span((s) => s.name === 'sbmp.publish' && s.attributes['sbmp.key'] === key, `sbmp.publish of ${key}`);
}

function deliverSpanOf(key: string, transport: 'ws' | 'sse'): Promise<RecordedSpan> {
  return span(
    (s) =>
      s.name === 'sbmp.deliver' &&
      s.attributes['sbmp.key'] === key &&
      s.attributes['sbmp.transport'] === transport,
    `sbmp.deliver of ${key} over ${transport}`,
  );
}

async function wsEntry(key: string): Promise<SnapshotEntry> {
  const frame = await ws.next(
    (f: Frame) => f.type === 'snapshots' && f.entries.some((e) => e.key === key),
    `WS delivery of ${key}`,
  );
  assert.equal(frame.type, 'snapshots');
  return frame.entries.find((e) => e.key === key)!;
}

async function sseTrace(key: string): Promise<string | undefined> {
  const event = await sse.next(
    (e) => e.event === 'message' && (JSON.parse(e.data) as { key: string }).key === key,
    `SSE delivery of ${key}`,
  );
  return (JSON.parse(event.data) as { trace?: { traceparent: string } }).trace?.traceparent;
}

/** Checks the publish span's parent and that both deliveries hang under it, sharing one trace id. */
async function followTrace(key: string, traceId: string, producerSpanId: string, transport: string) {
  const publish = await publishSpanOf(key);
  assert.equal(publish.kind, SpanKind.SERVER);
  assert.equal(publish.parent?.traceId, traceId, 'the publish span continues the producer trace');
  assert.equal(publish.parent?.spanId, producerSpanId, "the producer's span is its parent");
  assert.equal(publish.attributes['sbmp.transport'], transport);
  assert.equal(publish.attributes['sbmp.result'], 'applied');
  assert.equal(publish.attributes['sbmp.version'], 1);
  assert.equal(typeof publish.attributes['sbmp.revision'], 'number');
  const own = publish.spanContext();
  // Subscribers receive the trace context of the publish span, so their own spans nest under it.
  const delivered = `00-${traceId}-${own.spanId}-01`;
  assert.equal((await wsEntry(key)).trace?.traceparent, delivered);
  assert.equal(await sseTrace(key), delivered);
  for (const via of ['ws', 'sse'] as const) {
    const deliver = await deliverSpanOf(key, via);
    assert.equal(deliver.kind, SpanKind.PRODUCER);
    assert.equal(deliver.parent?.traceId, traceId, `${via} delivery is in the same trace`);
    assert.equal(deliver.parent?.spanId, own.spanId, `${via} delivery is a child of sbmp.publish`);
    assert.deepEqual(
      deliver.links.map((l) => l.context.spanId),
      [own.spanId],
    );
  }
}

describe('spans through @opentelemetry/api', () => {
  test('an HTTP PUT with traceparent: sbmp.publish under the producer span, deliveries under it', async () => {
    const traceId = '1'.repeat(32);
    const spanId = '2'.repeat(16);
    const res = await rawRequest(`${t.url}/sbmp/v3/state/spans/http`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${spanId}-01` },
      body: '{"n":1}',
    });
    assert.equal(res.status, 200, res.body);
    await followTrace('spans/http', traceId, spanId, 'http');
  });

  test('a WS PUBLISH with a trace: the same chain', async () => {
    const traceId = '3'.repeat(32);
    const spanId = '4'.repeat(16);
    const publisher = await FrameClient.connect(t.wsUrl);
    try {
      publisher.send({
        type: 'publish',
        requestId: 1,
        key: 'spans/ws',
        state: encodeState({ n: 1 }, 'msgpack'),
        trace: { traceparent: `00-${traceId}-${spanId}-01` },
      });
      const ack = await publisher.next((f) => f.type === 'ack' || f.type === 'error', 'ACK');
      assert.equal(ack.type, 'ack');
      await followTrace('spans/ws', traceId, spanId, 'ws');
    } finally {
      await publisher.close();
    }
  });

  test('a publish without a trace starts one, and the deliveries join it', async () => {
    const res = await rawRequest(`${t.url}/sbmp/v3/state/spans/untraced`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '1',
    });
    assert.equal(res.status, 200);
    const publish = await publishSpanOf('spans/untraced');
    assert.equal(publish.parent, undefined);
    const own = publish.spanContext();
    assert.equal((await wsEntry('spans/untraced')).trace?.traceparent, `00-${own.traceId}-${own.spanId}-01`);
    const deliver = await deliverSpanOf('spans/untraced', 'ws');
    assert.equal(deliver.parent?.spanId, own.spanId);
  });

  test('outcomes and failures are on the publish span', async () => {
    const url = `${t.url}/sbmp/v3/state/spans/outcomes`;
    const headers = { 'content-type': 'application/json', 'sbmp-version': '5' };
    assert.equal((await rawRequest(url, { method: 'PUT', headers, body: '1' })).status, 200);
    assert.equal((await rawRequest(url, { method: 'PUT', headers, body: '2' })).status, 409);
    const conflict = await span(
      (s) => s.attributes['sbmp.key'] === 'spans/outcomes' && s.attributes['sbmp.result'] === 'conflict',
      'conflict span',
    );
    assert.equal(conflict.status.code, SpanStatusCode.UNSET, 'a conflict is an outcome, not an error');
    // 300 nested arrays: valid JSON, refused by the store as bad_state.
    const deep = `${'['.repeat(300)}${']'.repeat(300)}`;
    const refused = await rawRequest(`${t.url}/sbmp/v3/state/spans/deep`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: deep,
    });
    assert.equal(refused.status, 400);
    const failed = await publishSpanOf('spans/deep');
    assert.equal(failed.attributes['sbmp.result'], 'error');
    assert.equal(failed.attributes['sbmp.error.code'], 'bad_state');
    assert.equal(failed.status.code, SpanStatusCode.ERROR);
    assert.equal(failed.exceptions.length, 1);
  });
});
