import { after, describe } from 'node:test';
import type { Store } from '../../src/index.js';
import { applyContract } from './contract-apply.js';
import { concurrencyContract } from './contract-concurrency.js';
import { inputContract } from './contract-input.js';
import { readContract } from './contract-read.js';
import { watchContract } from './contract-watch.js';
import type { ContractStoreOptions, StoreFactory } from './helpers.js';
import { listeningFactory, putToFactory } from './helpers.js';

export type { ContractStoreOptions, StoreFactory } from './helpers.js';

/**
 * The one behaviour every `Store` implementation must have. Each implementation's test file
 * calls this with a factory of fresh, empty stores; every store created is closed afterwards.
 */
export function runStoreContract(factory: StoreFactory): void {
  const created: Store[] = [];
  const tracked: StoreFactory = {
    name: factory.name,
    async create(options?: ContractStoreOptions) {
      const store = await factory.create(options);
      created.push(store);
      return store;
    },
  };
  describe(`Store contract: ${factory.name}`, () => {
    after(async () => {
      await Promise.all(created.map((store) => store.close()));
    });
    applyContract(tracked);
    readContract(tracked);
    inputContract(tracked);
    watchContract(tracked);
    watchContract(listeningFactory(tracked), { title: 'watch, listened to', listening: true });
    concurrencyContract(tracked);
    describe('puts through putTo', () => {
      const byCallback = putToFactory(tracked);
      applyContract(byCallback);
      inputContract(byCallback);
      concurrencyContract(byCallback);
    });
  });
}
