import type { Scenario } from '../lib/scenario.js';
import type { DeliveryPlan } from './delivery.js';
import { runDeliveryScenario } from './delivery-scenario.js';
import { peerGoal } from './rows.js';
import { SUBJECT_LABELS } from './subjects.js';

const GOAL_DELIVERIES_PER_SECOND = 1_000_000;

/** 1,000 messages to 100 subscribers per run (100,000 deliveries), three runs after a warm-up. */
export const FANOUT_PLAN: DeliveryPlan = {
  subscribers: 100,
  count: 1000,
  runMs: 2000,
  runs: 3,
  warmupMs: 1000,
  warmupCount: 300,
  keys: 10_000,
  window: 1024,
  drainMs: 6000,
};

/**
 * One publisher, 100 subscribers (each its own connection, all in the bench process), 256-byte
 * messages; the figure is deliveries per second over all subscribers, from the first send to
 * the last delivery. Runs are bounded by count (1,000 messages = 100,000 deliveries): the ws
 * relay and NATS have no end-to-end flow control, so a publisher bounded by time alone would
 * leave a backlog in the server that the next run would inherit.
 */
export const fanoutScenario: Scenario = {
  name: 'fanout-1-100',
  description:
    '1 publisher -> 100 subscribers, 256 B messages: SBMP vs ws relay (NATS core, Redis as extra rows)',
  run: () =>
    runDeliveryScenario({
      scenario: 'fanout-1-100',
      subjects: ['sbmp', 'ws-relay', 'nats', 'redis'],
      deliveredGoal: peerGoal(
        `>= ${GOAL_DELIVERIES_PER_SECOND.toLocaleString('en-US')}/s and >= 4x ws relay`,
        (sbmp, peer) => sbmp >= GOAL_DELIVERIES_PER_SECOND && sbmp >= 4 * peer(SUBJECT_LABELS['ws-relay']),
      ),
      plan: FANOUT_PLAN,
    }),
};
