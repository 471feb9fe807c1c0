import type { Registry } from 'prom-client';
import { Gauge } from 'prom-client';
import type { PoolRegistry } from '../../pool/registry.js';

/**
 * Pool figures beyond the counters: bytes held and mean item age, per pool (`pool` label),
 * read from the registry at each scrape. An item age that keeps growing on an idle pool is
 * fine (it is dropped after two major GCs); one that grows under load means items are held
 * but not reused.
 */
export function registerPoolGauges(registry: Registry, pools: PoolRegistry): void {
  const gauges = [
    [
      'sbmp_pool_live_bytes',
      'Bytes held by pooled items now (buffer pools; 0 for object pools)',
      'liveBytes',
      1,
    ],
    [
      'sbmp_pool_mean_item_age_seconds',
      'Mean time the pooled items have spent in the pool',
      'meanItemAgeMs',
      1000,
    ],
  ] as const;
  for (const [name, help, field, divisor] of gauges) {
    new Gauge({
      name,
      help,
      labelNames: ['pool'],
      registers: [registry],
      collect() {
        this.reset();
        for (const stats of pools.poolStats()) this.set({ pool: stats.name }, stats[field] / divisor);
      },
    });
  }
}
