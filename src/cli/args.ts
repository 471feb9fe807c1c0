import { type Command, InvalidArgumentError } from 'commander';
import { isSbmpError } from '../core/errors.js';
import { parseVersion } from '../core/version.js';

/** Where the client commands look for a server unless told otherwise (`--url`, `SBMP_URL`). */
export const DEFAULT_URL = 'http://127.0.0.1:7400';

export interface ServerAccessOptions {
  readonly url: string;
  readonly token?: string;
}

/** `--url` and `--token`, shared by every command that talks to a running server. */
export function withServerAccess(command: Command): Command {
  return command
    .option('--url <url>', 'server URL (or env SBMP_URL)', process.env.SBMP_URL ?? DEFAULT_URL)
    .option(
      '--token <jwt>',
      'bearer token, when the server requires one (or env SBMP_TOKEN)',
      process.env.SBMP_TOKEN,
    );
}

/** A version argument: a decimal integer 1..2^53-1. */
export function versionArg(text: string): number {
  return rethrowAsUsage(() => parseVersion(text));
}

/** A revision argument: a decimal integer 0..2^53-1. */
export function revisionArg(text: string): number {
  if (text.trim() === '0') return 0;
  return rethrowAsUsage(() => parseVersion(text, 'revision'));
}

/** A count argument: a positive integer up to `max`. */
export function countArg(max: number): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!/^[0-9]+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < 1 || value > max) {
      throw new InvalidArgumentError(`must be an integer from 1 to ${max}`);
    }
    return value;
  };
}

/** A port argument: 0 (any free port) to 65535. */
export function portArg(text: string): number {
  const value = Number(text);
  if (!/^[0-9]+$/.test(text.trim()) || value > 65_535) {
    throw new InvalidArgumentError('must be a port number from 0 to 65535 (0 picks a free port)');
  }
  return value;
}

/** One of `choices`. */
export function choiceArg<T extends string>(choices: readonly T[]): (text: string) => T {
  return (text) => {
    if (!(choices as readonly string[]).includes(text)) {
      throw new InvalidArgumentError(`must be one of ${choices.join(', ')}`);
    }
    return text as T;
  };
}

function rethrowAsUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (isSbmpError(error)) throw new InvalidArgumentError(error.message);
    throw error;
  }
}
