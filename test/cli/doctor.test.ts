// `sbmp doctor` as users run it: a child process per run, each failure produced for real, exit codes asserted.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CheckResult } from '../../src/cli/doctor/check.js';
import { startServer } from '../../src/server/server.js';
import { closeLmdbEnv, openLmdbEnv } from '../../src/store/lmdb-env.js';
import { openStore } from '../../src/store/open.js';
import { type CliResult, freePort, sbmp } from '../fixtures/client-cli.js';
import {
  failures,
  haveTool,
  IN_CI,
  makeCertificate,
  NatsServerProcess,
  parseReport,
  resultOf,
  tcpOpen,
} from './doctor-helpers.js';

/** Flags under which every check not under test passes or does not apply. */
const QUIET = ['--store', 'memory', '--port', '0'];

async function doctor(args: readonly string[]): Promise<{ run: CliResult; results: CheckResult[] }> {
  const run = await sbmp(['doctor', ...args, '--format', 'json'], { timeoutMs: 40_000 });
  assert.equal(run.signal, null, run.stderr);
  return { run, results: parseReport(run.stdout) };
}

/** Asserts exit 1 with `name` failing and carrying a fix, and nothing else failing. */
function assertOnlyFailure(run: CliResult, results: readonly CheckResult[], ...names: string[]): CheckResult {
  assert.equal(run.code, 1, `exit code; stdout: ${run.stdout} stderr: ${run.stderr}`);
  const failed = results.filter((r) => r.status === 'fail').map((r) => r.name);
  assert.deepEqual(failed.sort(), [...names].sort(), failures(results));
  const first = resultOf(results, names[0]!);
  assert.ok(typeof first.fix === 'string' && first.fix.length > 0, 'a failure names its fix');
  return first;
}

function assertAllGood(run: CliResult, results: readonly CheckResult[]): void {
  assert.equal(run.code, 0, `exit code; failures: ${failures(results)} stderr: ${run.stderr}`);
  for (const r of results) {
    assert.ok(r.status === 'pass' || r.status === 'skip', JSON.stringify(r));
    if (r.status === 'skip') assert.ok(r.finding.length > 0, `a skip says why: ${r.name}`);
  }
}

/** A real LMDB store with `keys` snapshots in `dir`. */
async function makeStore(dir: string, keys: number): Promise<void> {
  const store = await openStore(`lmdb:${dir}`);
  try {
    await Promise.all(
      Array.from({ length: keys }, (_, i) => store.put({ key: `doctor/k${i}`, version: 1, state: { i } })),
    );
  } finally {
    await store.close();
  }
}

