import { readFileSync } from 'node:fs';
import { Command } from 'commander';

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
    .showHelpAfterError();
  return program;
}
