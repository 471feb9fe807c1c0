import type { Command } from 'commander';
import { HttpApi, type HttpWriteOutcome } from '../client/http-api.js';
import { SbmpError } from '../core/errors.js';
import { type ServerAccessOptions, versionArg, withServerAccess } from './args.js';
import { EXIT } from './exit-codes.js';
import { err, out } from './output.js';
import { reportFailure } from './report.js';

/** Largest state read from stdin: 64 MiB. The server's own limit (1 MiB by default) is usually lower. */
const MAX_STDIN_BYTES = 64 * 1024 * 1024;

interface PutOptions extends ServerAccessOptions {
  readonly version?: number;
  readonly ifVersion?: number;
}

export function registerPut(program: Command): void {
  withServerAccess(
    program
      .command('put')
      .description('publish the whole state of KEY (JSON from the argument, or from stdin)')
      .argument('<key>', 'key, e.g. orders/eu/10042')
      .argument('[json]', 'the state as JSON; read from stdin when omitted')
      .option('--version <n>', 'publish exactly this version (default: current + 1)', versionArg)
      .option(
        '--if-version <n>',
        'compare-and-set: only if the current version is n (0: key never written)',
        ifVersionArg,
      ),
  )
    .addHelpText(
      'after',
      `
Prints the outcome as JSON: {"key","result","version","revision"}.
Exit codes: 0 applied or duplicate, 3 stale or conflict (the current version is printed), 2 bad input, 1 failure.

Examples:
  sbmp put orders/eu/10042 '{"status":"paid","total":42}'
  echo '{"on":true}' | sbmp put flags/checkout --version 7
  sbmp put counters/a '{"n":2}' --if-version 1`,
    )
    .action(async (key: string, json: string | undefined, options: PutOptions) => {
      process.exitCode = await put(key, json, options);
    });
}

async function put(key: string, json: string | undefined, options: PutOptions): Promise<number> {
  let state: unknown;
  try {
    state = parseJson(json ?? (await readStdin()));
  } catch (error) {
    return reportFailure('put', error);
  }
  const api = new HttpApi(options.url, options.token === undefined ? {} : { token: options.token });
  let outcome: HttpWriteOutcome;
  try {
    outcome = await api.put(key, state, {
      ...(options.version === undefined ? {} : { version: options.version }),
      ...(options.ifVersion === undefined ? {} : { ifVersion: options.ifVersion }),
    });
  } catch (error) {
    return reportFailure('put', error, options.url);
  }
  return printWriteOutcome('put', outcome, options.ifVersion);
}

/** Prints a write's outcome as JSON; a refusal also gets a sentence on stderr. Returns the exit code. */
export async function printWriteOutcome(
  command: string,
  outcome: HttpWriteOutcome,
  ifVersion?: number,
): Promise<number> {
  await out(JSON.stringify(outcome));
  if (outcome.result === 'applied' || outcome.result === 'duplicate') return EXIT.ok;
  const why =
    outcome.result === 'stale'
      ? `a higher version than ${outcome.version} is needed`
      : ifVersion !== undefined && ifVersion !== outcome.version
        ? `the current version is not ${ifVersion}`
        : `version ${outcome.version} already holds a different state`;
  await err(
    `sbmp ${command}: ${outcome.result}: '${outcome.key}' is at version ${outcome.version}; ${why}${
      command === 'put' ? ` (or use --if-version ${outcome.version})` : ''
    }`,
  );
  return EXIT.refused;
}

function ifVersionArg(text: string): number {
  return text.trim() === '0' ? 0 : versionArg(text);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new SbmpError('bad_state', `the state is not valid JSON: ${(cause as Error).message}`, { cause });
  }
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    throw new SbmpError('bad_request', 'give the state as a JSON argument, or pipe it on stdin');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > MAX_STDIN_BYTES) {
      throw new SbmpError('too_large', `the state on stdin is larger than ${MAX_STDIN_BYTES} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
