import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';

/** Something with generations to move on each major GC: every pool. */
export interface Ageable {
  /** Drops the victim generation and demotes the primary one. Must not throw. */
  age(): void;
}

/**
 * Pooled items live at most two major GC cycles, driven by the runtime's own GC notifications.
 *
 * One PerformanceObserver for 'gc' entries serves the whole process (GC is a process-wide
 * event, so this is a mirror of the runtime, not a setting). It starts with the first
 * subscriber and disconnects when the last one leaves. Each major GC entry ages every
 * subscribed pool once. Entries arrive asynchronously, shortly after the collection.
 *
 * Pools are held through WeakRefs: the observer never keeps a pool alive. A pool that becomes
 * garbage is collected; a FinalizationRegistry then removes its dead WeakRef (and the observer
 * skips dead refs in the meantime). `close()` on a pool unsubscribes it at once.
 */
const subscribers = new Set<WeakRef<Ageable>>();
const listeners = new Set<(majorGcs: number) => void>();
const collected = new FinalizationRegistry<WeakRef<Ageable>>((ref) => {
  subscribers.delete(ref);
  stopWhenUnused();
});
let observer: PerformanceObserver | undefined;
let majorGcs = 0;

function isMajorGc(entry: PerformanceEntry): boolean {
  // 'gc' entries carry `detail.kind` (Node >= 16); the typings do not declare it.
  const { detail } = entry as unknown as { detail?: { kind?: number } | null };
  return detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR;
}

function onEntries(list: { getEntries(): PerformanceEntry[] }): void {
  let majors = 0;
  for (const entry of list.getEntries()) if (isMajorGc(entry)) majors++;
  if (majors === 0) return;
  majorGcs += majors;
  for (const ref of subscribers) {
    const pool = ref.deref();
    if (pool === undefined) continue;
    // Two majors in one batch age twice: the result matches two separate notifications.
    for (let i = 0; i < majors; i++) pool.age();
  }
  for (const listener of [...listeners]) listener(majorGcs);
}

function startWhenNeeded(): void {
  if (observer !== undefined) return;
  observer = new PerformanceObserver(onEntries);
  observer.observe({ entryTypes: ['gc'] });
}

function stopWhenUnused(): void {
  if (observer === undefined || subscribers.size > 0 || listeners.size > 0) return;
  observer.disconnect();
  observer = undefined;
}

/** Ages `pool` on every major GC until the returned function is called or the pool is collected. */
export function subscribeToGcAging(pool: Ageable): () => void {
  const ref = new WeakRef(pool);
  subscribers.add(ref);
  collected.register(pool, ref, ref);
  startWhenNeeded();
  return () => {
    if (!subscribers.delete(ref)) return;
    collected.unregister(ref);
    stopWhenUnused();
  };
}

/**
 * Calls `listener` after the pools have been aged for each batch of major GCs, with the number
 * of major GCs seen so far. Held strongly until the returned function is called. For metrics
 * and for tests that must wait until aging has happened.
 */
export function onMajorGc(listener: (majorGcs: number) => void): () => void {
  listeners.add(listener);
  startWhenNeeded();
  return () => {
    listeners.delete(listener);
    stopWhenUnused();
  };
}

/** Major GCs observed since the observer started (0 while no pool or listener has subscribed). */
export function majorGcCount(): number {
  return majorGcs;
}

/** Pools currently subscribed to aging (dead WeakRefs not yet finalized included). */
export function agingSubscriberCount(): number {
  return subscribers.size;
}
