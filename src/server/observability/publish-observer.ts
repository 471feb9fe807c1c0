import { context } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { isSbmpError, SbmpError } from '../../core/errors.js';
import type { PutOutcome, SnapshotInput } from '../../store/types.js';
import { traceIdOf } from './trace-context.js';
import { endPublishSpan, failPublishSpan, startPublishSpan, tracingEnabled } from './tracing.js';

/** Where a publish came from, for its log line. */
export interface PublishOrigin {
  readonly logger: Logger | undefined;
  /** The HTTP request's id (`X-Request-Id`). */
  readonly requestId?: string;
  /** The WebSocket connection's id. */
  readonly connection?: number;
}

/** Failures worth a line at `error` whatever the level: the server's fault, not the request's. */
const SERVER_FAULTS = new Set(['internal', 'corrupt_store']);

/**
 * True when a publish needs `observePublish`: a tracing SDK is registered, or the log wants
 * its `debug` line. Otherwise the publisher runs it directly and reports only a server fault
 * (`logPublishFault`), which saves a span, a context and a closure per publish.
 */
export function observationNeeded(origin: PublishOrigin | undefined): boolean {
  return tracingEnabled() || origin?.logger?.isLevelEnabled('debug') === true;
}

/** Logs a failed publish at `error` when it is the server's fault; the caller's faults are not logged here. */
export function logPublishFault(
  input: SnapshotInput,
  transport: string,
  origin: PublishOrigin | undefined,
  started: number,
  err: unknown,
): void {
  const logger = origin?.logger;
  if (logger === undefined) return;
  const code = isSbmpError(err) ? err.code : 'internal';
  if (!SERVER_FAULTS.has(code)) return;
  logger.error({ ...logFields(input, transport, origin!, started), code, err }, 'publish failed');
}

/**
 * Runs one publish inside its `sbmp.publish` span and logs it: a `publish` line at `debug`
 * (`requestId` or `connection`, `transport`, `key`, `version`, `result`, `revision`, `traceId`,
 * `durationMs`); a failure at `debug` too when it is the request's fault (bad input, limits,
 * shedding), at `error` when it is the server's. `run` gets the input to store, whose trace
 * context may now name the publish span (see `startPublishSpan`).
 */
export async function observePublish(
  input: SnapshotInput,
  transport: string,
  origin: PublishOrigin | undefined,
  run: (input: SnapshotInput) => Promise<PutOutcome>,
): Promise<PutOutcome> {
  const started = performance.now();
  const publish = startPublishSpan(input, transport);
  let outcome: PutOutcome;
  try {
    outcome = await context.with(publish.context, run, undefined, publish.input);
  } catch (err) {
    const error = isSbmpError(err) ? err : new SbmpError('internal', 'internal error', { cause: err });
    failPublishSpan(publish, error);
    if (SERVER_FAULTS.has(error.code)) logPublishFault(publish.input, transport, origin, started, err);
    else if (origin?.logger?.isLevelEnabled('debug') === true) {
      const fields = { ...logFields(publish.input, transport, origin, started), code: error.code, err };
      origin.logger.debug(fields, 'publish refused');
    }
    throw err;
  }
  endPublishSpan(publish, outcome);
  const logger = origin?.logger;
  if (logger?.isLevelEnabled('debug') === true) {
    logger.debug(
      {
        ...logFields(publish.input, transport, origin!, started),
        result: outcome.result,
        version: outcome.version,
        revision: outcome.revision,
      },
      'publish',
    );
  }
  return outcome;
}

function logFields(
  input: SnapshotInput,
  transport: string,
  origin: PublishOrigin,
  started: number,
): Record<string, unknown> {
  const fields: Record<string, unknown> = { transport, key: input.key };
  if (input.version !== undefined) fields.version = input.version;
  if (origin.requestId !== undefined) fields.requestId = origin.requestId;
  if (origin.connection !== undefined) fields.connection = origin.connection;
  const traceId = traceIdOf(input.trace);
  if (traceId !== undefined) fields.traceId = traceId;
  fields.durationMs = Math.round((performance.now() - started) * 1000) / 1000;
  return fields;
}
