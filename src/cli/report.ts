import { isSbmpError } from '../core/errors.js';
import { type ExitCode, exitCodeFor } from './exit-codes.js';
import { err } from './output.js';

/** A fix to suggest for a failure, by error code. */
function hintFor(code: string, url: string | undefined): string | undefined {
  switch (code) {
    case 'unavailable':
      return url === undefined
        ? undefined
        : `is 'sbmp serve' running at ${url}? pass --url or set SBMP_URL to reach another server`;
    case 'timeout':
      return 'the server is slow or unreachable; check it with: curl <url>/healthz';
    case 'unauthorized':
      return 'pass a token with --token or set SBMP_TOKEN';
    case 'forbidden':
      return 'the server ACL does not allow this identity on this key';
    case 'overloaded':
    case 'limit_exceeded':
      return 'the server is shedding load; retry later';
    default:
      return undefined;
  }
}

/** Prints `sbmp <command>: <message>` and a hint to stderr; returns the exit code for the failure. */
export async function reportFailure(command: string, error: unknown, url?: string): Promise<ExitCode> {
  const message = error instanceof Error ? error.message : String(error);
  const code = isSbmpError(error) ? error.code : undefined;
  const hint = code === undefined ? undefined : hintFor(code, url);
  await err(`sbmp ${command}: ${code === undefined ? '' : `${code}: `}${message}`);
  if (hint !== undefined) await err(`  hint: ${hint}`);
  if (!isSbmpError(error) && error instanceof Error && error.stack !== undefined && process.env.SBMP_DEBUG) {
    await err(error.stack);
  }
  return exitCodeFor(error);
}
