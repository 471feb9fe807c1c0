import { PoolRegistry, parsePoolName } from '../../pool/registry.js';
import { type CheckGroup, type CheckResult, fail, messageOf, pass, skip } from './check.js';

/**
 * Are the pools the server uses registered under valid names? The names come from the list
 * the server registers at start-up (`SERVER_POOLS`), and, with `--url`, from the pools the
 * live server reports in `/debug/vars`. A pool constructed under an unregistered name stops
 * start-up with `pool_unregistered`; a malformed name is `bad_config`.
 */
export const poolChecks: CheckGroup = {
  name: 'pools',
  timeoutMs: 10_000,
  async run(ctx) {
    const { SERVER_POOLS } = await import('../../server/pools.js');
    const declared = SERVER_POOLS.map((d) => d.name);
    const figures = ctx.live?.figures;
    const reported = figures?.ok === true ? (figures.value.poolNames ?? []) : [];
    return [checkNames(declared, reported)];
  },
};

/**
 * The verdict on the pool names the server declares and those a live server reports. Declared
 * names are registered into a fresh registry, as the server does at start-up, so malformed
 * and duplicate names fail here as they would there; reported names must be valid.
 */
export function checkNames(declared: readonly string[], reported: readonly string[]): CheckResult {
  const names = [...new Set([...declared, ...reported])].sort();
  if (names.length === 0) {
    return skip('pools', 'the server declares no pools in this version: nothing to register');
  }
  const problems: string[] = [];
  const registry = new PoolRegistry();
  for (const name of declared) {
    try {
      registry.registerPool({ name });
    } catch (error) {
      problems.push(messageOf(error));
    }
  }
  for (const name of reported) {
    try {
      parsePoolName(name);
    } catch (error) {
      problems.push(`the live server reports ${messageOf(error)}`);
    }
  }
  if (problems.length > 0) {
    return fail(
      'pools',
      problems.join('; '),
      'register each pool once, with registerPool({ name: "sbmp.<domain>.<resource>.v<MAJOR>" }), before constructing it',
    );
  }
  const where = reported.length > 0 ? `, ${reported.length} reported by the live server` : '';
  return pass(
    'pools',
    `${names.length} pool name(s) register cleanly and are valid${where}: ${names.join(', ')}`,
  );
}
