import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerCheck } from './check.js';
import { registerDel } from './del.js';
import { registerDoctor } from './doctor.js';
import { EXIT } from './exit-codes.js';
import { registerGet } from './get.js';
import { registerLs } from './ls.js';
import { registerPut } from './put.js';
import { registerServe } from './serve.js';
import { registerWatch } from './watch.js';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** The `sbmp` command line. Each sub-command lives in its own file and registers itself here. */
export function buildProgram(): Command {
  const program = new Command('sbmp')
    .description('SBMP: keep many replicas of live state in sync with versioned, immutable snapshots')
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError()
    // `sbmp put KEY --version 5` is the put's version, not the program's: program options only
    // count before the command name.
    .enablePositionalOptions()
    // Throw instead of exiting, so usage errors get exit code 2 (see exit-codes.ts).
    .exitOverride();
  registerServe(program);
  registerPut(program);
  registerGet(program);
  registerDel(program);
  registerLs(program);
  registerWatch(program);
  registerDoctor(program);
  registerCheck(program);
  program.addHelpText(
    'after',
    `
Client commands reach the server at --url (default http://127.0.0.1:7400, or env SBMP_URL).
Exit codes: 0 ok, 1 failure, 2 bad input, 3 stale or conflict, 4 not found.`,
  );
  return program;
}

/** Runs the command line and returns the process exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed the message, or the help / version text (exit code 0).
      return error.exitCode === 0 ? EXIT.ok : EXIT.badInput;
    }
    throw error;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
}