describe('sbmp doctor', { concurrency: 3 }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sbmp-doctor-'));
    // Stores are made before any child process starts: LMDB's descriptors are inherited by
    // children started while a store is open, and would make the store look in use.
    await makeStore(join(dir, 'existing'), 20);
    await makeStore(join(dir, 'truncated'), 200);
    const data = join(dir, 'truncated', 'data.mdb');
    await truncate(data, Math.floor((await stat(data)).size / 4));
    await makeStore(join(dir, 'inconsistent'), 10);
    const env = openLmdbEnv(join(dir, 'inconsistent'), false);
    try {
      // Two records at one revision: a copy of one record under another key.
      await env.snapshots.put('doctor/k1', env.snapshots.get('doctor/k0')!);
    } finally {
      await closeLmdbEnv(env);
    }
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('passes on a fresh store location, prints one line per check, and leaves nothing behind', async () => {
    const location = join(dir, 'fresh', 'nested', 'store');
    const run = await sbmp(['doctor', '--store', `lmdb:${location}`, '--port', '0'], { timeoutMs: 40_000 });
    assert.equal(run.code, 0, `stdout: ${run.stdout} stderr: ${run.stderr}`);
    const lines = run.stdout.trim().split('\n');
    const checks = lines.slice(0, -1);
    for (const name of [
      'config',
      'store-dir',
      'store-writable',
      'store-data',
      'store-open',
      'port',
      'clock',
    ]) {
      assert.ok(
        checks.some((l) => new RegExp(`^PASS  ${name} +\\S`).test(l)),
        `a PASS line for ${name}: ${run.stdout}`,
      );
    }
    assert.ok(checks.some((l) => /^SKIP {2}certificate +no TLS configured/.test(l)));
    assert.ok(
      checks.every((l) => /^(PASS|SKIP) {2}[a-z-]+ +\S/.test(l)),
      run.stdout,
    );
    assert.match(lines.at(-1)!, /^sbmp doctor: \d+ passed, 0 failed, \d+ skipped$/);
    assert.equal(existsSync(join(dir, 'fresh')), false, 'the directories it tried are removed again');
  });

  it('verifies an existing store in full and reports its revision', async () => {
    const location = join(dir, 'existing');
    const { run, results } = await doctor(['--store', `lmdb:${location}`, '--port', '0']);
    assertAllGood(run, results);
    assert.match(resultOf(results, 'store-data').finding, /every record decodes/);
    assert.match(resultOf(results, 'store-open').finding, /revision counter at 20\b/);
  });

  it('fails on an occupied port with the process hint', async () => {
    // Reads what connects (the doctor asks who holds the port), so closed connections end.
    const blocker: Server = createServer((socket) => socket.on('error', () => {}).resume());
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const { run, results } = await doctor(['--store', 'memory', '--port', String(port)]);
      const port_ = assertOnlyFailure(run, results, 'port');
      assert.match(port_.finding, new RegExp(`^port ${port} in use: another sbmp\\? pass --port`));
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('fails when the store directory cannot be created (its parent is a regular file)', async () => {
    const file = join(dir, 'a-regular-file');
    await writeFile(file, 'not a directory');
    const { run, results } = await doctor(['--store', `lmdb:${join(file, 'store')}`, '--port', '0']);
    const storeDir = assertOnlyFailure(run, results, 'store-dir');
    assert.match(storeDir.finding, /cannot be created/);
    for (const name of ['store-writable', 'store-data', 'store-open']) {
      assert.equal(resultOf(results, name).status, 'skip', name);
    }
  });

  it('fails when a file stands where the store directory should be', async () => {
    const file = join(dir, 'file-as-store');
    await writeFile(file, 'x');
    const { run, results } = await doctor(['--store', `lmdb:${file}`, '--port', '0']);
    assert.match(assertOnlyFailure(run, results, 'store-dir').finding, /is not a directory/);
  });

  it('fails on a truncated data file, and does not open it', async () => {
    const location = join(dir, 'truncated');
    const { run, results } = await doctor(['--store', `lmdb:${location}`, '--port', '0']);
    assert.match(assertOnlyFailure(run, results, 'store-data').finding, /truncated/);
    assert.equal(resultOf(results, 'store-open').status, 'skip');
  });

  it('fails when two records claim one revision (full verification in a child process)', async () => {
    const location = join(dir, 'inconsistent');
    const { run, results } = await doctor(['--store', `lmdb:${location}`, '--port', '0']);
    assert.match(assertOnlyFailure(run, results, 'store-data').finding, /two records at revision/);
  });

  it('fails on a certificate that expires within 14 days', async (t) => {
    if (!(await haveTool('openssl', ['version']))) {
      if (IN_CI) assert.fail('openssl is needed for the certificate checks under CI');
      t.skip('openssl is not installed: certificates cannot be generated');
      return;
    }
    const cert = await makeCertificate(dir, 'expiring', 1);
    const { run, results } = await doctor([...QUIET, '--cert', cert]);
    const certificate = assertOnlyFailure(run, results, 'certificate');
    assert.match(
      certificate.finding,
      /CN=expiring spiffe:\/\/example\.org\/sbmp\/doctor expires .* in 1\.0 days/,
    );
    assert.match(certificate.fix!, /renew/);
  });

  it('fails when NATS is unreachable', async () => {
    const port = await freePort();
    const { run, results } = await doctor([...QUIET, '--nats', `nats://127.0.0.1:${port}`]);
    assert.match(assertOnlyFailure(run, results, 'nats').finding, /cannot connect to NATS/);
  });

  describe('with a real NATS server', () => {
    const started: NatsServerProcess[] = [];
    after(() => {
      for (const server of started) server.stop();
    });

    it('passes when NATS with JetStream is reachable', async (t) => {
      let url: string | undefined = process.env.SBMP_TEST_NATS_URL;
      if (url === undefined && (await tcpOpen('127.0.0.1', 4222, 1000))) url = 'nats://127.0.0.1:4222';
      if (url === undefined && (await haveTool('nats-server', ['--version']))) {
        const server = await NatsServerProcess.start(true, join(dir, 'jetstream'));
        started.push(server);
        url = server.url;
      }
      if (url === undefined) {
        if (IN_CI) assert.fail('no NATS server under CI: none at 127.0.0.1:4222 and no nats-server to start');
        t.skip('no NATS server: none at 127.0.0.1:4222, no nats-server binary, no SBMP_TEST_NATS_URL');
        return;
      }
      const { run, results } = await doctor([...QUIET, '--nats', url]);
      assertAllGood(run, results);
      assert.match(resultOf(results, 'nats').finding, /JetStream enabled/);
    });

    it('fails when NATS runs without JetStream', async (t) => {
      if (!(await haveTool('nats-server', ['--version']))) {
        if (IN_CI) assert.fail('nats-server is needed under CI');
        t.skip('nats-server is not installed: a server without JetStream cannot be started');
        return;
      }
      const server = await NatsServerProcess.start(false, dir);
      started.push(server);
      const { run, results } = await doctor([...QUIET, '--nats', server.url]);
      const nats = assertOnlyFailure(run, results, 'nats');
      assert.match(nats.finding, /reachable but JetStream is not available/);
      assert.match(nats.fix!, /-js/);
    });
  });

  it('fails when the explicit memory limit is below the resident memory', async () => {
    // 40MB: above the 32 MiB minimum the config accepts, below what a Node process with the CLI loaded uses.
    const { run, results } = await doctor([...QUIET, '--memory-limit', '40MB']);
    assert.match(assertOnlyFailure(run, results, 'memory-limit').finding, /below the .* already uses/);
  });

  it('fails the config and the memory limit when the limit cannot be parsed', async () => {
    const { run, results } = await doctor([...QUIET, '--memory-limit', 'lots']);
    assertOnlyFailure(run, results, 'memory-limit', 'config');
    // The rest is still checked with the other settings.
    assert.equal(resultOf(results, 'port').status, 'pass');
  });

  it('fails the config on an unknown setting in the config file', async () => {
    const config = join(dir, 'typo.json');
    await writeFile(config, JSON.stringify({ prot: 7400 }));
    const { run, results } = await doctor([...QUIET, '--config', config]);
    assert.equal(run.code, 1);
    const result = resultOf(results, 'config');
    assert.equal(result.status, 'fail');
    assert.match(result.fix!, /'prot'/);
  });

  it('fails when the server at --url cannot be reached', async () => {
    const port = await freePort();
    const { run, results } = await doctor([...QUIET, '--url', `http://127.0.0.1:${port}`]);
    assert.match(assertOnlyFailure(run, results, 'server-health').finding, /ECONNREFUSED/);
    assert.equal(resultOf(results, 'server-ready').status, 'skip');
  });

  it('refuses a bad flag with exit code 2', async () => {
    const run = await sbmp(['doctor', '--format', 'xml']);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
  });
});

// Run alone, after the rest: the server shares this process's event loop, and its lag is checked.
describe('sbmp doctor against a live server in this process', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sbmp-doctor-live-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('checks a live server through --url and passes', async () => {
    const store = await openStore('memory');
    const server = await startServer({ store, port: 0, logger: false, serverId: 'doctor-live' });
    try {
      await store.put({ key: 'doctor/live', version: 3, state: {} });
      const { run, results } = await doctor([...QUIET, '--url', server.url]);
      assertAllGood(run, results);
      assert.match(resultOf(results, 'server-health').finding, /server doctor-live/);
      assert.equal(resultOf(results, 'server-ready').status, 'pass');
      assert.match(resultOf(results, 'server-store').finding, /memory store at revision 1\b/);
      assert.equal(resultOf(results, 'server-clock').status, 'pass');
      assert.equal(resultOf(results, 'server-loop-lag').status, 'pass');
      assert.match(resultOf(results, 'server-memory').finding, /watermark normal/);
    } finally {
      await server.close({ drainMs: 0 });
      await store.close();
    }
  });

  it('does not open a store a running server holds, and says so', async () => {
    const location = join(dir, 'in-use');
    const store = await openStore(`lmdb:${location}`);
    const server = await startServer({ store, port: 0, logger: false });
    try {
      const { run, results } = await doctor([
        '--store',
        `lmdb:${location}`,
        '--port',
        String(server.port),
        '--url',
        server.url,
      ]);
      assertAllGood(run, results);
      const open = resultOf(results, 'store-open');
      assert.equal(open.status, 'skip');
      // Other children of this process may show up too: they inherit LMDB's descriptors.
      assert.match(open.finding, new RegExp(`process.* ${process.pid}\\b.* it open.*checked through --url`));
      assert.match(resultOf(results, 'port').finding, /held by the live server/);
    } finally {
      await server.close({ drainMs: 0 });
      await store.close();
    }
  });
});
