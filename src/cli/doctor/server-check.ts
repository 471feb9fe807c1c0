import { readFileSync } from 'node:fs';
import { type CheckGroup, type CheckResult, fail, pass, skip } from './check.js';
import { type LiveServer, parseObject } from './live-server.js';

const UNREACHABLE = 'not checked: the server did not answer (see server-health)';

/**
 * The live server named with `--url`, from outside: `/healthz` answers ok (`server-health`),
 * `/readyz` says ready (`server-ready`), its store's revision can be read (`server-store`),
 * and its version (`server-version`).
 */
export const serverChecks: CheckGroup = {
  name: 'server',
  timeoutMs: 10_000,
  async run(ctx) {
    const live = ctx.live;
    if (live === undefined) {
      return [skip('server', 'no --url given: the checks of a running server were not run')];
    }
    if (!live.healthz.ok) {
      return [
        fail(
          'server-health',
          `cannot reach ${live.url}/healthz: ${live.healthz.error}`,
          `is 'sbmp serve' running there? check --url (scheme, host, port) and that nothing blocks the connection`,
        ),
        skip('server-ready', UNREACHABLE),
        skip('server-store', UNREACHABLE),
        skip('server-version', UNREACHABLE),
      ];
    }
    return [checkHealth(live), checkReady(live), checkStore(live), checkVersion(live)];
  },
};

function checkHealth(live: LiveServer): CheckResult {
  if (!live.healthz.ok) return skip('server-health', UNREACHABLE);
  const { status, body } = live.healthz.value;
  const health = parseObject(body);
  if (status !== 200 || health.status !== 'ok') {
    return fail(
      'server-health',
      `${live.url}/healthz answered HTTP ${status}: ${body.slice(0, 200)}`,
      'check that --url points at an sbmp server, and read its logs',
    );
  }
  const uptime = typeof health.uptimeMs === 'number' ? `, up ${Math.round(health.uptimeMs / 1000)} s` : '';
  return pass('server-health', `${live.url} is up: server ${String(health.serverId)}${uptime}`);
}

function checkReady(live: LiveServer): CheckResult {
  const readyz = live.readyz;
  if (readyz === undefined) return skip('server-ready', UNREACHABLE);
  if (!readyz.ok) {
    return fail('server-ready', `cannot read ${live.url}/readyz: ${readyz.error}`, 'read the server logs');
  }
  const body = parseObject(readyz.value.body);
  if (readyz.value.status !== 200) {
    const message = typeof body.message === 'string' ? body.message : readyz.value.body.slice(0, 200);
    return fail(
      'server-ready',
      `not ready (HTTP ${readyz.value.status}): ${message}`,
      'wait for start-up to finish; if it stays unready, read the server logs (a shutting-down server, or a store that cannot be watched)',
    );
  }
  return pass(
    'server-ready',
    `ready${typeof body.revision === 'number' ? ` at revision ${body.revision}` : ''}`,
  );
}

function checkStore(live: LiveServer): CheckResult {
  const figures = live.figures;
  if (figures === undefined) return skip('server-store', UNREACHABLE);
  if (!figures.ok) {
    return fail(
      'server-store',
      `cannot read the server's figures (/debug/vars, health stream): ${figures.error}`,
      'allow this client on /debug/vars or /sbmp/v3/health/stream, and read the server logs',
    );
  }
  const store = figures.value.store;
  if (store?.revision === undefined) {
    return fail(
      'server-store',
      `the server reports no store revision (from ${figures.value.source})`,
      'read the server logs',
    );
  }
  if (store.live === false) {
    return fail(
      'server-store',
      `the ${store.kind ?? ''} store is at revision ${store.revision}, but the live fan-out is not caught up with it`,
      'wait a moment and run again; if it persists the store cannot be watched: read the server logs',
    );
  }
  return pass(
    'server-store',
    `${store.kind ?? 'the'} store at revision ${store.revision}, watched live (from ${figures.value.source})`,
  );
}

function checkVersion(live: LiveServer): CheckResult {
  if (!live.healthz.ok) return skip('server-version', UNREACHABLE);
  const health = parseObject(live.healthz.value.body);
  const header = live.healthz.value.headers.server;
  const reported =
    typeof health.version === 'string'
      ? health.version
      : typeof header === 'string' && /^sbmp\//.test(header)
        ? header.slice('sbmp/'.length)
        : undefined;
  const ours = doctorVersion();
  if (reported === undefined) {
    return skip('server-version', `the server does not report its version (this sbmp is ${ours})`);
  }
  return pass(
    'server-version',
    `server ${reported}, this sbmp ${ours}${reported === ours ? '' : ' (different versions)'}`,
  );
}

function doctorVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
