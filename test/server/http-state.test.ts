import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestServer } from './helpers.js';
import { rawRequest, startTestServer } from './helpers.js';

let t: TestServer;
before(async () => {
  t = await startTestServer();
});
after(async () => {
  await t.close();
});

function stateUrl(key: string): string {
  return `${t.url}/sbmp/v3/state/${key}`;
}

async function put(key: string, state: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(stateUrl(key), {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(state),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

describe('PUT /sbmp/v3/state/{key}', () => {
  test('without a version the store assigns the next one', async () => {
    const first = await put('put/next', { n: 1 });
    assert.equal(first.status, 200);
    assert.deepEqual(first.body, {
      key: 'put/next',
      version: 1,
      revision: first.body.revision,
      result: 'applied',
    });
    assert.equal(first.headers.get('etag'), '"1"');
    const second = await put('put/next', { n: 2 });
    assert.equal(second.body.version, 2);
    assert.ok((second.body.revision as number) > (first.body.revision as number));
  });

  test('SBMP-Version applies, repeats as duplicate, refuses older as stale (409 with current)', async () => {
    const applied = await put('put/versioned', { a: 1 }, { 'sbmp-version': '17' });
    assert.equal(applied.status, 200);
    assert.equal(applied.body.result, 'applied');
    assert.equal(applied.body.version, 17);
    const duplicate = await put('put/versioned', { a: 1 }, { 'sbmp-version': '17' });
    assert.equal(duplicate.status, 200);
    assert.equal(duplicate.body.result, 'duplicate');
    const conflict = await put('put/versioned', { a: 2 }, { 'sbmp-version': '17' });
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.code, 'conflict');
    assert.equal(conflict.body.current, 17);
    const stale = await put('put/versioned', { a: 0 }, { 'sbmp-version': '16' });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.code, 'stale');
    assert.equal(stale.body.current, 17);
    const held = await (await fetch(stateUrl('put/versioned'))).json();
    assert.deepEqual(held.state, { a: 1 });
  });

  test('If-Match is compare-and-set: current+1 on a match, 409 conflict otherwise', async () => {
    await put('put/cas', { v: 1 }, { 'sbmp-version': '5' });
    const ok = await put('put/cas', { v: 2 }, { 'if-match': '"5"' });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.version, 6);
    const lost = await put('put/cas', { v: 3 }, { 'if-match': '"5"' });
    assert.equal(lost.status, 409);
    assert.equal(lost.body.code, 'conflict');
    assert.equal(lost.body.current, 6);
    const both = await put('put/cas', { v: 4 }, { 'if-match': '"6"', 'sbmp-version': '10' });
    assert.equal(both.status, 200);
    assert.equal(both.body.version, 10);
    const bothWrong = await put('put/cas', { v: 5 }, { 'if-match': '"6"', 'sbmp-version': '11' });
    assert.equal(bothWrong.status, 409);
    assert.equal(bothWrong.body.current, 10);
  });

  test('If-None-Match: * creates only when the key does not exist', async () => {
    const created = await put('put/create-only', 1, { 'if-none-match': '*' });
    assert.equal(created.status, 200);
    const again = await put('put/create-only', 2, { 'if-none-match': '*' });
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'conflict');
  });

  test('traceparent is stored with the snapshot', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await put('put/traced', { t: 1 }, { traceparent });
    const got = await (await fetch(stateUrl('put/traced'))).json();
    assert.equal(got.trace.traceparent, traceparent);
  });

  test('bad input is refused with a typed 4xx and leaves the stored state alone', async () => {
    await put('put/guarded', { keep: true }, { 'sbmp-version': '3' });
    const cases: { name: string; status: number; code: string; run: () => Promise<Response> }[] = [
      {
        name: 'bad key',
        status: 400,
        code: 'bad_key',
        run: () => fetch(stateUrl('bad key!'), { method: 'PUT', body: '1' }),
      },
      {
        name: 'empty segment',
        status: 400,
        code: 'bad_key',
        run: () => fetch(`${t.url}/sbmp/v3/state/a//b`, { method: 'PUT', body: '1' }),
      },
      {
        name: 'bad version',
        status: 400,
        code: 'bad_version',
        run: () =>
          fetch(stateUrl('put/guarded'), { method: 'PUT', headers: { 'sbmp-version': 'x' }, body: '1' }),
      },
      {
        name: 'version beyond 2^53-1',
        status: 400,
        code: 'bad_version',
        run: () =>
          fetch(stateUrl('put/guarded'), {
            method: 'PUT',
            headers: { 'sbmp-version': '9007199254740992' },
            body: '1',
          }),
      },
      {
        name: 'body not JSON',
        status: 400,
        code: 'bad_state',
        run: () => fetch(stateUrl('put/guarded'), { method: 'PUT', body: '{nope' }),
      },
      {
        name: 'empty body',
        status: 400,
        code: 'bad_state',
        run: () => fetch(stateUrl('put/guarded'), { method: 'PUT', body: '' }),
      },
      {
        name: 'non-JSON content type',
        status: 415,
        code: 'unsupported_media_type',
        run: () =>
          fetch(stateUrl('put/guarded'), {
            method: 'PUT',
            headers: { 'content-type': 'application/octet-stream' },
            body: '1',
          }),
      },
      {
        name: 'malformed traceparent',
        status: 400,
        code: 'bad_request',
        run: () =>
          fetch(stateUrl('put/guarded'), { method: 'PUT', headers: { traceparent: 'nope' }, body: '1' }),
      },
      {
        name: 'method not allowed',
        status: 405,
        code: 'method_not_allowed',
        run: () => fetch(stateUrl('put/guarded'), { method: 'POST', body: '1' }),
      },
    ];
    for (const c of cases) {
      const res = await c.run();
      assert.equal(res.status, c.status, c.name);
      const body = await res.json();
      assert.equal(body.code, c.code, c.name);
      assert.equal(typeof body.message, 'string', c.name);
    }
    const held = await (await fetch(stateUrl('put/guarded'))).json();
    assert.equal(held.version, 3);
    assert.deepEqual(held.state, { keep: true });
  });

  test('a body over maxStateBytes is 413 too_large, by Content-Length or while reading', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(1024 * 1024 + 10) });
    const declared = await rawRequest(stateUrl('put/big'), { method: 'PUT', body: big });
    assert.equal(declared.status, 413);
    assert.equal(JSON.parse(declared.body).code, 'too_large');
    // Chunked: no Content-Length, so the limit is found while reading.
    const chunked = await rawRequest(stateUrl('put/big'), {
      method: 'PUT',
      headers: { 'transfer-encoding': 'chunked' },
      body: big,
    });
    assert.equal(chunked.status, 413);
    assert.equal(JSON.parse(chunked.body).code, 'too_large');
    const missing = await fetch(stateUrl('put/big'));
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  });
});

