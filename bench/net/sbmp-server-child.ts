/**
 * Child process running one SBMP server (see bench/lib/child.ts): a memory store or an LMDB
 * store in the given directory. Answers `memory` with its process memory figures.
 */
import { startServer } from '../../src/server/server.js';
import { openLmdbStore } from '../../src/store/lmdb.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { Store } from '../../src/store/types.js';
import { AllocationMeter } from '../lib/allocation.js';
import { runAsChild } from '../lib/child.js';
import { processMemory } from '../lib/process-memory.js';
import type { SbmpServerInit, ServerReady } from './servers.js';

runAsChild<SbmpServerInit>(async (init) => {
  const store: Store =
    init.store.kind === 'memory' ? new MemoryStore() : await openLmdbStore({ path: init.store.path });
  const server = await startServer({ host: '127.0.0.1', port: 0, store, logger: false, limits: init.limits });
  return {
    ready: { url: server.url } satisfies ServerReady,
    handlers: { ...new AllocationMeter().handlers(), memory: () => processMemory() },
    async close() {
      await server.close({ drainMs: 500 });
      await store.close();
    },
  };
});
