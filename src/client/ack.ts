import type { ApplyResult } from '../core/apply.js';
import { SbmpError } from '../core/errors.js';

/**
 * The server's answer to a publish. Every apply result is a value here: `stale` and
 * `conflict` resolve too, with `version` the version the server currently holds.
 */
export interface Ack {
  readonly key: string;
  readonly result: ApplyResult;
  /** The applied version; for `stale` / `conflict` the version currently held (0 when none). */
  readonly version: number;
  /** The store revision of the applied change, or of the current snapshot when refused (0 when unknown). */
  readonly revision: number;
}

/** True for `applied` and `duplicate`: the state the producer sent is what the server holds at that version. */
export function isAccepted(ack: Ack): boolean {
  return ack.result === 'applied' || ack.result === 'duplicate';
}

/**
 * Returns `ack` when it was accepted, else throws `SbmpError` with code `stale` or `conflict`
 * and `details.current` the version the server holds — for callers that prefer exceptions:
 * `throwIfRefused(await client.publish(key, state, { version }))`.
 */
export function throwIfRefused(ack: Ack): Ack {
  if (isAccepted(ack)) return ack;
  const code = ack.result === 'stale' ? 'stale' : 'conflict';
  throw new SbmpError(
    code,
    `publish of '${ack.key}' refused (${code}): the server holds version ${ack.version}`,
    { details: { key: ack.key, current: ack.version, revision: ack.revision } },
  );
}
