import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { SbmpError } from '../../core/errors.js';

/**
 * Structured JSON logs (pino): the default logger, and the request id every HTTP request gets.
 *
 * Field names are stable, so log pipelines can index them: `requestId` (HTTP), `connection`
 * (WebSocket and SSE connection ids, the same numbers `/debug/vars` lists), `traceId` (the W3C
 * trace id of a publish), `key`, `version`, `result`, `revision`, `durationMs`.
 */

/** Environment variable that sets the default logger's level. Default `info`. */
export const LOG_LEVEL_ENV = 'SBMP_LOG_LEVEL';
/** Request and response header carrying the request id. */
export const REQUEST_ID_HEADER = 'x-request-id';
/** Longest `X-Request-Id` kept from a client: 128 characters. Longer or odder ones are replaced. */
export const MAX_REQUEST_ID_CHARS = 128;

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** Token characters only: a request id ends up in headers and log lines, so nothing that could split either. */
const REQUEST_ID = new RegExp(`^[A-Za-z0-9._:@/+=-]{1,${MAX_REQUEST_ID_CHARS}}$`);

/**
 * The logger a server uses when none is given: JSON lines on stdout, ISO timestamps, level
 * from `SBMP_LOG_LEVEL` (default `info`; `debug` adds one line per request and per publish).
 * An unknown level is `bad_config` naming the variable.
 */
export function defaultLogger(env: NodeJS.ProcessEnv = process.env): Logger {
  const level = env[LOG_LEVEL_ENV] ?? 'info';
  if (!(LEVELS as readonly string[]).includes(level)) {
    throw new SbmpError(
      'bad_config',
      `${LOG_LEVEL_ENV}='${level.slice(0, 40)}' is not a log level; use one of ${LEVELS.join(', ')}`,
      { details: { variable: LOG_LEVEL_ENV } },
    );
  }
  return pino({ name: 'sbmp', level, timestamp: pino.stdTimeFunctions.isoTime });
}

const requestIds = new WeakMap<IncomingMessage, string>();

/** The request's own `X-Request-Id` when well-formed (1..128 token characters), else a new UUID. */
export function chooseRequestId(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Gives a request its id: echoed in the response's `X-Request-Id` (whatever the status) and
 * readable by handlers through `requestIdOf`. With a logger at `debug`, one `request` line is
 * written when the response finishes or the client goes away.
 */
export function beginRequest(logger: Logger | undefined, req: IncomingMessage, res: ServerResponse): string {
  const requestId = chooseRequestId(req);
  requestIds.set(req, requestId);
  res.setHeader('X-Request-Id', requestId);
  if (logger?.isLevelEnabled('debug') === true) {
    const started = performance.now();
    res.once('close', () => {
      logger.debug(
        {
          requestId,
          method: req.method,
          path: (req.url ?? '/').split('?', 1)[0],
          status: res.statusCode,
          finished: res.writableFinished,
          remote: req.socket.remoteAddress,
          durationMs: Math.round((performance.now() - started) * 1000) / 1000,
        },
        'request',
      );
    });
  }
  return requestId;
}

/** The id `beginRequest` gave this request; undefined for one that never went through it. */
export function requestIdOf(req: IncomingMessage): string | undefined {
  return requestIds.get(req);
}