describe('GET /sbmp/v3/state/{key}', () => {
  test('returns the snapshot with an ETag and honours If-None-Match with 304', async () => {
    await put('get/one', { hello: 'world' }, { 'sbmp-version': '17', 'sbmp-source': 'tests' });
    const res = await fetch(stateUrl('get/one'));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('etag'), '"17"');
    const body = await res.json();
    assert.equal(body.key, 'get/one');
    assert.equal(body.version, 17);
    assert.equal(body.source, 'tests');
    assert.equal(typeof body.revision, 'number');
    assert.equal(typeof body.ts, 'number');
    assert.deepEqual(body.state, { hello: 'world' });
    const cached = await fetch(stateUrl('get/one'), { headers: { 'if-none-match': '"17"' } });
    assert.equal(cached.status, 304);
    const changed = await fetch(stateUrl('get/one'), { headers: { 'if-none-match': '"16"' } });
    assert.equal(changed.status, 200);
    await changed.body?.cancel();
  });

  test('a byte state is served base64 with its content type', async () => {
    await t.store.put({
      key: 'get/bytes',
      state: new Uint8Array([0, 1, 254, 255]),
      contentType: 'image/x-test',
    });
    const body = await (await fetch(stateUrl('get/bytes'))).json();
    assert.equal(body.contentType, 'image/x-test');
    assert.equal(body.stateEncoding, 'base64');
    assert.deepEqual([...Buffer.from(body.state, 'base64')], [0, 1, 254, 255]);
  });

  test('unknown key is 404 not_found', async () => {
    const res = await fetch(stateUrl('get/unknown'));
    assert.equal(res.status, 404);
    const body = await res.json();
    assert.equal(body.code, 'not_found');
    assert.equal(body.version, undefined);
  });
});

