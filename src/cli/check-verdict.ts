/**
 * What `sbmp check` observed of a deployment, and the verdict on the guarantees of SPEC
 * section 1 that it can see from outside: no acknowledged update lost, no version regression
 * delivered, nothing delivered that was never published, and convergence of every subscriber.
 * Pure: the workload that gathers the observations is in check-run.ts.
 */

/** A state the check published, told apart by the id it carries (`<publisher>.<sequence>`). */
export interface Held {
  readonly version: number;
  readonly id: string;
}

export interface PublishTally {
  sent: number;
  applied: number;
  duplicate: number;
  stale: number;
  conflict: number;
  /** Publishes that got no apply result (connection lost, refused for load, ...). */
  failed: number;
  firstError?: string;
}

export interface SubscriberView {
  readonly name: string;
  /** Subscribed only after publishing stopped: its first sync is a full one. */
  readonly late: boolean;
  readonly deliveries: number;
  /** Deliveries its replicas refused; on one connection `stale` and `conflict` break the rules. */
  readonly refused: { readonly duplicate: number; readonly stale: number; readonly conflict: number };
  /** Why its connection ended during the check, if it did. */
  readonly lost?: string;
  /** What its replicas hold per key at the end. */
  readonly held: ReadonlyMap<string, Held>;
}

export interface CheckObservations {
  readonly keys: readonly string[];
  readonly publishes: PublishTally;
  /** Per key, the highest version acknowledged as `applied`, and the state it carried. */
  readonly newestApplied: ReadonlyMap<string, Held>;
  /** Per key, what the store held once publishing stopped (absent: nothing). */
  readonly store: ReadonlyMap<string, Held>;
  /** Deliveries whose key, version and state no publish of the check sent. */
  readonly phantoms: number;
  readonly phantomExample?: string;
  readonly subscribers: readonly SubscriberView[];
  /** ms from reading the store until every subscriber held the same; undefined if it never did. */
  readonly convergedAfterMs: number | undefined;
}

export interface CheckResult {
  readonly name: string;
  readonly passed: boolean;
  /** The figures behind the result, or the first counter-example. */
  readonly detail: string;
}

export interface CheckVerdict {
  readonly passed: boolean;
  readonly results: readonly CheckResult[];
}

/** Keys on which `held` differs from the store: the first one as an example, and how many. */
export function mismatches(
  keys: readonly string[],
  store: ReadonlyMap<string, Held>,
  held: ReadonlyMap<string, Held>,
): { count: number; example?: string } {
  let count = 0;
  let example: string | undefined;
  for (const key of keys) {
    const truth = store.get(key);
    const mine = held.get(key);
    if (truth?.version === mine?.version && truth?.id === mine?.id) continue;
    count++;
    example ??= `${key}: store ${describe(truth)}, subscriber ${describe(mine)}`;
  }
  return example === undefined ? { count } : { count, example };
}

function describe(held: Held | undefined): string {
  return held === undefined ? 'nothing' : `version ${held.version} (state ${held.id})`;
}

export function judge(observations: CheckObservations): CheckVerdict {
  const results = [
    lostUpdates(observations),
    regressions(observations),
    phantoms(observations),
    convergence(observations),
  ];
  return { passed: results.every((r) => r.passed), results };
}

function lostUpdates({ keys, newestApplied, store }: CheckObservations): CheckResult {
  let lost = 0;
  let example: string | undefined;
  for (const key of keys) {
    const acked = newestApplied.get(key);
    if (acked === undefined) continue;
    const truth = store.get(key);
    const kept =
      truth !== undefined &&
      (truth.version > acked.version || (truth.version === acked.version && truth.id === acked.id));
    if (kept) continue;
    lost++;
    example ??= `${key}: version ${acked.version} (state ${acked.id}) was acknowledged, the store holds ${describe(truth)}`;
  }
  return {
    name: 'no acknowledged update lost',
    passed: lost === 0,
    detail:
      example === undefined
        ? `${newestApplied.size} of ${keys.length} keys hold their newest acknowledged version or a later one`
        : `${lost} of ${keys.length} keys lost an acknowledged update; ${example}`,
  };
}

function regressions({ subscribers }: CheckObservations): CheckResult {
  let stale = 0;
  let conflict = 0;
  let duplicate = 0;
  for (const s of subscribers) {
    stale += s.refused.stale;
    conflict += s.refused.conflict;
    duplicate += s.refused.duplicate;
  }
  return {
    name: 'no version regression',
    passed: stale === 0 && conflict === 0,
    detail: `subscribers were sent ${stale} older and ${conflict} conflicting versions (${duplicate} repeats, harmless)`,
  };
}

/** Deliveries to every subscriber together. */
export function totalDeliveries(subscribers: readonly SubscriberView[]): number {
  return subscribers.reduce((sum, s) => sum + s.deliveries, 0);
}

function phantoms({ phantoms: count, phantomExample, subscribers }: CheckObservations): CheckResult {
  const deliveries = totalDeliveries(subscribers);
  return {
    name: 'nothing delivered that was not published',
    passed: count === 0,
    detail:
      phantomExample === undefined
        ? `${deliveries.toLocaleString('en-US')} deliveries checked`
        : `${count} of ${deliveries.toLocaleString('en-US')} deliveries were never published; ${phantomExample}`,
  };
}

function convergence({ keys, store, subscribers, convergedAfterMs }: CheckObservations): CheckResult {
  const lost = subscribers.find((s) => s.lost !== undefined);
  if (lost !== undefined) {
    return {
      name: 'convergence',
      passed: false,
      detail: `${lost.name} lost its connection: ${lost.lost}`,
    };
  }
  for (const s of subscribers) {
    const { count, example } = mismatches(keys, store, s.held);
    if (count > 0) {
      return {
        name: 'convergence',
        passed: false,
        detail: `${s.name} differs from the store on ${count} of ${keys.length} keys; ${example}`,
      };
    }
  }
  const late = subscribers.filter((s) => s.late).length;
  return {
    name: 'convergence',
    passed: true,
    detail: `${subscribers.length} subscribers (${late} joined after publishing) equal the store on ${keys.length} keys${
      convergedAfterMs === undefined ? '' : ` within ${Math.ceil(convergedAfterMs)} ms of reading it`
    }`,
  };
}
