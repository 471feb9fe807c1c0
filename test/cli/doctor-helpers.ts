// Shared by the `sbmp doctor` tests: real certificates from openssl, a real nats-server, results by name.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { CheckResult } from '../../src/cli/doctor/check.js';
import { freePort } from '../fixtures/client-cli.js';

/** Under CI a missing tool is a failure; elsewhere the test is skipped with the reason. */
export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

/** The result named `name`; fails the test when there is none. */
export function resultOf(results: readonly CheckResult[], name: string): CheckResult {
  const found = results.find((r) => r.name === name);
  assert.ok(found !== undefined, `no '${name}' check in ${JSON.stringify(results.map((r) => r.name))}`);
  return found;
}

/** Parses `--format json` output. */
export function parseReport(stdout: string): CheckResult[] {
  const parsed = JSON.parse(stdout) as unknown;
  assert.ok(Array.isArray(parsed), `not an array: ${stdout.slice(0, 500)}`);
  return parsed as CheckResult[];
}

/** The checks that failed, for assertion messages. */
export function failures(results: readonly CheckResult[]): string {
  return JSON.stringify(results.filter((r) => r.status === 'fail'));
}

function run(command: string, args: readonly string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(command, [...args], { timeout: timeoutMs }, (error) => (error ? reject(error) : resolve()));
  });
}

/** True when `command -version`-style probing finds the tool. */
export async function haveTool(command: string, versionArgs: readonly string[]): Promise<boolean> {
  try {
    await run(command, versionArgs, 5000);
    return true;
  } catch {
    return false;
  }
}

/** A self-signed certificate valid for `days` (EC P-256: fast to generate), written to `dir/name`. */
export async function makeCertificate(dir: string, name: string, days: number): Promise<string> {
  const cert = join(dir, `${name}.pem`);
  await run(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      join(dir, `${name}.key`),
      '-out',
      cert,
      '-days',
      String(days),
      '-subj',
      `/CN=${name}`,
      '-addext',
      'subjectAltName=URI:spiffe://example.org/sbmp/doctor',
    ],
    10_000,
  );
  return cert;
}

/** True when something accepts TCP connections at host:port within `ms`. */
export function tcpOpen(host: string, port: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (open: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(open);
    };
    const timer = setTimeout(() => done(false), ms);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** A nats-server child process on a free port; `jetstream` turns on -js with its store in `storeDir`. */
export class NatsServerProcess {
  readonly url: string;
  readonly #child: ChildProcess;
  readonly ready: Promise<void>;

  private constructor(port: number, jetstream: boolean, storeDir: string) {
    this.url = `nats://127.0.0.1:${port}`;
    const args = ['-a', '127.0.0.1', '-p', String(port), ...(jetstream ? ['-js', '-sd', storeDir] : [])];
    this.#child = spawn('nats-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.ready = new Promise((resolve, reject) => {
      let log = '';
      const timer = setTimeout(() => reject(new Error(`nats-server not ready within 10 s: ${log}`)), 10_000);
      this.#child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
        log += chunk;
        if (log.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      this.#child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited with ${code}: ${log}`));
      });
    });
  }

  static async start(jetstream: boolean, storeDir: string): Promise<NatsServerProcess> {
    const server = new NatsServerProcess(await freePort(), jetstream, storeDir);
    try {
      await server.ready;
    } catch (error) {
      server.stop();
      throw error;
    }
    return server;
  }

  stop(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }
}
