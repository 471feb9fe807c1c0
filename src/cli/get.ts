import type { Command } from 'commander';
import { HttpApi } from '../client/http-api.js';
import { type ServerAccessOptions, withServerAccess } from './args.js';
import { EXIT } from './exit-codes.js';
import { err, out, snapshotJson } from './output.js';
import { reportFailure } from './report.js';

export function registerGet(program: Command): void {
  withServerAccess(
    program
      .command('get')
      .description('print the current snapshot of KEY as JSON')
      .argument('<key>', 'key, e.g. orders/eu/10042'),
  )
    .addHelpText(
      'after',
      `
Prints {"key","version","revision","ts","source","state"}.
Exit codes: 0 found, 4 not found or deleted, 2 bad key, 1 failure.

Example:
  sbmp get orders/eu/10042`,
    )
    .action(async (key: string, options: ServerAccessOptions) => {
      process.exitCode = await get(key, options);
    });
}

async function get(key: string, options: ServerAccessOptions): Promise<number> {
  const api = new HttpApi(options.url, options.token === undefined ? {} : { token: options.token });
  try {
    const found = await api.lookup(key);
    if (!found.found) {
      const deleted =
        found.deletedVersion === undefined ? '' : ` (deleted at version ${found.deletedVersion})`;
      await err(`sbmp get: not_found: '${key}' does not exist${deleted}`);
      return EXIT.notFound;
    }
    await out(JSON.stringify(snapshotJson(found.snapshot), null, 2));
    return EXIT.ok;
  } catch (error) {
    return reportFailure('get', error, options.url);
  }
}
