import { createServer } from 'node:net';
import {
  type CheckGroup,
  type CheckResult,
  type DoctorContext,
  fail,
  messageOf,
  pass,
  skip,
  skipWithoutSettings,
  systemCodeOf,
} from './check.js';
import { probeGet } from './http-probe.js';
import { parseObject } from './live-server.js';

/** Time the "who holds the port?" probe may take: 1 s. */
const HOLDER_PROBE_TIMEOUT_MS = 1000;

/**
 * Is the port `sbmp serve` would listen on free? Binds host:port and closes it again. A port
 * held by the live server named with `--url` is expected and skipped.
 */
export const portChecks: CheckGroup = {
  name: 'port',
  timeoutMs: 10_000,
  async run(ctx) {
    if (ctx.settings === undefined) return [skipWithoutSettings('port')];
    return [await checkPort(ctx.settings.host, ctx.settings.port, ctx)];
  },
};

async function checkPort(host: string, port: number, ctx: DoctorContext): Promise<CheckResult> {
  if (port === 0) return pass('port', 'port 0: the server takes any free port at start');
  try {
    await bindAndClose(host, port);
    return pass('port', `${host}:${port} is free`);
  } catch (error) {
    const code = systemCodeOf(error);
    if (code === 'EADDRINUSE') {
      const url = probeUrl(host, port);
      const holder = await sbmpServerAt(url);
      if (holder !== undefined && holder === liveServerId(ctx)) {
        return skip(
          'port',
          `port ${port} is held by the live server at ${ctx.live?.url} (server ${holder}): checked through --url`,
        );
      }
      const who = holder === undefined ? '' : ` (sbmp server ${holder} answers there)`;
      return fail(
        'port',
        `port ${port} in use: another sbmp? pass --port${who}`,
        `stop the process listening on ${host}:${port}, or pass --port N (0 picks a free port)`,
      );
    }
    if (code === 'EACCES') {
      return fail('port', `not allowed to listen on ${host}:${port}`, 'pass --port above 1023');
    }
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      return fail(
        'port',
        `cannot listen on ${host}:${port}: ${host} is not an address of this machine`,
        'pass --host 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)',
      );
    }
    return fail(
      'port',
      `cannot listen on ${host}:${port}: ${messageOf(error)}`,
      'pass another --host or --port',
    );
  }
}

function bindAndClose(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.close(() => resolve());
    });
  });
}

/** Where to ask the holder of host:port who it is (a wildcard host is reached through loopback). */
function probeUrl(host: string, port: number): string {
  const target = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${target.includes(':') ? `[${target}]` : target}:${port}/healthz`;
}

/** The server id of the sbmp server answering `/healthz` at `url`; undefined for anything else. */
async function sbmpServerAt(url: string): Promise<string | undefined> {
  try {
    const res = await probeGet(url, HOLDER_PROBE_TIMEOUT_MS);
    const serverId = parseObject(res.body).serverId;
    return res.status === 200 && typeof serverId === 'string' ? serverId : undefined;
  } catch {
    return undefined;
  }
}

function liveServerId(ctx: DoctorContext): string | undefined {
  const healthz = ctx.live?.healthz;
  if (healthz?.ok !== true) return undefined;
  const serverId = parseObject(healthz.value.body).serverId;
  return typeof serverId === 'string' ? serverId : undefined;
}
