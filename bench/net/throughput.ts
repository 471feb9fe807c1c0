import type { Scenario } from '../lib/scenario.js';
import type { DeliveryPlan } from './delivery.js';
import { runDeliveryScenario } from './delivery-scenario.js';
import { peerGoal } from './rows.js';
import { SUBJECT_LABELS } from './subjects.js';

/** At most 200,000 messages or 1 s per run, three runs after a warm-up. */
export const THROUGHPUT_PLAN: DeliveryPlan = {
  subscribers: 1,
  count: 200_000,
  runMs: 1000,
  runs: 3,
  warmupMs: 300,
  warmupCount: 200_000,
  keys: 10_000,
  window: 1024,
  drainMs: 3000,
};

/**
 * One publisher, one subscriber, 256-byte messages as fast as a 1,024-message in-flight window
 * allows (the SBMP server's default per-connection limit), each server in its own process.
 * SBMP publishes to 10,000 keys round-robin with rising versions, so its subscriber receives
 * every version unless it falls behind and the server conflates.
 */
export const throughputScenario: Scenario = {
  name: 'throughput-1-1',
  description: '1 publisher -> 1 subscriber, 256 B messages: SBMP vs NATS core, Redis pub/sub, ws relay',
  run: () =>
    runDeliveryScenario({
      scenario: 'throughput-1-1',
      deliveredGoal: peerGoal(
        '>= 1x NATS core and >= 4x Redis',
        (sbmp, peer) => sbmp >= peer(SUBJECT_LABELS.nats) && sbmp >= 4 * peer(SUBJECT_LABELS.redis),
      ),
      plan: THROUGHPUT_PLAN,
    }),
};
