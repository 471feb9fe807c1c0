import { bufferPoolScenario } from './core/buffer-pool.js';
import { channelScenario } from './core/channel.js';
import { mailboxScenario } from './core/mailbox.js';
import { poolScenario } from './core/pool.js';
import { replicaScenario } from './core/replica.js';
import type { Scenario } from './lib/scenario.js';
import { fanoutScenario } from './net/fanout.js';
import { idleConnectionsScenario } from './net/idle-connections.js';
import { latencyScenario } from './net/latency.js';
import { slowConsumerScenario } from './net/slow-consumer.js';
import { throughputScenario } from './net/throughput.js';
import { durableScenario } from './store/durable.js';

/** Every scenario `npm run bench` knows, in the order they run. */
export const scenarios: readonly Scenario[] = [
  replicaScenario,
  mailboxScenario,
  channelScenario,
  poolScenario,
  bufferPoolScenario,
  throughputScenario,
  fanoutScenario,
  latencyScenario,
  durableScenario,
  slowConsumerScenario,
  idleConnectionsScenario,
];
