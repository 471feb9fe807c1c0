import { mailboxScenario } from './core/mailbox.js';
import { replicaScenario } from './core/replica.js';
import type { Scenario } from './lib/scenario.js';

/** Every scenario `npm run bench` knows, in the order they run. */
export const scenarios: readonly Scenario[] = [replicaScenario, mailboxScenario];
