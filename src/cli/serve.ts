import type { Command } from 'commander';
import { isSbmpError, SbmpError } from '../core/errors.js';
import type { SbmpServer } from '../server/server.js';
import type { Store } from '../store/types.js';
import { portArg } from './args.js';
import { EXIT } from './exit-codes.js';
import { err, out } from './output.js';
import { reportFailure } from './report.js';
import { resolveServeSettings, SERVE_DEFAULTS, type ServeFlags, type ServeSettings } from './serve-config.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run an SBMP server: HTTP API, WebSocket and server-sent events on one port')
    .option('--host <host>', `interface to listen on (default ${SERVE_DEFAULTS.host}; 0.0.0.0 for all)`)
    .option('--port <port>', `port (default ${SERVE_DEFAULTS.port}; 0 picks a free one)`, portArg)
    .option('--store <spec>', `where state lives: lmdb:<dir> (default ${SERVE_DEFAULTS.store}) or memory`)
    .option(
      '--memory-limit <size>',
      'memory the process may use, e.g. 512MB (default: the cgroup or heap limit)',
    )
    .option(
      '--config <file>',
      'JSON config file: {host, port, store, memoryLimit, serverId, limits}; flags win',
    )
    .addHelpText(
      'after',
      `
Prints one line with the server's URL once it is ready. SIGTERM or Ctrl-C drains connections,
closes the store and exits 0. A start-up failure (port in use, unwritable store) exits 1 with
the cause and the fix; a bad flag or config exits 2.

Examples:
  sbmp serve
  sbmp serve --port 8080 --store lmdb:/var/lib/sbmp
  sbmp serve --store memory --port 0`,
    )
    .action(async (flags: ServeFlags) => {
      process.exitCode = await serve(flags);
    });
}

async function serve(flags: ServeFlags): Promise<number> {
  let settings: ServeSettings;
  try {
    settings = await resolveServeSettings(flags);
  } catch (error) {
    return reportFailure('serve', error);
  }
  // Loaded here, not at the top: the client commands then start without the server's modules.
  const { openStore } = await import('../store/open.js');
  const { startServer } = await import('../server/server.js');
  let store: Store;
  try {
    store = await openStore(settings.store);
  } catch (error) {
    return reportFailure('serve', storeFailure(settings.store, error));
  }
  let server: SbmpServer;
  try {
    server = await startServer({
      host: settings.host,
      port: settings.port,
      store,
      limits: settings.limits,
      ...(settings.serverId === undefined ? {} : { serverId: settings.serverId }),
    });
  } catch (error) {
    await store.close().catch(() => {});
    return reportFailure('serve', bindFailure(settings, error));
  }
  await out(
    `sbmp serving ${server.url} (WebSocket ${server.url.replace(/^http/, 'ws')}/sbmp/v3/ws, store ${settings.store})`,
  );
  await untilSignal();
  await err('sbmp serve: shutting down');
  // A second signal while draining means "now": leave without waiting.
  const force = () => process.exit(EXIT.failure);
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  try {
    await server.close();
    await store.close();
  } catch (error) {
    return reportFailure('serve', error);
  }
  return EXIT.ok;
}

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** The socket error behind a failure, wherever in the cause chain it is (EADDRINUSE, EACCES, ...). */
function systemCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current !== null && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Says which address could not be bound and what to do about it. */
function bindFailure(settings: ServeSettings, error: unknown): unknown {
  const address = `${settings.host}:${settings.port}`;
  switch (systemCode(error)) {
    case 'EADDRINUSE':
      return new SbmpError(
        'unavailable',
        `port ${settings.port} is in use on ${settings.host}; stop the other process or pass --port (0 picks a free port)`,
        { cause: error },
      );
    case 'EACCES':
      return new SbmpError('unavailable', `not allowed to listen on ${address}; pass --port above 1023`, {
        cause: error,
      });
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new SbmpError(
        'bad_config',
        `cannot listen on ${address}: ${settings.host} is not an address of this machine; pass --host (127.0.0.1 or 0.0.0.0)`,
        { cause: error },
      );
    default:
      return error;
  }
}

/** Names the store and the fix when it cannot be opened. */
function storeFailure(spec: string, error: unknown): unknown {
  const message = error instanceof Error ? error.message : String(error);
  const code = isSbmpError(error) ? error.code : 'unavailable';
  const fix =
    code === 'bad_config'
      ? 'pass --store lmdb:<dir> or --store memory'
      : code === 'corrupt_store'
        ? 'restore the directory from a backup, or start with a new --store lmdb:<dir>'
        : 'check that the directory exists or can be created and is writable, or pass another --store';
  return new SbmpError(code, `cannot open store '${spec}': ${message}; ${fix}`, { cause: error });
}
