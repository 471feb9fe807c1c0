import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStore } from '../../src/store/memory.js';
import { runStoreContract } from './contract.js';
import { throwsCode } from './helpers.js';

runStoreContract({
  name: 'memory',
  create: async (options) => new MemoryStore(options),
});

describe('MemoryStore', () => {
  it('declares itself neither durable nor replicated', () => {
    assert.deepEqual(new MemoryStore().capabilities, {
      durable: false,
      syncedToDisk: false,
      replicated: false,
    });
  });

  it('refuses nonsense options with bad_config', () => {
    throwsCode(() => new MemoryStore({ maxStateBytes: 0 }), 'bad_config');
    throwsCode(() => new MemoryStore({ retention: { tombstoneMs: -1 } }), 'bad_config');
  });
});
