import { type Command, InvalidArgumentError } from 'commander';
import { choiceArg, portArg } from './args.js';
import type { DoctorInput } from './doctor/check.js';
import { formatJson, formatText } from './doctor/report.js';
import { out } from './output.js';
import { SERVE_DEFAULTS } from './serve-config.js';

interface DoctorFlags extends DoctorInput {
  readonly format: 'text' | 'json';
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description(
      'check that a server can start and run here: config, store, pools, port, clock, memory, NATS',
    )
    .option('--config <file>', 'the JSON config file sbmp serve would read')
    .option(
      '--store <spec>',
      `store to check: lmdb:<dir> (default ${SERVE_DEFAULTS.store}), memory or nats://`,
    )
    .option('--port <port>', `port sbmp serve would listen on (default ${SERVE_DEFAULTS.port})`, portArg)
    .option('--host <host>', `interface sbmp serve would listen on (default ${SERVE_DEFAULTS.host})`)
    .option('--memory-limit <size>', 'memory limit sbmp serve would use, e.g. 512MB')
    .option('--nats <url>', 'NATS server to check for JetStream, e.g. nats://127.0.0.1:4222')
    .option('--url <url>', 'a running server to check from outside, e.g. http://127.0.0.1:7400', urlArg)
    .option('--cert <file>', 'a TLS certificate (PEM or DER) to check for validity and expiry')
    .option(
      '--format <format>',
      'text (one line per check) or json (an array)',
      choiceArg(['text', 'json'] as const),
      'text',
    )
    .addHelpText(
      'after',
      `
Runs every check and prints one line each: PASS, FAIL (with the fix) or SKIP (the check does
not apply here, and why). Settings are read as sbmp serve reads them (defaults < config file <
SBMP_* environment < flags). Nothing is left behind: a store directory or data file created
to test the store is removed again. A store a running server holds is not opened: pass --url
to check it through that server. Exit code 1 when any check failed, 0 otherwise (2 for a bad
flag).

Examples:
  sbmp doctor
  sbmp doctor --config /etc/sbmp.json --url http://127.0.0.1:7400
  sbmp doctor --store lmdb:/var/lib/sbmp --nats nats://127.0.0.1:4222 --format json`,
    )
    .action(async (flags: DoctorFlags) => {
      process.exitCode = await doctor(flags);
    });
}

async function doctor(flags: DoctorFlags): Promise<number> {
  const { format, ...input } = flags;
  // Loaded here, not at the top: the other commands then start without the store and server modules.
  const { doctorExitCode, runDoctor } = await import('./doctor/run.js');
  const results = await runDoctor(input);
  await out(format === 'json' ? formatJson(results) : formatText(results));
  return doctorExitCode(results);
}

/** An http(s) URL. */
function urlArg(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError('must be a URL such as http://127.0.0.1:7400');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError('must be an http:// or https:// URL');
  }
  return text;
}
