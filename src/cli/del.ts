import type { Command } from 'commander';
import { HttpApi } from '../client/http-api.js';
import { type ServerAccessOptions, versionArg, withServerAccess } from './args.js';
import { printWriteOutcome } from './put.js';
import { reportFailure } from './report.js';

interface DelOptions extends ServerAccessOptions {
  readonly version: number;
}

export function registerDel(program: Command): void {
  withServerAccess(
    program
      .command('del')
      .description('delete KEY by writing a tombstone at a version; later writes below it are stale')
      .argument('<key>', 'key, e.g. orders/eu/10042')
      .requiredOption('--version <n>', 'the tombstone version (above the current one)', versionArg),
  )
    .addHelpText(
      'after',
      `
Prints the outcome as JSON: {"key","result","version","revision"}.
Exit codes: 0 deleted, 3 stale or conflict (the current version is printed), 2 bad input, 1 failure.

Example:
  sbmp del orders/eu/10042 --version 8`,
    )
    .action(async (key: string, options: DelOptions) => {
      process.exitCode = await del(key, options);
    });
}

async function del(key: string, options: DelOptions): Promise<number> {
  const api = new HttpApi(options.url, options.token === undefined ? {} : { token: options.token });
  try {
    return await printWriteOutcome('del', await api.delete(key, { version: options.version }));
  } catch (error) {
    return reportFailure('del', error, options.url);
  }
}
