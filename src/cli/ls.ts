import type { Command } from 'commander';
import { HttpApi } from '../client/http-api.js';
import type { StoredSnapshot } from '../core/snapshot.js';
import { choiceArg, countArg, type ServerAccessOptions, withServerAccess } from './args.js';
import { EXIT } from './exit-codes.js';
import { err, formatTable, out, SNAPSHOT_COLUMNS, snapshotJson, snapshotRow } from './output.js';
import { reportFailure } from './report.js';

/** Largest page the server serves; `ls` follows cursors page by page up to `--limit`. */
const PAGE_LIMIT = 1000;

interface LsOptions extends ServerAccessOptions {
  readonly limit: number;
  readonly format: 'table' | 'json';
}

export function registerLs(program: Command): void {
  withServerAccess(
    program
      .command('ls')
      .description('list keys starting with PREFIX, in key order, with their versions')
      .argument('[prefix]', 'key prefix, e.g. orders/eu/ (default: every key)', '')
      .option('--limit <n>', 'most keys to print', countArg(1_000_000), 100)
      .option(
        '--format <format>',
        'table or json (one snapshot per line)',
        choiceArg(['table', 'json'] as const),
        'table',
      ),
  )
    .addHelpText(
      'after',
      `
Exit codes: 0 listed (also when nothing matches), 2 bad input, 1 failure.

Examples:
  sbmp ls orders/
  sbmp ls --format json --limit 5000 | jq .key`,
    )
    .action(async (prefix: string, options: LsOptions) => {
      process.exitCode = await ls(prefix, options);
    });
}

async function ls(prefix: string, options: LsOptions): Promise<number> {
  const api = new HttpApi(options.url, options.token === undefined ? {} : { token: options.token });
  const items: StoredSnapshot[] = [];
  let more = false;
  try {
    let cursor: string | undefined;
    // Bounded: every page holds at least one item until the listing ends.
    for (let page = 0; page <= options.limit; page++) {
      const limit = Math.min(PAGE_LIMIT, options.limit - items.length);
      const result = await api.list(prefix, { limit, ...(cursor === undefined ? {} : { cursor }) });
      items.push(...result.items.slice(0, options.limit - items.length));
      cursor = result.cursor;
      if (cursor === undefined || result.items.length === 0) break;
      if (items.length >= options.limit) {
        more = true;
        break;
      }
    }
  } catch (error) {
    return reportFailure('ls', error, options.url);
  }
  if (options.format === 'json') {
    if (items.length > 0) await out(items.map((s) => JSON.stringify(snapshotJson(s))).join('\n'));
  } else {
    await out(formatTable(SNAPSHOT_COLUMNS, items.map(snapshotRow)));
  }
  if (more) await err(`sbmp ls: showing the first ${items.length} keys; pass --limit to see more`);
  return EXIT.ok;
}
