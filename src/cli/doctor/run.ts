import { withTimeout } from '../with-timeout.js';
import { aclChecks } from './acl-check.js';
import { certChecks } from './cert-check.js';
import {
  type CheckGroup,
  type CheckResult,
  type DoctorContext,
  type DoctorInput,
  fail,
  messageOf,
} from './check.js';
import { clockChecks } from './clock-check.js';
import { loadConfig } from './config-check.js';
import { probeLiveServer } from './live-server.js';
import { loopLagChecks } from './loop-lag-check.js';
import { memoryChecks } from './memory-check.js';
import { natsChecks } from './nats-check.js';
import { poolChecks } from './pools-check.js';
import { portChecks } from './port-check.js';
import { serverChecks } from './server-check.js';
import { storeChecks } from './store-check.js';

/** The checklist after `config`, in the order it is printed and run. */
export const CHECK_GROUPS: readonly CheckGroup[] = Object.freeze([
  storeChecks,
  poolChecks,
  portChecks,
  certChecks,
  aclChecks,
  natsChecks,
  clockChecks,
  memoryChecks,
  // Late, so that it watches an event loop with nothing of the doctor's own left to do.
  loopLagChecks,
  serverChecks,
]);

/**
 * Runs the whole checklist one group at a time and returns one result per check, in order.
 * Never throws: a group that throws or overruns its time becomes a `fail` naming it.
 */
export async function runDoctor(
  input: DoctorInput,
  groups: readonly CheckGroup[] = CHECK_GROUPS,
): Promise<CheckResult[]> {
  const config = await loadConfig(input);
  const live = input.url === undefined ? undefined : await probeLiveServer(input.url);
  const ctx: DoctorContext = { input, settings: config.settings, live };
  const results: CheckResult[] = [config.result];
  for (const group of groups) {
    try {
      results.push(...(await withTimeout(group.run(ctx), group.timeoutMs, `the ${group.name} checks`)));
    } catch (error) {
      results.push(
        fail(
          group.name,
          `the check could not run: ${messageOf(error)}`,
          'run it again; if it fails the same way, report it with this message',
        ),
      );
    }
  }
  return results;
}

/** Exit code of a doctor run: 1 when any check failed, else 0. */
export function doctorExitCode(results: readonly CheckResult[]): 0 | 1 {
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}
