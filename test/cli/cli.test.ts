// The command line as users run it: child processes against a `sbmp serve` child process.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HttpApi } from '../../src/client/http-api.js';
import { SbmpProcess, sbmp, startServe } from '../fixtures/client-cli.js';

function json(text: string): Record<string, unknown> {
  return JSON.parse(text) as Record<string, unknown>;
}

describe('sbmp CLI', () => {
  let serve: SbmpProcess;
  let url: string;
  let port: number;
  /** Setup writes go straight to the HTTP API: only the commands under test run as processes. */
  let api: HttpApi;
  before(async () => {
    ({ process: serve, url, port } = await startServe(['--port', '0', '--store', 'memory']));
    api = new HttpApi(url);
  });
  after(async () => {
    serve.kill('SIGKILL');
    await serve.waitForExit(5_000);
  });

  it('put applies, prints the outcome, and exits 0', async () => {
    const put = await sbmp(['put', 'cli/a', '{"n":1}', '--url', url]);
    assert.equal(put.code, 0, put.stderr);
    assert.deepEqual(json(put.stdout), {
      key: 'cli/a',
      result: 'applied',
      version: 1,
      revision: json(put.stdout).revision,
    });
    const next = await sbmp(['put', 'cli/a', '{"n":2}', '--version', '5', '--url', url]);
    assert.equal(next.code, 0, next.stderr);
    assert.equal(json(next.stdout).version, 5);
    const duplicate = await sbmp(['put', 'cli/a', '{"n":2}', '--version', '5', '--url', url]);
    assert.equal(duplicate.code, 0);
    assert.equal(json(duplicate.stdout).result, 'duplicate');
  });

  it('a stale or conflicting put prints the current version and exits 3', async () => {
    await api.put('cli/s', { n: 1 }, { version: 7 });
    const [stale, conflict, cas] = await Promise.all([
      sbmp(['put', 'cli/s', '{"n":0}', '--version', '3', '--url', url]),
      sbmp(['put', 'cli/s', '{"n":9}', '--version', '7', '--url', url]),
      sbmp(['put', 'cli/s', '{"n":9}', '--if-version', '6', '--url', url]),
    ]);
    assert.equal(stale.code, 3);
    assert.deepEqual(
      { result: json(stale.stdout).result, version: json(stale.stdout).version },
      { result: 'stale', version: 7 },
    );
    assert.match(stale.stderr, /version 7/);
    assert.equal(conflict.code, 3);
    assert.equal(json(conflict.stdout).result, 'conflict');
    assert.equal(cas.code, 3);
    assert.deepEqual(
      { result: json(cas.stdout).result, version: json(cas.stdout).version },
      { result: 'conflict', version: 7 },
    );
    const good = await sbmp(['put', 'cli/s', '{"n":8}', '--if-version', '7', '--url', url]);
    assert.equal(good.code, 0, good.stderr);
    assert.equal(json(good.stdout).version, 8);
  });

  it('put reads the state from stdin', async () => {
    const put = await sbmp(['put', 'cli/stdin', '--url', url], { input: '{"from":"stdin"}\n' });
    assert.equal(put.code, 0, put.stderr);
    assert.deepEqual((await api.get('cli/stdin'))?.state, { from: 'stdin' });
  });

  it('bad input exits 2 and changes nothing', async () => {
    const results = await Promise.all([
      sbmp(['put', 'cli/bad', '{not json', '--url', url]),
      sbmp(['put', 'bad key', '{}', '--url', url]),
      sbmp(['put', 'cli/bad', '{}', '--version', 'abc', '--url', url]),
      sbmp(['put', 'cli/bad', '{}', '--version', '9007199254740992', '--url', url]),
      sbmp(['put', 'cli/bad', '--url', url], { input: '' }),
      sbmp(['del', 'cli/bad', '--url', url]),
      sbmp(['ls', '--limit', '0', '--url', url]),
      sbmp(['watch', 'a/>/b', '--url', url]),
      sbmp(['nonsense']),
    ]);
    for (const result of results)
      assert.equal(result.code, 2, `stdout: ${result.stdout} stderr: ${result.stderr}`);
    assert.match(results[0]!.stderr, /not valid JSON/);
    assert.match(results[1]!.stderr, /bad_key/);
    assert.equal(await api.get('cli/bad'), undefined);
  });

  it('get prints the snapshot; a missing or deleted key exits 4', async () => {
    await api.put('cli/g', { x: [1, 2] }, { version: 2 });
    const get = await sbmp(['get', 'cli/g', '--url', url]);
    assert.equal(get.code, 0, get.stderr);
    const snapshot = json(get.stdout);
    assert.deepEqual(
      { key: snapshot.key, version: snapshot.version, state: snapshot.state },
      { key: 'cli/g', version: 2, state: { x: [1, 2] } },
    );
    const missing = await sbmp(['get', 'cli/none', '--url', url]);
    assert.equal(missing.code, 4);
    assert.equal(missing.stdout, '');
    const del = await sbmp(['del', 'cli/g', '--version', '3', '--url', url]);
    assert.equal(del.code, 0, del.stderr);
    assert.equal(json(del.stdout).result, 'applied');
    const deleted = await sbmp(['get', 'cli/g', '--url', url]);
    assert.equal(deleted.code, 4);
    assert.match(deleted.stderr, /deleted at version 3/);
    const staleWrite = await sbmp(['put', 'cli/g', '{}', '--version', '2', '--url', url]);
    assert.equal(staleWrite.code, 3);
    const staleDelete = await sbmp(['del', 'cli/g', '--version', '1', '--url', url]);
    assert.equal(staleDelete.code, 3);
    assert.doesNotMatch(staleDelete.stderr, /--if-version/, 'del has no --if-version to suggest');
  });

  it('put and get accept the WebSocket URL as --url too', async () => {
    const wsUrl = `${url.replace(/^http/, 'ws')}/sbmp/v3/ws`;
    const put = await sbmp(['put', 'cli/ws-url', '{"via":"ws url"}', '--url', wsUrl]);
    assert.equal(put.code, 0, put.stderr);
    const get = await sbmp(['get', 'cli/ws-url', '--url', wsUrl]);
    assert.equal(get.code, 0, get.stderr);
    assert.deepEqual(json(get.stdout).state, { via: 'ws url' });
  });

  it('ls lists keys by prefix as a table or JSON lines, up to --limit', async () => {
    for (let i = 0; i < 3; i++) await api.put(`cli/ls/k${i}`, { i });
    const table = await sbmp(['ls', 'cli/ls/', '--url', url]);
    assert.equal(table.code, 0, table.stderr);
    const rows = table.stdout.trim().split('\n');
    assert.match(rows[0]!, /^KEY\s+VERSION\s+REVISION/);
    assert.deepEqual(
      rows.slice(1).map((r) => r.split(/\s+/)[0]),
      ['cli/ls/k0', 'cli/ls/k1', 'cli/ls/k2'],
    );
    const lines = await sbmp(['ls', 'cli/ls/', '--format', 'json', '--limit', '2', '--url', url]);
    assert.equal(lines.code, 0, lines.stderr);
    assert.deepEqual(
      lines.stdout
        .trim()
        .split('\n')
        .map((l) => json(l).key),
      ['cli/ls/k0', 'cli/ls/k1'],
    );
    assert.match(lines.stderr, /--limit/);
    const none = await sbmp(['ls', 'cli/nothing/', '--format', 'json', '--url', url]);
    assert.equal(none.code, 0);
    assert.equal(none.stdout.trim(), '');
  });

  it('watch prints the current state, then each change, as JSON lines', async () => {
    await api.put('cli/w/a', { v: 1 }, { version: 1 });
    const watch = new SbmpProcess(['watch', 'cli/w/>', '--count', '3', '--url', url]);
    try {
      const firstLine = await watch.waitForLine((l) => l.includes('cli/w/a'), 15_000, 'the current state');
      assert.equal(json(firstLine).version, 1);
      await api.put('cli/w/a', { v: 2 }, { version: 2 });
      await api.put('cli/w/b', { v: 1 }, { version: 1 });
      const exit = await watch.waitForExit(15_000);
      assert.equal(exit.code, 0, watch.stderr);
      assert.deepEqual(
        watch.lines.map((l) => [json(l).key, json(l).version]),
        [
          ['cli/w/a', 1],
          ['cli/w/a', 2],
          ['cli/w/b', 1],
        ],
      );
      assert.match(watch.stderr, /synced at revision/);
    } finally {
      watch.kill('SIGKILL');
    }
  });

  it('watch --since prints only later changes; --format table prints rows; SIGTERM exits 0', async () => {
    const { revision } = await api.put('cli/t/a', { v: 1 });
    const watch = new SbmpProcess([
      'watch',
      'cli/t/*',
      '--since',
      String(revision),
      '--format',
      'table',
      '--url',
      url,
    ]);
    try {
      await api.put('cli/t/b', { v: 1 });
      await watch.waitForLine((l) => l.startsWith('cli/t/b'), 15_000, 'the change after --since');
      assert.match(watch.lines[0]!, /^KEY\s+VERSION/);
      watch.kill('SIGTERM');
      const exit = await watch.waitForExit(10_000);
      assert.equal(exit.code, 0, watch.stderr);
      assert.ok(!watch.lines.some((l) => l.startsWith('cli/t/a')), 'nothing from before --since');
    } finally {
      watch.kill('SIGKILL');
    }
  });

  it('an unreachable server exits 1 with a hint; SBMP_URL picks the server', async () => {
    const down = await sbmp(['get', 'cli/a', '--url', 'http://127.0.0.1:9']);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /unavailable/);
    assert.match(down.stderr, /--url or set SBMP_URL/);
    const viaEnv = await sbmp(['get', 'cli/a'], { env: { SBMP_URL: url } });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
  });

  it('serve refuses a port in use, naming the port and the fix', async () => {
    const taken = await sbmp(['serve', '--port', String(port), '--store', 'memory']);
    assert.notEqual(taken.code, 0);
    assert.match(taken.stderr, new RegExp(`port ${port} is in use`));
    assert.match(taken.stderr, /--port/);
  });

  it('serve refuses bad settings with exit 2', async () => {
    const [memory, store, port] = await Promise.all([
      sbmp(['serve', '--port', '0', '--store', 'memory', '--memory-limit', '12XB']),
      sbmp(['serve', '--port', '0', '--store', 'postgres://x']),
      sbmp(['serve', '--port', '70000']),
    ]);
    for (const result of [memory, store, port]) assert.equal(result.code, 2, result.stderr);
    assert.match(memory.stderr, /memory limit/);
    assert.match(store.stderr, /--store/);
  });

  it('every command has --help', async () => {
    const helps = [];
    for (const command of ['serve', 'put', 'get', 'del', 'ls', 'watch'])
      helps.push(await sbmp([command, '--help']));
    for (const help of helps) {
      assert.equal(help.code, 0);
      assert.match(help.stdout, /^Usage: sbmp /);
    }
    const version = await sbmp(['--version']);
    assert.match(version.stdout, /^\d+\.\d+\.\d+/);
  });
});
