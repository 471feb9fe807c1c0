// The README's quick start, step by step, as a new user runs it: `sbmp serve` with the default
// LMDB store in a fresh directory, writes with the CLI and with plain HTTP, a watch, a stale
// write, a restart that keeps the data. Only the port differs from the README (7400 may be taken).
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort, SbmpProcess, sbmp, startServe } from '../fixtures/client-cli.js';

describe('README quick start', () => {
  let dir: string | undefined;
  const processes: SbmpProcess[] = [];
  after(async () => {
    for (const p of processes) {
      p.kill('SIGKILL');
      await p.waitForExit(5_000);
    }
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('works as written', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sbmp-quickstart-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = { SBMP_URL: url };
    const run = (args: string[], input?: string) =>
      sbmp(args, { env, cwd: dir!, ...(input === undefined ? {} : { input }) });

    // 1. sbmp serve            (default store: lmdb:./sbmp-data)
    const first = await startServe(['--port', String(port)], { cwd: dir });
    processes.push(first.process);
    assert.equal(first.url, url);
    assert.ok((await stat(join(dir, 'sbmp-data'))).isDirectory(), 'data lives in ./sbmp-data');

    // 2. sbmp put orders/eu/10042 '{"status":"paid","total":42}'
    const put = await run(['put', 'orders/eu/10042', '{"status":"paid","total":42}']);
    assert.equal(put.code, 0, put.stderr);
    assert.deepEqual(JSON.parse(put.stdout), {
      key: 'orders/eu/10042',
      result: 'applied',
      version: 1,
      revision: 1,
    });

    // 3. curl -X PUT $URL/sbmp/v3/state/orders/eu/10042 -H 'Content-Type: application/json' \
    //         -H 'SBMP-Version: 5' -d '{"status":"shipped","total":42}'
    const curlPut = await fetch(`${url}/sbmp/v3/state/orders/eu/10042`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json', 'SBMP-Version': '5' },
      body: '{"status":"shipped","total":42}',
    });
    assert.equal(curlPut.status, 200);
    assert.deepEqual(await curlPut.json(), {
      key: 'orders/eu/10042',
      version: 5,
      revision: 2,
      result: 'applied',
    });

    // 4. sbmp get orders/eu/10042      and      curl $URL/sbmp/v3/state/orders/eu/10042
    const get = await run(['get', 'orders/eu/10042']);
    assert.equal(get.code, 0, get.stderr);
    assert.deepEqual(JSON.parse(get.stdout).state, { status: 'shipped', total: 42 });
    const curlGet = await fetch(`${url}/sbmp/v3/state/orders/eu/10042`);
    assert.equal(curlGet.headers.get('etag'), '"5"');
    assert.equal(((await curlGet.json()) as { version: number }).version, 5);

    // 5. sbmp watch 'orders/>'     (in a second terminal), then another put
    const watch = new SbmpProcess(['watch', 'orders/>', '--count', '2'], env, dir);
    processes.push(watch);
    await watch.waitForLine((l) => l.includes('"version":5'), 15_000, 'the current state in watch');
    const next = await run(['put', 'orders/eu/10042', '{"status":"delivered","total":42}']);
    assert.equal(next.code, 0, next.stderr);
    assert.equal(JSON.parse(next.stdout).version, 6);
    const watchExit = await watch.waitForExit(15_000);
    assert.equal(watchExit.code, 0, watch.stderr);
    assert.deepEqual(
      watch.lines.map((l) => JSON.parse(l).state.status),
      ['shipped', 'delivered'],
    );

    // 6. sbmp put orders/eu/10042 '{"status":"paid"}' --version 3     -> stale, exit 3
    const stale = await run(['put', 'orders/eu/10042', '{"status":"paid"}', '--version', '3']);
    assert.equal(stale.code, 3);
    assert.equal(JSON.parse(stale.stdout).result, 'stale');
    assert.equal(JSON.parse(stale.stdout).version, 6);
    assert.match(stale.stderr, /is at version 6/);

    // 7. sbmp ls orders/
    const ls = await run(['ls', 'orders/']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /orders\/eu\/10042\s+6\s+3\s/);

    // 7b. sbmp check (shortened to 1 s here)
    const check = await run(['check', '--seconds', '1']);
    assert.equal(check.code, 0, check.stderr + check.stdout);
    assert.match(check.stdout, /^verdict: PASS$/m);

    // 8. Ctrl-C the server, start it again: the data is still there.
    first.process.kill('SIGINT');
    assert.equal((await first.process.waitForExit(15_000)).code, 0, first.process.stderr);
    const second = await startServe(['--port', String(port)], { cwd: dir });
    processes.push(second.process);
    const again = await run(['get', 'orders/eu/10042']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).version, 6);
    assert.deepEqual(JSON.parse(again.stdout).state, { status: 'delivered', total: 42 });
    second.process.kill('SIGTERM');
    assert.equal((await second.process.waitForExit(15_000)).code, 0, second.process.stderr);
  });
});
