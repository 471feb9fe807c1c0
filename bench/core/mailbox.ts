import type { Snapshot } from '../../src/index.js';
import { ConflatingMailbox } from '../../src/index.js';
import { measureSyncRate } from '../lib/measure.js';
import type { Row } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';

const KEYS = 1000;
const BATCH = 64;

/**
 * ConflatingMailbox offer/take over 1,000 hot keys (every offer replaces a pending snapshot
 * or queues a new key) against a plain array queue's push/shift, which keeps every message.
 */
export const mailboxScenario: Scenario = {
  name: 'mailbox',
  description: 'ConflatingMailbox offer+take vs plain array push+shift',
  async run(): Promise<Row[]> {
    const snapshots: Snapshot[] = [];
    for (let v = 1; v <= 16; v++) {
      for (let k = 0; k < KEYS; k++) {
        snapshots.push({ key: `hot/${k}`, version: v, state: v, ts: 0, source: 'bench' });
      }
    }
    // Versions rise per key across rounds; the offered version keeps increasing by shifting rounds.
    let round = 0;
    const mailbox = new ConflatingMailbox();
    const sbmp = measureSyncRate(
      (i) => {
        const base = snapshots[i % snapshots.length]!;
        if (i % snapshots.length === 0) round++;
        mailbox.offer({ ...base, version: base.version + round * 16 });
        if ((i & (BATCH - 1)) === BATCH - 1) mailbox.drain(BATCH);
      },
      { batch: 1024 },
    );

    const queue: Snapshot[] = [];
    const array = measureSyncRate(
      (i) => {
        const base = snapshots[i % snapshots.length]!;
        queue.push({ ...base, version: base.version + round * 16 });
        if ((i & (BATCH - 1)) === BATCH - 1) for (let k = 0; k < BATCH; k++) queue.shift();
      },
      { batch: 1024 },
    );
    return [
      {
        scenario: 'mailbox',
        subject: 'sbmp ConflatingMailbox offer+take',
        metric: 'offers/s',
        unit: 'ops/s',
        figure: sbmp,
        better: 'higher',
        baseline: 'array push+shift',
      },
      {
        scenario: 'mailbox',
        subject: 'array push+shift',
        metric: 'offers/s',
        unit: 'ops/s',
        figure: array,
        better: 'higher',
      },
    ];
  },
};
