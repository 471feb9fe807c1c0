/**
 * How far SBMP's clients can go whatever the server does: runs 1 -> 1, fan-out 1 -> 100 and
 * latency at 10,000 messages/s (the scenarios' own plans) against a bare SBMP server that only
 * acknowledges and forwards (bench/net/bare-server-child.ts), the real server on the memory
 * store, and NATS core, in interleaved rounds, and prints each figure per round and subject.
 * The bare server's figures are the clients' ceiling in this harness.
 *
 *   NODE_ENV=production node --import tsx --expose-gc bench/tools/client-ceiling.ts [rounds]
 */
import type { DeliveryFigures } from '../net/delivery.js';
import { measureDelivery } from '../net/delivery.js';
import { FANOUT_PLAN } from '../net/fanout.js';
import type { SubjectLatency } from '../net/latency.js';
import { measureLatency } from '../net/latency.js';
import type { Subject, SubjectKind } from '../net/subjects.js';
import { measureEachSubject } from '../net/subjects.js';
import { THROUGHPUT_PLAN } from '../net/throughput.js';

const SUBJECTS: readonly SubjectKind[] = ['sbmp-bare', 'sbmp', 'nats'];
const rounds = Number(process.argv[2] ?? 2);
if (!Number.isSafeInteger(rounds) || rounds < 1) {
  console.error('usage: client-ceiling.ts [rounds (a positive integer, default 2)]');
  process.exit(2);
}

interface SubjectFigures {
  readonly oneToOne: DeliveryFigures;
  readonly fanout: DeliveryFigures;
  readonly latency: SubjectLatency;
}

async function measure(subject: Subject): Promise<SubjectFigures> {
  return {
    oneToOne: await measureDelivery(subject, 'bench.ceiling-1-1', THROUGHPUT_PLAN),
    fanout: await measureDelivery(subject, 'bench.ceiling-fanout', FANOUT_PLAN),
    latency: await measureLatency(subject),
  };
}

const whole = (n: number) => Math.round(n).toLocaleString('en-US');
console.log(
  '| round | subject | 1 -> 1 delivered/s | fan-out delivered/s | p50 µs | p99 µs | sent late p99 µs |',
);
console.log('|---|---|---|---|---|---|---|');
for (let round = 1; round <= rounds; round++) {
  // Servers started here, as the latency scenario's are: a found NATS server may still be
  // forwarding the fan-out's backlog when the latency run begins.
  for (const result of await measureEachSubject(SUBJECTS, measure, { fresh: true })) {
    const f = result.figures;
    const cells =
      f === undefined
        ? [`skipped: ${result.missing}`, '', '', '', '']
        : [
            whole(f.oneToOne.delivered.median),
            whole(f.fanout.delivered.median),
            whole(f.latency.p50.median),
            whole(f.latency.p99.median),
            whole(f.latency.sentLateP99.median),
          ];
    console.log(`| ${round} | ${result.label} | ${cells.join(' | ')} |`);
  }
}
