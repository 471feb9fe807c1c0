import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { LagFigures, RuntimeStats } from '../runtime.js';
import type { WatermarkState } from './memory-watermark.js';
import type { ServerGuards } from './server-guards.js';
import type { BreakerState } from './store-breaker.js';

const WATERMARK_STATES: readonly WatermarkState[] = ['normal', 'shedding', 'critical'];
const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half-open', 'isolated'];

/** Buckets of the per-second worst event-loop lag, in seconds: 1 ms to 5 s. */
const LAG_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Metrics of the guards and the event loop, registered on one server's registry. Gauges and
 * counters are read from the guards when scraped (nothing is counted twice); the lag histogram
 * is fed once per one-second window through the returned `observeLagWindow`, so a scrape never
 * misses a stall that happened between two scrapes.
 *
 * - `sbmp_memory_watermark_state{state}` 1 for the current state; `sbmp_memory_watermark_ratio`,
 *   `sbmp_memory_usage_bytes`, `sbmp_memory_limit_bytes{source}`;
 * - `sbmp_guard_refusals_total{action}`: connections, subscriptions, publishes refused for memory;
 * - `sbmp_store_breaker_state{state}`, `sbmp_store_breaker_opens_total`,
 *   `sbmp_store_breaker_rejections_total`, `sbmp_store_breaker_failures_total`;
 * - `sbmp_store_compactions_total{result}`;
 * - `sbmp_event_loop_lag_seconds{stat}` (current, mean, p50, p99, max of the last window) and
 *   the histogram `sbmp_event_loop_lag_window_max_seconds` (each window's worst lag).
 */
export function registerGuardMetrics(
  registry: Registry,
  guards: ServerGuards,
  runtime: RuntimeStats,
): { observeLagWindow(figures: LagFigures): void } {
  const registers = [registry];
  if (guards.memory !== undefined) registerMemoryMetrics(registers, guards);
  if (guards.breaker !== undefined) registerBreakerMetrics(registers, guards);
  new Counter({
    name: 'sbmp_store_compactions_total',
    help: 'Periodic store compactions by result (skipped: the store breaker was not closed, or a run was still going)',
    labelNames: ['result'],
    registers,
    collect() {
      const figures = guards.figures().compaction;
      this.reset();
      this.inc({ result: 'ok' }, figures.ok);
      this.inc({ result: 'error' }, figures.errors);
      this.inc({ result: 'skipped' }, figures.skipped);
    },
  });
  new Gauge({
    name: 'sbmp_event_loop_lag_seconds',
    help: 'Event-loop lag over the last one-second window (current: the latest probe)',
    labelNames: ['stat'],
    registers,
    collect() {
      const lag = runtime.lag;
      this.set({ stat: 'current' }, lag.currentMs / 1000);
      this.set({ stat: 'mean' }, lag.meanMs / 1000);
      this.set({ stat: 'p50' }, lag.p50Ms / 1000);
      this.set({ stat: 'p99' }, lag.p99Ms / 1000);
      this.set({ stat: 'max' }, lag.maxMs / 1000);
    },
  });
  const windowMax = new Histogram({
    name: 'sbmp_event_loop_lag_window_max_seconds',
    help: 'The worst event-loop lag of each one-second window',
    buckets: LAG_BUCKETS,
    registers,
  });
  return {
    observeLagWindow(figures) {
      windowMax.observe(figures.maxMs / 1000);
    },
  };
}

function registerMemoryMetrics(registers: Registry[], guards: ServerGuards): void {
  const memory = () => guards.figures().memory;
  new Gauge({
    name: 'sbmp_memory_watermark_state',
    help: 'Memory watermark state: 1 for the current one (shedding: new connections and subscriptions refused; critical: publishes too)',
    labelNames: ['state'],
    registers,
    collect() {
      const figures = memory();
      if (figures === null) return;
      for (const state of WATERMARK_STATES) this.set({ state }, figures.state === state ? 1 : 0);
    },
  });
  new Gauge({
    name: 'sbmp_memory_watermark_ratio',
    help: 'Memory in use at the last sample over the memory limit',
    registers,
    collect() {
      const figures = memory();
      if (figures !== null) this.set(figures.ratio);
    },
  });
  new Gauge({
    name: 'sbmp_memory_usage_bytes',
    help: 'Memory in use at the last sample of the watermark (resident set size by default)',
    registers,
    collect() {
      const figures = memory();
      if (figures !== null) this.set(figures.usageBytes);
    },
  });
  new Gauge({
    name: 'sbmp_memory_limit_bytes',
    help: 'The memory limit the watermark compares with, by where it came from',
    labelNames: ['source'],
    registers,
    collect() {
      const figures = memory();
      if (figures === null) return;
      this.reset();
      this.set({ source: figures.limitSource }, figures.limitBytes);
    },
  });
  new Counter({
    name: 'sbmp_guard_refusals_total',
    help: 'New connections, subscriptions and publishes refused by the memory watermark',
    labelNames: ['action'],
    registers,
    collect() {
      const refusals = guards.figures().refusals;
      this.reset();
      for (const [action, count] of Object.entries(refusals)) this.inc({ action }, count);
    },
  });
}

function registerBreakerMetrics(registers: Registry[], guards: ServerGuards): void {
  const breaker = () => guards.figures().storeBreaker;
  new Gauge({
    name: 'sbmp_store_breaker_state',
    help: 'Store circuit breaker state: 1 for the current one (open and half-open: store calls fail fast with unavailable)',
    labelNames: ['state'],
    registers,
    collect() {
      const figures = breaker();
      if (figures === null) return;
      for (const state of BREAKER_STATES) this.set({ state }, figures.state === state ? 1 : 0);
    },
  });
  const counters = [
    ['sbmp_store_breaker_opens_total', 'Times the store circuit breaker opened', 'opens'],
    [
      'sbmp_store_breaker_rejections_total',
      'Store calls refused by the breaker without reaching the store',
      'rejected',
    ],
    ['sbmp_store_breaker_failures_total', 'Store calls that reached the store and failed', 'failures'],
  ] as const;
  for (const [name, help, field] of counters) {
    new Counter({
      name,
      help,
      registers,
      collect() {
        const figures = breaker();
        if (figures === null) return;
        this.reset();
        this.inc(figures[field]);
      },
    });
  }
}
