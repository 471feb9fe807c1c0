import type { Row } from '../lib/report.js';
import type { DeliveryPlan } from './delivery.js';
import { measureDelivery } from './delivery.js';
import type { MetricSpec } from './rows.js';
import { comparedRows, measuredOf } from './rows.js';
import type { SubjectKind } from './subjects.js';
import { measureEachSubject } from './subjects.js';

/** SBMP first, then the peers, each opened, measured and closed before the next. */
export const NETWORK_SUBJECTS: readonly SubjectKind[] = ['sbmp', 'nats', 'redis', 'ws-relay'];

export interface DeliveryScenarioSpec {
  readonly scenario: string;
  readonly plan: DeliveryPlan;
  readonly subjects?: readonly SubjectKind[];
  /** The goal SBMP's deliveries per second are held to. */
  readonly deliveredGoal?: MetricSpec['goal'];
}

/** Measures every subject with `measureDelivery` and returns the delivered, published and undelivered rows. */
export async function runDeliveryScenario(spec: DeliveryScenarioSpec): Promise<Row[]> {
  const results = await measureEachSubject(spec.subjects ?? NETWORK_SUBJECTS, async (subject) => {
    const figures = await measureDelivery(subject, `bench.${spec.scenario}`, spec.plan);
    if (figures.incompleteRuns > 0) {
      console.error(
        `bench: ${spec.scenario} ${subject.label}: ${figures.incompleteRuns} runs incomplete after ${spec.plan.drainMs} ms`,
      );
    }
    return figures;
  });
  const base = { scenario: spec.scenario };
  return [
    ...comparedRows(
      {
        ...base,
        metric: 'delivered/s',
        unit: 'msg/s',
        better: 'higher',
        ...(spec.deliveredGoal === undefined ? {} : { goal: spec.deliveredGoal }),
      },
      measuredOf(results, (d) => d.delivered),
    ),
    ...comparedRows(
      { ...base, metric: 'published/s', unit: 'msg/s', better: 'higher' },
      measuredOf(results, (d) => d.published),
    ),
    ...comparedRows(
      { ...base, metric: 'server heap allocated per delivery', unit: 'B', better: 'lower' },
      measuredOf(results, (d) => d.allocatedPerDelivery),
    ),
    ...comparedRows(
      { ...base, metric: 'clients heap allocated per delivery', unit: 'B', better: 'lower' },
      measuredOf(results, (d) => d.clientsAllocatedPerDelivery),
    ),
    ...comparedRows(
      { ...base, metric: 'not delivered (conflated or lost)', unit: '%', better: 'lower', compare: false },
      measuredOf(results, (d) => d.undelivered),
    ),
  ];
}
