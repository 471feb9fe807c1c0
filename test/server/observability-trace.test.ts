import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { Frame, SnapshotEntry } from '../../src/codec/frame-types.js';
import { encodeState } from '../../src/codec/state.js';
import { isSbmpError } from '../../src/core/errors.js';
import {
  checkTraceContext,
  checkTracestate,
  parseTraceContextV2,
  parseTraceparent,
  traceFromHeaders,
  traceResponseHeaders,
} from '../../src/server/observability/trace-context.js';
import type { SseClient, TestServer } from './helpers.js';
import { FrameClient, rawRequest, SseClient as Sse, startTestServer } from './helpers.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${SPAN_ID}-01`;

function headersOf(map: Record<string, string>): (name: string) => string | undefined {
  return (name) => map[name];
}

function refused(run: () => unknown, what: string): void {
  assert.throws(run, (err: unknown) => isSbmpError(err, 'bad_request'), what);
}

describe('trace context parsing', () => {
  test('a valid traceparent parses; version 00 is exact, later versions keep their first four fields', () => {
    assert.deepEqual(parseTraceparent(TRACEPARENT), { traceId: TRACE_ID, spanId: SPAN_ID, flags: 1 });
    assert.deepEqual(parseTraceparent(` 01-${TRACE_ID}-${SPAN_ID}-00-extra `), {
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      flags: 0,
    });
    assert.deepEqual(checkTraceContext({ traceparent: `01-${TRACE_ID}-${SPAN_ID}-01-x` }), {
      traceparent: TRACEPARENT,
    });
  });

  test('malformed traceparents are bad_request', () => {
    const cases = [
      'nope',
      '',
      `ff-${TRACE_ID}-${SPAN_ID}-01`,
      `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`,
      `00-${'0'.repeat(32)}-${SPAN_ID}-01`,
      `00-${TRACE_ID}-${'0'.repeat(16)}-01`,
      `00-${TRACE_ID}-${SPAN_ID}-1`,
      `00-${TRACE_ID}-${SPAN_ID}-01-extra`,
      `01-${TRACE_ID}-${SPAN_ID}-01x`,
      `${TRACEPARENT}, ${TRACEPARENT}`,
      `00-${TRACE_ID}-${SPAN_ID}-0g`,
    ];
    for (const text of cases) refused(() => parseTraceparent(text), text);
  });

  test('tracestate: W3C members are kept (trimmed), bad ones refused, limits enforced', () => {
    assert.equal(
      checkTracestate(' rojo=00f067aa0ba902b7 , congo=t61rcWkgMzE,,'),
      'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
    );
    assert.equal(checkTracestate('tenant@system=v'), 'tenant@system=v');
    assert.equal(checkTracestate(' , '), undefined);
    for (const bad of ['novalue', 'Upper=1', 'a=b=c', 'a=1,a=2', 'a=café', 'a=tab\there', '=x']) {
      refused(() => checkTracestate(bad), bad);
    }
    const members = Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',');
    refused(() => checkTracestate(members), '33 members');
    refused(
      () => checkTracestate(`a=${'x'.repeat(250)},b=${'y'.repeat(250)},c=${'z'.repeat(20)}`),
      'over 512',
    );
  });

  test('X-SBMP-Trace-Context-V2 parses; the weight is required and must be a finite decimal >= 0', () => {
    assert.deepEqual(parseTraceContextV2(`${TRACE_ID.toUpperCase()}-${SPAN_ID};w=0.25`), {
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      weight: 0.25,
    });
    assert.equal(parseTraceContextV2(`${TRACE_ID}-${SPAN_ID} ; w = 1e3`).weight, 1000);
    const cases = [
      `${TRACE_ID}-${SPAN_ID}`,
      `${TRACE_ID}-${SPAN_ID};w=`,
      `${TRACE_ID}-${SPAN_ID};w=-1`,
      `${TRACE_ID}-${SPAN_ID};w=NaN`,
      `${TRACE_ID}-${SPAN_ID};w=Infinity`,
      `${TRACE_ID}-${SPAN_ID};w=1e999`,
      `${TRACE_ID}-${SPAN_ID};w=1;w=2`,
      `${TRACE_ID}-${SPAN_ID};x=1;w=1`,
      `${TRACE_ID}${SPAN_ID};w=1`,
      `${TRACE_ID.slice(1)}-${SPAN_ID};w=1`,
      `${'0'.repeat(32)}-${SPAN_ID};w=1`,
      `${TRACE_ID}-${SPAN_ID};w=${'1'.repeat(200)}`,
    ];
    for (const text of cases) refused(() => parseTraceContextV2(text), text);
  });

  test('headers: V2 becomes W3C (sampled = weight > 0, weight in tracestate) and comes back the same', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9a-f]{32}$/).filter((s) => /[1-9a-f]/.test(s)),
        fc.stringMatching(/^[0-9a-f]{16}$/).filter((s) => /[1-9a-f]/.test(s)),
        fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1e9, noNaN: true })),
        (traceId, spanId, weight) => {
          const trace = traceFromHeaders(
            headersOf({ 'x-sbmp-trace-context-v2': `${traceId}-${spanId};w=${String(weight)}` }),
          );
          assert.ok(trace !== undefined);
          assert.equal(trace.traceparent, `00-${traceId}-${spanId}-${weight > 0 ? '01' : '00'}`);
          assert.equal(trace.tracestate, `sbmp=w:${String(weight)}`);
          const out = traceResponseHeaders(trace);
          assert.equal(out.traceparent, trace.traceparent);
          assert.deepEqual(parseTraceContextV2(out['X-SBMP-Trace-Context-V2']!), { traceId, spanId, weight });
        },
      ),
      { numRuns: 200 },
    );
  });

  test('headers: both forms for the same span merge; different spans, or tracestate alone, are refused', () => {
    const merged = traceFromHeaders(
      headersOf({
        traceparent: TRACEPARENT,
        tracestate: 'rojo=1,sbmp=w:9',
        'x-sbmp-trace-context-v2': `${TRACE_ID}-${SPAN_ID};w=2`,
      }),
    );
    assert.deepEqual(merged, { traceparent: TRACEPARENT, tracestate: 'sbmp=w:2,rojo=1' });
    assert.equal(traceFromHeaders(headersOf({})), undefined);
    refused(
      () =>
        traceFromHeaders(
          headersOf({
            traceparent: TRACEPARENT,
            'x-sbmp-trace-context-v2': `${TRACE_ID}-${'1'.repeat(16)};w=1`,
          }),
        ),
      'disagreement',
    );
    refused(() => traceFromHeaders(headersOf({ tracestate: 'rojo=1' })), 'tracestate alone');
    // Without the sbmp member, the weight comes from the sampled flag.
    assert.equal(
      traceResponseHeaders({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-00` })['X-SBMP-Trace-Context-V2'],
      `${TRACE_ID}-${SPAN_ID};w=0`,
    );
    assert.deepEqual(traceResponseHeaders(undefined), {});
  });
});

describe('one trace from publish to every delivery (real server, real clients)', () => {
  let t: TestServer;
  let ws: FrameClient;
  let sse: SseClient;

  before(async () => {
    t = await startTestServer();
    ws = await FrameClient.connect(t.wsUrl);
    ws.send({ type: 'subscribe', subscriptionId: 1, pattern: 'traced/>' });
    await ws.next((f) => f.type === 'snapshots' && f.synced === true, 'WS synced');
    sse = await Sse.open(`${t.url}/sbmp/v3/watch?pattern=traced/>`);
    await sse.next((e) => e.event === 'synced', 'SSE synced');
  });

  after(async () => {
    sse.close();
    await ws.close();
    await t.close();
  });

  function wsEntry(key: string, version: number): Promise<SnapshotEntry> {
    const has = (f: Frame) =>
      f.type === 'snapshots' && f.entries.some((e) => e.key === key && e.version === version);
    return ws.next(has, `WS delivery of ${key}@${version}`).then((frame) => {
      assert.equal(frame.type, 'snapshots');
      return frame.entries.find((e) => e.key === key && e.version === version)!;
    });
  }

  async function sseSnapshot(
    key: string,
    version: number,
  ): Promise<{ trace?: { traceparent: string; tracestate?: string } }> {
    const event = await sse.next((e) => {
      if (e.event !== 'message') return false;
      const s = JSON.parse(e.data) as { key: string; version: number };
      return s.key === key && s.version === version;
    }, `SSE delivery of ${key}@${version}`);
    return JSON.parse(event.data);
  }

  async function put(key: string, headers: Record<string, string>, method = 'PUT') {
    return rawRequest(`${t.url}/sbmp/v3/state/${key}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: method === 'PUT' ? JSON.stringify({ at: key }) : undefined,
    });
  }

  test('traceparent + tracestate on an HTTP PUT reach the WS and SSE subscribers and GET', async () => {
    const res = await put('traced/http', { traceparent: TRACEPARENT, tracestate: 'rojo=00f067aa0ba902b7' });
    assert.equal(res.status, 200, res.body);
    const expected = { traceparent: TRACEPARENT, tracestate: 'rojo=00f067aa0ba902b7' };
    assert.deepEqual((await wsEntry('traced/http', 1)).trace, expected);
    assert.deepEqual((await sseSnapshot('traced/http', 1)).trace, expected);
    const got = await rawRequest(`${t.url}/sbmp/v3/state/traced/http`);
    assert.equal(got.status, 200);
    assert.deepEqual(JSON.parse(got.body).trace, expected);
    assert.equal(got.headers.traceparent, TRACEPARENT);
    assert.equal(got.headers.tracestate, 'rojo=00f067aa0ba902b7');
    assert.equal(got.headers['x-sbmp-trace-context-v2'], `${TRACE_ID}-${SPAN_ID};w=1`);
  });

  test('X-SBMP-Trace-Context-V2 on a PUT is carried as W3C and emitted again on GET', async () => {
    const traceId = 'a'.repeat(32);
    const spanId = 'b'.repeat(16);
    const res = await put('traced/v2', { 'x-sbmp-trace-context-v2': `${traceId}-${spanId};w=0.125` });
    assert.equal(res.status, 200, res.body);
    const expected = { traceparent: `00-${traceId}-${spanId}-01`, tracestate: 'sbmp=w:0.125' };
    assert.deepEqual((await wsEntry('traced/v2', 1)).trace, expected);
    assert.deepEqual((await sseSnapshot('traced/v2', 1)).trace, expected);
    const got = await rawRequest(`${t.url}/sbmp/v3/state/traced/v2`);
    assert.equal(got.headers['x-sbmp-trace-context-v2'], `${traceId}-${spanId};w=0.125`);
    assert.equal(got.headers.traceparent, expected.traceparent);
    const unsampled = await put('traced/v2-zero', { 'x-sbmp-trace-context-v2': `${traceId}-${spanId};w=0` });
    assert.equal(unsampled.status, 200);
    assert.equal((await wsEntry('traced/v2-zero', 1)).trace?.traceparent, `00-${traceId}-${spanId}-00`);
  });

  test('a WS PUBLISH trace reaches the WS and SSE subscribers', async () => {
    const publisher = await FrameClient.connect(t.wsUrl);
    try {
      const trace = {
        traceparent: `00-${'c'.repeat(32)}-${'d'.repeat(16)}-01`,
        tracestate: 'congo=t61rcWkgMzE',
      };
      publisher.send({
        type: 'publish',
        requestId: 1,
        key: 'traced/ws',
        state: encodeState({ via: 'ws' }, 'msgpack'),
        trace,
      });
      const ack = await publisher.next((f) => f.type === 'ack' || f.type === 'error', 'ACK');
      assert.equal(ack.type, 'ack');
      assert.deepEqual((await wsEntry('traced/ws', 1)).trace, trace);
      assert.deepEqual((await sseSnapshot('traced/ws', 1)).trace, trace);
    } finally {
      await publisher.close();
    }
  });

  test('a DELETE carries its trace to the tombstone delivery', async () => {
    assert.equal((await put('traced/gone', {})).status, 200);
    const traceparent = `00-${'e'.repeat(32)}-${'f'.repeat(16)}-01`;
    const res = await put('traced/gone', { traceparent, 'sbmp-version': '2' }, 'DELETE');
    assert.equal(res.status, 200, res.body);
    const entry = await wsEntry('traced/gone', 2);
    assert.equal(entry.deleted, true);
    assert.deepEqual(entry.trace, { traceparent });
    assert.deepEqual((await sseSnapshot('traced/gone', 2)).trace, { traceparent });
  });

  test('malformed trace headers are 400 bad_request and nothing is written', async () => {
    const cases: Record<string, string>[] = [
      { traceparent: `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01` },
      { traceparent: `00-${'0'.repeat(32)}-${SPAN_ID}-01` },
      { traceparent: TRACEPARENT, tracestate: 'Bad Key=1' },
      { tracestate: 'rojo=1' },
      { 'x-sbmp-trace-context-v2': `${TRACE_ID}-${SPAN_ID}` },
      { 'x-sbmp-trace-context-v2': `${TRACE_ID}-${SPAN_ID};w=-0.5` },
      { traceparent: TRACEPARENT, 'x-sbmp-trace-context-v2': `${'1'.repeat(32)}-${SPAN_ID};w=1` },
    ];
    for (const headers of cases) {
      const res = await put('traced/refused', headers);
      assert.equal(res.status, 400, JSON.stringify(headers));
      assert.equal(JSON.parse(res.body).code, 'bad_request', JSON.stringify(headers));
    }
    const del = await put('traced/http', { traceparent: 'nope', 'sbmp-version': '9' }, 'DELETE');
    assert.equal(del.status, 400);
    assert.equal((await rawRequest(`${t.url}/sbmp/v3/state/traced/refused`)).status, 404);
    assert.equal(JSON.parse((await rawRequest(`${t.url}/sbmp/v3/state/traced/http`)).body).version, 1);
  });

  test('a WS PUBLISH with a malformed trace gets ERROR bad_request for its request id', async () => {
    const publisher = await FrameClient.connect(t.wsUrl);
    try {
      publisher.send({
        type: 'publish',
        requestId: 7,
        key: 'traced/ws-bad',
        state: encodeState(1, 'msgpack'),
        trace: { traceparent: `00-${'0'.repeat(32)}-${SPAN_ID}-01` },
      });
      const answer = await publisher.next((f) => f.type === 'ack' || f.type === 'error', 'answer');
      assert.equal(answer.type, 'error');
      assert.equal(answer.code, 'bad_request');
      assert.equal(answer.requestId, 7);
      assert.equal((await rawRequest(`${t.url}/sbmp/v3/state/traced/ws-bad`)).status, 404);
    } finally {
      await publisher.close();
    }
  });
});