describe('DELETE /sbmp/v3/state/{key}', () => {
  test('writes a tombstone at a version; GET is 404 with it; older writes are stale', async () => {
    await put('del/one', { x: 1 }, { 'sbmp-version': '4' });
    const noVersion = await fetch(stateUrl('del/one'), { method: 'DELETE' });
    assert.equal(noVersion.status, 400);
    assert.equal((await noVersion.json()).code, 'bad_version');
    const deleted = await fetch(stateUrl('del/one'), { method: 'DELETE', headers: { 'sbmp-version': '5' } });
    assert.equal(deleted.status, 200);
    const body = await deleted.json();
    assert.equal(body.version, 5);
    assert.equal(body.result, 'applied');
    const gone = await fetch(stateUrl('del/one'));
    assert.equal(gone.status, 404);
    const goneBody = await gone.json();
    assert.equal(goneBody.code, 'not_found');
    assert.equal(goneBody.version, 5);
    const late = await put('del/one', { x: 2 }, { 'sbmp-version': '5' });
    assert.equal(late.status, 409);
    const revived = await put('del/one', { x: 3 }, { 'sbmp-version': '6' });
    assert.equal(revived.status, 200);
  });

  test('If-Match deletes at current+1', async () => {
    await put('del/cas', 1, { 'sbmp-version': '8' });
    const deleted = await fetch(stateUrl('del/cas'), { method: 'DELETE', headers: { 'if-match': '"8"' } });
    assert.equal(deleted.status, 200);
    assert.equal((await deleted.json()).version, 9);
  });
});

describe('GET /sbmp/v3/state?prefix=', () => {
  test('pages through keys with a cursor', async () => {
    for (let i = 0; i < 5; i++) await put(`list/k${i}`, i);
    const first = await (await fetch(`${t.url}/sbmp/v3/state?prefix=list/&limit=3`)).json();
    assert.deepEqual(
      first.items.map((s: { key: string }) => s.key),
      ['list/k0', 'list/k1', 'list/k2'],
    );
    assert.equal(typeof first.cursor, 'string');
    const second = await (
      await fetch(`${t.url}/sbmp/v3/state?prefix=list/&limit=3&cursor=${encodeURIComponent(first.cursor)}`)
    ).json();
    assert.deepEqual(
      second.items.map((s: { key: string }) => s.key),
      ['list/k3', 'list/k4'],
    );
    assert.equal(second.cursor, undefined);
  });

  test('bad limit and bad cursor are 400', async () => {
    const badLimit = await fetch(`${t.url}/sbmp/v3/state?limit=abc`);
    assert.equal(badLimit.status, 400);
    assert.equal((await badLimit.json()).code, 'bad_request');
    const tooMany = await fetch(`${t.url}/sbmp/v3/state?limit=5000`);
    assert.equal(tooMany.status, 400);
    await tooMany.body?.cancel();
    const badCursor = await fetch(`${t.url}/sbmp/v3/state?cursor=zzz`);
    assert.equal(badCursor.status, 400);
    await badCursor.body?.cancel();
  });
});

test('unknown paths are 404 not_found', async () => {
  const res = await fetch(`${t.url}/nope`);
  assert.equal(res.status, 404);
  assert.equal((await res.json()).code, 'not_found');
});
