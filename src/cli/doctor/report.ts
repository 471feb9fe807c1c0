import type { CheckResult, CheckStatus } from './check.js';

const LABEL: Readonly<Record<CheckStatus, string>> = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' };

/**
 * The report as text: one line per check, `STATUS  name  finding`, a failure's fix after
 * `fix:` on the same line, then a count line.
 */
export function formatText(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  const lines = results.map((r) => {
    const fix = r.fix === undefined ? '' : `  fix: ${r.fix}`;
    return `${LABEL[r.status]}  ${r.name.padEnd(width)}  ${r.finding}${fix}`;
  });
  const count = (status: CheckStatus) => results.filter((r) => r.status === status).length;
  lines.push(`sbmp doctor: ${count('pass')} passed, ${count('fail')} failed, ${count('skip')} skipped`);
  return lines.join('\n');
}

/** The report as a JSON array of `{ name, status, finding, fix? }`. */
export function formatJson(results: readonly CheckResult[]): string {
  return JSON.stringify(results, null, 2);
}
