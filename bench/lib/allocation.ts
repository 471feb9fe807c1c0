import { GCProfiler, getHeapStatistics } from 'node:v8';

/**
 * Bytes this process allocated on the JavaScript heap between `start` and `stop`: what the heap
 * grew by, plus what every garbage collection in between freed (V8's GC profiler reports the
 * heap before and after each). It counts objects, strings, closures and promises; the backing
 * stores of Buffers live outside the heap and are not in it.
 *
 * Bench children expose it as the `allocationStart` / `allocationStop` handlers, so a scenario
 * can divide a server's allocation by the snapshots it delivered.
 */
export class AllocationMeter {
  #profiler: GCProfiler | undefined;
  #usedAtStart = 0;

  start(): void {
    this.#profiler?.stop();
    this.#profiler = new GCProfiler();
    this.#profiler.start();
    this.#usedAtStart = getHeapStatistics().used_heap_size;
  }

  /** Bytes allocated since `start`; undefined when it was not started. */
  stop(): number | undefined {
    const profiler = this.#profiler;
    if (profiler === undefined) return undefined;
    this.#profiler = undefined;
    const usedAtEnd = getHeapStatistics().used_heap_size;
    const figures = profiler.stop();
    let freed = 0;
    for (const gc of figures?.statistics ?? []) {
      freed += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
    }
    return usedAtEnd - this.#usedAtStart + freed;
  }

  /** The handlers a bench child registers (see bench/lib/child.ts). */
  handlers(): Record<string, () => unknown> {
    return {
      allocationStart: () => this.start(),
      allocationStop: () => this.stop(),
    };
  }
}
