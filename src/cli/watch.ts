import type { Command } from 'commander';
import { SbmpClient } from '../client/client.js';
import type { DeliveredSnapshot } from '../client/delivery.js';
import { choiceArg, countArg, revisionArg, type ServerAccessOptions, withServerAccess } from './args.js';
import { EXIT } from './exit-codes.js';
import { err, formatTable, out, SNAPSHOT_COLUMNS, snapshotJson, snapshotRow } from './output.js';
import { reportFailure } from './report.js';

interface WatchOptions extends ServerAccessOptions {
  readonly since?: number;
  readonly format: 'json' | 'table';
  readonly count?: number;
}

export function registerWatch(program: Command): void {
  withServerAccess(
    program
      .command('watch')
      .description('print snapshots of keys matching PATTERN as they change (current state first)')
      .argument(
        '<pattern>',
        "key pattern: '*' matches one segment, a trailing '>' the rest (orders/*/10042, devices/>)",
      )
      .option(
        '--since <revision>',
        'print only changes after this revision instead of the current state first',
        revisionArg,
      )
      .option(
        '--format <format>',
        'json (one snapshot per line) or table',
        choiceArg(['json', 'table'] as const),
        'json',
      )
      .option('--count <n>', 'exit after printing n snapshots', countArg(Number.MAX_SAFE_INTEGER)),
  )
    .addHelpText(
      'after',
      `
Runs until interrupted (Ctrl-C) or --count snapshots were printed; reconnects and resumes by
itself when the connection drops. Snapshots go to stdout, progress notes ('# synced at
revision R') to stderr. Versions printed for a key only ever increase.

Examples:
  sbmp watch 'orders/>'
  sbmp watch 'devices/*/shadow' --since 1200 --format table`,
    )
    .action(async (pattern: string, options: WatchOptions) => {
      process.exitCode = await watch(pattern, options);
    });
}

async function watch(pattern: string, options: WatchOptions): Promise<number> {
  let client: SbmpClient;
  try {
    client = await SbmpClient.connect({
      url: options.url,
      clientId: `sbmp-watch-${process.pid}`,
      ...(options.token === undefined ? {} : { token: options.token }),
    });
  } catch (error) {
    return reportFailure('watch', error, options.url);
  }
  let finish!: (code: number) => void;
  const finished = new Promise<number>((resolve) => {
    finish = resolve;
  });
  // The client's end is reported once, whether it surfaces through the subscription or the client.
  let failed = false;
  const fail = (error: unknown) => {
    if (failed) return;
    failed = true;
    void reportFailure('watch', error, options.url).then(finish);
  };
  const onSignal = () => finish(EXIT.ok);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  let printed = 0;
  let headerPrinted = false;
  const print = (snapshot: DeliveredSnapshot) => {
    if (options.count !== undefined && printed >= options.count) return;
    printed++;
    if (options.format === 'json') {
      void out(JSON.stringify(snapshotJson(snapshot)));
    } else {
      const table = formatTable(SNAPSHOT_COLUMNS, [snapshotRow(snapshot)]).split('\n');
      if (!headerPrinted) void out(table[0]!);
      headerPrinted = true;
      void out(table[1]!);
    }
    if (options.count !== undefined && printed >= options.count) finish(EXIT.ok);
  };

  client.onStatus((status) => {
    if (status === 'reconnecting') void err('# connection lost; reconnecting');
  });
  client.onError((error) => {
    if (client.status === 'closed') fail(error);
    else {
      void err(`# warning: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
  try {
    const subscription = client.subscribe(
      pattern,
      print,
      options.since === undefined ? {} : { sinceRevision: options.since },
    );
    subscription.onSynced((revision) => void err(`# synced at revision ${revision}`));
    subscription.done.then(
      () => finish(EXIT.ok),
      (error: unknown) => fail(error),
    );
  } catch (error) {
    await client.close();
    return reportFailure('watch', error, options.url);
  }
  const code = await finished;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  await client.close();
  return code;
}
