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
  const { tracked, closeAll } = tracking(factory);
  describe(`Store contract: ${factory.name}`, () => {
    after(closeAll);
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

/** The apply rules and their concurrency alone, for a variant of a store already run through the whole contract. */
export function runApplyContract(factory: StoreFactory): void {
  const { tracked, closeAll } = tracking(factory);
  describe(`Store apply rules: ${factory.name}`, () => {
    after(closeAll);
    applyContract(tracked);
    concurrencyContract(tracked);
  });
}

/** `factory`, with every store it creates closed by `closeAll`. */
function tracking(factory: StoreFactory): { tracked: StoreFactory; closeAll: () => Promise<void> } {
  const created: Store[] = [];
  const tracked: StoreFactory = {
    name: factory.name,
    async create(options?: ContractStoreOptions) {
      const store = await factory.create(options);
      created.push(store);
      return store;
    },
  };
  const closeAll = async () => {
    await Promise.all(created.map((store) => store.close()));
  };
  return { tracked, closeAll };
}
