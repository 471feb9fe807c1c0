import { EventEmitter } from 'node:events';
import type { Snapshot } from '../../src/index.js';
import { Replica } from '../../src/index.js';
import { measureSyncRate } from '../lib/measure.js';
import type { Row } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';

const GOAL_APPLIES_PER_SECOND = 20_000_000;
const STATE = Object.freeze({ price: 101.5, qty: 3 });

/**
 * Replica.apply (apply rules, atomic replace, one listener) against the least a holder can
 * do: compare a version, replace, EventEmitter.emit. Both build the snapshot they apply.
 */
export const replicaScenario: Scenario = {
  name: 'replica',
  description: 'Replica.apply vs a bare version check + EventEmitter.emit',
  async run(): Promise<Row[]> {
    const replica = new Replica<typeof STATE>({ key: 'quotes/ACME' });
    let seen = 0;
    replica.subscribe(() => {
      seen++;
    });
    const sbmp = measureSyncRate((i) => {
      replica.apply({ key: 'quotes/ACME', version: i + 1, state: STATE, ts: 0, source: 'bench' });
    });

    const emitter = new EventEmitter();
    emitter.on('snapshot', () => {
      seen++;
    });
    let held: Snapshot | undefined;
    const bare = measureSyncRate((i) => {
      const snapshot: Snapshot = { key: 'quotes/ACME', version: i + 1, state: STATE, ts: 0, source: 'bench' };
      if (held === undefined || snapshot.version > held.version) {
        held = snapshot;
        emitter.emit('snapshot', snapshot);
      }
    });
    if (seen === 0) throw new Error('no listener ran');

    const staleReplica = new Replica<typeof STATE>({ key: 'quotes/ACME' });
    staleReplica.apply({ key: 'quotes/ACME', version: 1_000_000_000, state: STATE, ts: 0, source: 'bench' });
    const stale = measureSyncRate((i) => {
      staleReplica.apply({
        key: 'quotes/ACME',
        version: (i % 1000) + 1,
        state: STATE,
        ts: 0,
        source: 'bench',
      });
    });

    return [
      {
        scenario: 'replica',
        subject: 'sbmp Replica.apply',
        metric: 'applied/s',
        unit: 'ops/s',
        figure: sbmp,
        better: 'higher',
        baseline: 'version check + EventEmitter.emit',
        goal: { text: '>= 20,000,000/s', met: sbmp.median >= GOAL_APPLIES_PER_SECOND },
      },
      {
        scenario: 'replica',
        subject: 'version check + EventEmitter.emit',
        metric: 'applied/s',
        unit: 'ops/s',
        figure: bare,
        better: 'higher',
      },
      {
        scenario: 'replica',
        subject: 'sbmp Replica.apply (stale refused)',
        metric: 'stale/s',
        unit: 'ops/s',
        figure: stale,
        better: 'higher',
      },
    ];
  },
};
