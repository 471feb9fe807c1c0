import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { PoolRegistry } from '../pool/registry.js';
import type { CounterCell, HistogramCell } from './observability/local-metrics.js';
import { LocalCounter, LocalHistogram } from './observability/local-metrics.js';
import { registerPoolGauges } from './observability/pool-gauges.js';
import type { StoreOperationHistogram } from './observability/store-timing.js';
import { storeOperationHistogram } from './observability/store-timing.js';

/** Kinds of streaming connection, the `kind` label of `sbmp_connections`. */
export type ConnectionKind = 'ws' | 'sse' | 'health';

/** Where a stale snapshot was refused: a producer's publish, or a subscriber's seam check. */
export type StaleWhere = 'publish' | 'fanout';

/** Publish results as counted: the apply results plus failures (bad input, limits, store errors). */
export type PublishOutcome = 'applied' | 'duplicate' | 'conflict' | 'stale' | 'error';

/**
 * The Prometheus metrics of one server. Each server has its own `Registry` (never the global
 * one), so several servers in one process, as in tests, keep separate figures.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly publishes: LocalCounter<'result' | 'transport'>;
  readonly deliveries: LocalCounter<'transport'>;
  readonly conflated: LocalCounter;
  readonly staleRejections: LocalCounter<'where'>;
  readonly connections: Gauge<'kind'>;
  readonly subscriptions: Gauge;
  readonly slowConsumers: Counter;
  readonly publishSeconds: LocalHistogram<'transport'>;
  readonly publishToDeliverySeconds: LocalHistogram;
  /** Cells of the per-delivery figures, resolved once (see `LocalCounter`). */
  readonly wsDelivered: CounterCell;
  readonly sseDelivered: CounterCell;
  readonly conflatedCell: CounterCell;
  readonly staleInFanout: CounterCell;
  readonly staleOnPublish: CounterCell;
  readonly deliveryAge: HistogramCell;
  /** `sbmp_store_operation_seconds`, fed by `timeStore`. */
  readonly storeSeconds: StoreOperationHistogram;

  constructor(pools: PoolRegistry | undefined) {
    const registers = [this.registry];
    this.publishes = new LocalCounter({
      name: 'sbmp_publishes_total',
      help: 'Publishes by apply result (error: refused before reaching the store, or the store failed)',
      labelNames: ['result', 'transport'],
      registers,
    });
    this.deliveries = new LocalCounter({
      name: 'sbmp_deliveries_total',
      help: 'Snapshots written to subscribers',
      labelNames: ['transport'],
      registers,
    });
    this.conflated = new LocalCounter({
      name: 'sbmp_conflated_total',
      help: 'Pending snapshots replaced by a newer version of the same key before delivery',
      registers,
    });
    this.staleRejections = new LocalCounter({
      name: 'sbmp_stale_rejections_total',
      help: 'Snapshots refused because a newer version was already held (publish) or already queued or sent (fanout)',
      labelNames: ['where'],
      registers,
    });
    this.connections = new Gauge({
      name: 'sbmp_connections',
      help: 'Open streaming connections by kind',
      labelNames: ['kind'],
      registers,
    });
    this.subscriptions = new Gauge({
      name: 'sbmp_subscriptions',
      help: 'Live subscriptions (WebSocket subscriptions and SSE watches)',
      registers,
    });
    this.slowConsumers = new Counter({
      name: 'sbmp_slow_consumers_total',
      help: 'Subscribers closed because too many keys were pending for them',
      registers,
    });
    this.publishSeconds = new LocalHistogram({
      name: 'sbmp_publish_seconds',
      help: 'Time from receiving a publish to its outcome (store put included)',
      labelNames: ['transport'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.publishToDeliverySeconds = new LocalHistogram({
      name: 'sbmp_publish_to_delivery_seconds',
      help: "Time from a snapshot's ts (the producer's or the store's clock) to its delivery, per written batch (its oldest snapshot)",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    });
    this.storeSeconds = storeOperationHistogram(this.registry);
    this.wsDelivered = this.deliveries.cell({ transport: 'ws' });
    this.sseDelivered = this.deliveries.cell({ transport: 'sse' });
    this.conflatedCell = this.conflated.cell();
    this.staleInFanout = this.staleRejections.cell({ where: 'fanout' });
    this.staleOnPublish = this.staleRejections.cell({ where: 'publish' });
    this.deliveryAge = this.publishToDeliverySeconds.cell();
    for (const kind of ['ws', 'sse', 'health'] as const) this.connections.set({ kind }, 0);
    this.subscriptions.set(0);
    if (pools !== undefined) {
      registerPoolMetrics(this.registry, pools);
      registerPoolGauges(this.registry, pools);
    }
    collectDefaultMetrics({ register: this.registry });
  }

  /** Prometheus text exposition of every metric. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * Records one written batch in `sbmp_publish_to_delivery_seconds`: the age of its oldest
 * snapshot. Once per batch rather than per snapshot, since a histogram observation costs more
 * than the rest of a delivery; the worst age in a batch is the figure that matters.
 */
export function observeDeliveryAge(metrics: ServerMetrics, oldestTs: number): void {
  const age = Date.now() - oldestTs;
  if (age >= 0 && Number.isFinite(age)) metrics.deliveryAge.observe(age / 1000);
}

/** Pool figures are read from the registry when scraped; nothing is counted twice. */
function registerPoolMetrics(registry: Registry, pools: PoolRegistry): void {
  const counters = [
    ['sbmp_pool_hits_total', 'Gets served from the primary generation', 'hits'],
    ['sbmp_pool_misses_total', 'Gets that found the pool empty', 'misses'],
    ['sbmp_pool_allocs_total', 'Items allocated', 'allocations'],
    ['sbmp_pool_reuses_total', 'Gets served by a pooled item of either generation', 'reuses'],
  ] as const;
  for (const [name, help, field] of counters) {
    new Counter({
      name,
      help,
      labelNames: ['pool'],
      registers: [registry],
      collect() {
        this.reset();
        for (const stats of pools.poolStats()) this.inc({ pool: stats.name }, stats[field]);
      },
    });
  }
  new Gauge({
    name: 'sbmp_pool_live_items',
    help: 'Items held by the pool now',
    labelNames: ['pool'],
    registers: [registry],
    collect() {
      this.reset();
      for (const stats of pools.poolStats()) this.set({ pool: stats.name }, stats.liveItems);
    },
  });
}
