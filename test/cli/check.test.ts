// `sbmp check` as users run it: a child process against a `sbmp serve` child process on an
// LMDB store in a temporary directory.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HttpApi } from '../../src/client/http-api.js';
import { freePort, type SbmpProcess, sbmp, startServe } from '../fixtures/client-cli.js';

interface CheckJson {
  passed: boolean;
  checks: { name: string; passed: boolean; detail: string }[];
  publishes: {
    sent: number;
    applied: number;
    duplicate: number;
    stale: number;
    conflict: number;
    failed: number;
  };
  keys: number;
  subscribers: {
    name: string;
    late: boolean;
    deliveries: number;
    refused: { duplicate: number; stale: number; conflict: number };
  }[];
  phantoms: number;
  convergedAfterMs: number | null;
}

/** Every key under `prefix`, live ones only (the listing leaves tombstones out). */
async function liveKeys(api: HttpApi, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const listed = await api.list(prefix, cursor === undefined ? {} : { cursor });
    keys.push(...listed.items.filter((s) => s.deleted !== true).map((s) => s.key));
    cursor = listed.cursor;
    if (cursor === undefined) break;
  }
  return keys;
}

describe('sbmp check', () => {
  let dir: string;
  let serve: SbmpProcess;
  let url: string;
  let api: HttpApi;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sbmp-check-'));
    ({ process: serve, url } = await startServe(['--port', '0', '--store', `lmdb:${join(dir, 'data')}`]));
    api = new HttpApi(url);
  });
  after(async () => {
    serve.kill('SIGKILL');
    await serve.waitForExit(5_000);
    await rm(dir, { recursive: true, force: true });
  });

  it('passes against a real server, having met every apply result, and deletes its keys', async () => {
    const run = await sbmp(
      ['check', '--url', url, '--keys', '20', '--seconds', '1', '--rate', '600', '--format', 'json'],
      { timeoutMs: 40_000 },
    );
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const result = JSON.parse(run.stdout) as CheckJson;
    assert.equal(result.passed, true);
    assert.deepEqual(
      result.checks.map((c) => [c.name, c.passed]),
      [
        ['no acknowledged update lost', true],
        ['no version regression', true],
        ['nothing delivered that was not published', true],
        ['convergence', true],
      ],
    );
    const p = result.publishes;
    assert.ok(p.sent >= 300, `sent ${p.sent}`);
    assert.equal(p.applied + p.duplicate + p.stale + p.conflict + p.failed, p.sent);
    assert.equal(p.failed, 0);
    // The workload reaches every apply result, so the rules are exercised, not only the happy path.
    for (const result_ of ['applied', 'duplicate', 'stale', 'conflict'] as const) {
      assert.ok(p[result_] > 0, `no ${result_} publishes: ${JSON.stringify(p)}`);
    }
    assert.equal(result.subscribers.length, 3);
    assert.deepEqual(
      result.subscribers.map((s) => s.late),
      [false, false, true],
    );
    for (const s of result.subscribers) {
      assert.deepEqual(s.refused, { duplicate: 0, stale: 0, conflict: 0 });
      assert.ok(s.deliveries > 0);
    }
    assert.equal(result.phantoms, 0);
    assert.equal(typeof result.convergedAfterMs, 'number');
    assert.deepEqual(await liveKeys(api, 'sbmp-check/'), []);
  });

  it('prints a text verdict and, with --keep, leaves the keys in place', async () => {
    const run = await sbmp(
      [
        'check',
        '--url',
        url,
        '--keys',
        '5',
        '--seconds',
        '1',
        '--rate',
        '200',
        '--prefix',
        'kept/here',
        '--keep',
      ],
      { timeoutMs: 40_000 },
    );
    assert.equal(run.code, 0, run.stderr + run.stdout);
    assert.match(run.stdout, /^publishes {3}\d[\d,]* sent: /m);
    assert.match(
      run.stdout,
      /^pass {2}convergence: 3 subscribers \(1 joined after publishing\) equal the store on 5 keys/m,
    );
    assert.match(run.stdout, /^verdict: PASS$/m);
    assert.match(run.stderr, /^# 2 subscribers on kept\/here\/[a-z0-9-]+\/>$/m);
    const keys = await liveKeys(api, 'kept/here/');
    assert.equal(keys.length, 5, keys.join(' '));
  });

  it('refuses bad options with exit code 2, before connecting', async () => {
    const runs = await Promise.all([
      sbmp(['check', '--url', url, '--prefix', 'bad key']),
      sbmp(['check', '--url', url, '--rate', '0']),
      sbmp(['check', '--url', url, '--keys', '10001']),
      sbmp(['check', '--url', url, '--format', 'yaml']),
    ]);
    for (const run of runs) {
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /error: option/);
    }
  });

  it('exits 1 with a hint when no server answers', async () => {
    const port = await freePort();
    const run = await sbmp(['check', '--url', `http://127.0.0.1:${port}`, '--timeout', '3000'], {
      timeoutMs: 20_000,
    });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /^sbmp check: unavailable: /m);
    assert.match(run.stderr, /hint: is 'sbmp serve' running at/);
  });
});
