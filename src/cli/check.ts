import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { isValidKey } from '../core/key.js';
import { choiceArg, countArg, type ServerAccessOptions, withServerAccess } from './args.js';
import type { CheckOptions } from './check-run.js';
import { runCheck } from './check-run.js';
import type { CheckObservations, CheckVerdict } from './check-verdict.js';
import { judge, totalDeliveries } from './check-verdict.js';
import { EXIT } from './exit-codes.js';
import { err, out } from './output.js';
import { reportFailure } from './report.js';

interface CheckCommandOptions
  extends ServerAccessOptions,
    Pick<CheckOptions, 'keys' | 'publishers' | 'subscribers' | 'seconds' | 'rate' | 'prefix'> {
  readonly timeout: number;
  readonly keep?: boolean;
  readonly format: 'text' | 'json';
}

function prefixArg(text: string): string {
  if (!isValidKey(`${text}/x`)) {
    throw new InvalidArgumentError('must be key segments of [A-Za-z0-9_.:=-] separated by /');
  }
  return text;
}

export function registerCheck(program: Command): void {
  withServerAccess(
    program
      .command('check')
      .description("run a workload against a live server and verify SBMP's guarantees, printing a verdict")
      .option('--keys <n>', 'keys written (under PREFIX/<run id>/)', countArg(10_000), 50)
      .option('--publishers <n>', 'publishing clients', countArg(64), 2)
      .option(
        '--subscribers <n>',
        'subscribing clients while publishing (one more joins after)',
        countArg(64),
        2,
      )
      .option('--seconds <n>', 'how long to publish', countArg(3600), 3)
      .option('--rate <n>', 'publishes per second, all publishers together', countArg(1_000_000), 1000)
      .option('--prefix <prefix>', 'where the keys go', prefixArg, 'sbmp-check')
      .option(
        '--timeout <ms>',
        'bound on each wait (connect, sync, last answers, convergence)',
        countArg(3_600_000),
        10_000,
      )
      .option('--keep', 'leave the keys in place instead of deleting them at the end')
      .option('--format <format>', 'text or json', choiceArg(['text', 'json'] as const), 'text'),
  )
    .addHelpText(
      'after',
      `
Publishers write random keys, most with a new version, some with an older one or resent as
they were; subscribers watch. Then the store is read and a late subscriber syncs from scratch.
Verified: no acknowledged update lost, no older or conflicting version delivered, nothing
delivered that was not published, and every subscriber ends equal to the store.
Exit codes: 0 every check passed, 1 one failed or the run could not complete.

Examples:
  sbmp check
  sbmp check --url http://10.0.0.5:7400 --keys 1000 --rate 5000 --seconds 30 --format json`,
    )
    .action(async (options: CheckCommandOptions) => {
      process.exitCode = await check(options);
    });
}

async function check(options: CheckCommandOptions): Promise<number> {
  const { timeout, keep, format: _format, ...rest } = options;
  const settings: CheckOptions = { ...rest, timeoutMs: timeout, keep: keep === true };
  let observations: CheckObservations;
  try {
    observations = await runCheck(settings, (line) => void err(line));
  } catch (error) {
    return reportFailure('check', error, options.url);
  }
  const verdict = judge(observations);
  await out(
    options.format === 'json' ? JSON.stringify(asJson(observations, verdict)) : asText(observations, verdict),
  );
  return verdict.passed ? EXIT.ok : EXIT.failure;
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

function asText(o: CheckObservations, verdict: CheckVerdict): string {
  const p = o.publishes;
  const deliveries = totalDeliveries(o.subscribers);
  const lines = [
    `publishes   ${count(p.sent)} sent: ${count(p.applied)} applied, ${count(p.duplicate)} duplicate, ${count(p.stale)} stale, ${count(p.conflict)} conflict, ${count(p.failed)} failed`,
    `deliveries  ${count(deliveries)} to ${o.subscribers.length} subscribers`,
  ];
  if (p.firstError !== undefined) lines.push(`first failure: ${p.firstError}`);
  for (const r of verdict.results) lines.push(`${r.passed ? 'pass' : 'FAIL'}  ${r.name}: ${r.detail}`);
  lines.push(`verdict: ${verdict.passed ? 'PASS' : 'FAIL'}`);
  return lines.join('\n');
}

function asJson(o: CheckObservations, verdict: CheckVerdict): Record<string, unknown> {
  return {
    passed: verdict.passed,
    checks: verdict.results,
    publishes: o.publishes,
    keys: o.keys.length,
    subscribers: o.subscribers.map((s) => ({
      name: s.name,
      late: s.late,
      deliveries: s.deliveries,
      refused: s.refused,
      ...(s.lost === undefined ? {} : { lost: s.lost }),
    })),
    phantoms: o.phantoms,
    convergedAfterMs: o.convergedAfterMs === undefined ? null : Math.ceil(o.convergedAfterMs),
  };
}
