import type { Command } from 'commander';
import { isSbmpError, SbmpError } from '../core/errors.js';
import type { RunServerConfig } from '../server/run-config.js';
import type { RunningServer } from '../server/run-server.js';
import { portArg } from './args.js';
import { EXIT } from './exit-codes.js';
import { err, out } from './output.js';
import { reportFailure } from './report.js';
import { resolveServeSettings, SERVE_DEFAULTS, type ServeFlags, type ServeSettings } from './serve-config.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run an SBMP server: HTTP API, WebSocket and server-sent events on one port')
    .option(
      '--host <host>',
      `interface to listen on (default ${SERVE_DEFAULTS.host}; 0.0.0.0 for all; env SBMP_HOST)`,
    )
    .option(
      '--port <port>',
      `port (default ${SERVE_DEFAULTS.port}; 0 picks a free one; env SBMP_PORT)`,
      portArg,
    )
    .option(
      '--store <spec>',
      `where state lives: lmdb:<dir> (default ${SERVE_DEFAULTS.store}) or memory (env SBMP_STORE)`,
    )
    .option(
      '--memory-limit <size>',
      'memory the process may use, e.g. 512MB, at least 32MiB (default: the cgroup or heap limit; env SBMP_MEMORY_LIMIT)',
    )
    .option(
      '--config <file>',
      'JSON config file (env SBMP_CONFIG): {host, port, store, storeOptions, memoryLimit, serverId, limits, memoryWatermark, compactIntervalMs, drainMs, debug}',
    )
    .addHelpText(
      'after',
      `
Settings come from the config file, then SBMP_* environment variables, then flags: flags win.
Every setting is checked before anything starts; a bad or contradictory one exits 2 naming it.

Start-up runs in phases (pre-init: configuration; core-init: store, server; post-init: memory
headroom, heartbeat) and prints one line with the server's URL once it is ready. A failure in
any phase exits non-zero naming the phase, the step, the cause and the fix (1; 2 for a bad
setting). Under memory pressure the server sheds load: from 85% of the memory limit new
connections and subscriptions get 503 / WebSocket close 1013, from 92% publishes get
'overloaded', until memory falls below 75%. SIGTERM or Ctrl-C drains (GOAWAY to clients,
in-flight publishes acknowledged), closes the store and exits 0.

Examples:
  sbmp serve
  sbmp serve --port 8080 --store lmdb:/var/lib/sbmp --memory-limit 1GiB
  SBMP_PORT=0 SBMP_STORE=memory sbmp serve`,
    )
    .action(async (flags: ServeFlags) => {
      process.exitCode = await serve(flags);
    });
}

async function serve(flags: ServeFlags): Promise<number> {
  // Loaded here, not at the top: the client commands then start without the server's modules.
  const { runServer } = await import('../server/run-server.js');
  // Listening from the start: a signal during start-up stops the server once it is up.
  const signal = untilSignal();
  let settings: ServeSettings | undefined;
  let running: RunningServer;
  try {
    running = await runServer(async () => {
      settings = await resolveServeSettings(flags);
      return runConfigOf(settings);
    });
  } catch (error) {
    signal.dispose();
    return reportFailure('serve', explainStartFailure(error, settings));
  }
  // The one durability choice that is not the default is said at start-up, where operators look.
  const store = `${settings?.store ?? String(running.config.store)}${running.store.capabilities.syncedToDisk ? ', synced to disk' : ''}`;
  await out(
    `sbmp serving ${running.url} (WebSocket ${running.url.replace(/^http/, 'ws')}/sbmp/v3/ws, store ${store})`,
  );
  const received = await signal.promise;
  await err(`sbmp serve: ${received}: shutting down`);
  // A second signal while draining means "now": leave without waiting.
  const force = () => process.exit(EXIT.failure);
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  try {
    await running.shutdown();
  } catch (error) {
    return reportFailure('serve', error);
  }
  await err('sbmp serve: stopped, store closed');
  return EXIT.ok;
}

/** The server configuration for `settings`. */
function runConfigOf(settings: ServeSettings): RunServerConfig {
  const memory = {
    ...settings.memoryWatermark,
    ...(settings.memoryLimitBytes === undefined ? {} : { limitBytes: settings.memoryLimitBytes }),
  };
  return {
    host: settings.host,
    port: settings.port,
    store: settings.store,
    ...(settings.storeOptions === undefined ? {} : { storeOptions: settings.storeOptions }),
    limits: settings.limits,
    guards: {
      memory,
      ...(settings.compactIntervalMs === undefined ? {} : { compactIntervalMs: settings.compactIntervalMs }),
    },
    ...(settings.serverId === undefined ? {} : { serverId: settings.serverId }),
    ...(settings.drainMs === undefined ? {} : { drainMs: settings.drainMs }),
    ...(settings.debug === undefined ? {} : { debug: settings.debug }),
  };
}

function untilSignal(): { promise: Promise<NodeJS.Signals>; dispose(): void } {
  let onSignal: (signal: NodeJS.Signals) => void = () => {};
  const dispose = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  const promise = new Promise<NodeJS.Signals>((resolve) => {
    onSignal = (signal) => {
      dispose();
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  return { promise, dispose };
}

/**
 * A start-up failure in the words of the command line: the phase and step from the lifecycle,
 * and for the store and the listener, the flag that fixes it.
 */
function explainStartFailure(error: unknown, settings: ServeSettings | undefined): unknown {
  if (!isSbmpError(error) || settings === undefined) return error;
  const { phase, step } = error.details ?? {};
  if (typeof phase !== 'string' || typeof step !== 'string') return error;
  const cause = error.cause;
  const explained =
    step === 'server'
      ? bindFailure(settings, cause)
      : step === 'store'
        ? storeFailure(settings.store, cause)
        : step === 'memory headroom' && isSbmpError(cause)
          ? new SbmpError(
              cause.code,
              `${cause.message} with --memory-limit (or SBMP_MEMORY_LIMIT, memoryLimit)`,
            )
          : cause;
  if (explained === cause) return error;
  const message = explained instanceof Error ? explained.message : String(explained);
  return new SbmpError(
    isSbmpError(explained) ? explained.code : error.code,
    `start-up failed in ${phase} at '${step}': ${message}`,
    { cause: error, details: error.details },
  );
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
