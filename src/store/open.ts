import { SbmpError } from '../core/errors.js';
import { MemoryStore } from './memory.js';
import type { RetentionPolicy, Store } from './types.js';

/** Where the embedded store keeps its data when the spec is just `lmdb`. */
export const DEFAULT_LMDB_PATH = './sbmp-data';

/** Settings of the embedded (lmdb) store that a server configuration may choose. */
export interface EmbeddedStoreOptions {
  /** Flush to disk before acknowledging, surviving power loss (slower). Default false. */
  readonly sync?: boolean;
  /** How many keys' record heads to keep in memory (default 1,000,000; 0: none). */
  readonly cachedHeads?: number;
}

/** The keys of `EmbeddedStoreOptions`, for configuration checks. */
export const EMBEDDED_STORE_OPTION_KEYS: readonly (keyof EmbeddedStoreOptions)[] = ['sync', 'cachedHeads'];

export interface OpenStoreOptions extends EmbeddedStoreOptions {
  /** `source` of snapshots put without one. Default `'sbmp'`. */
  readonly source?: string;
  /** Wall clock in ms. Default `Date.now`. */
  readonly clock?: () => number;
  /** Largest state in bytes. Default 1 MiB. */
  readonly maxStateBytes?: number;
  /** What `compact()` without a policy keeps. */
  readonly retention?: RetentionPolicy;
  /** lmdb only: `'header'` (default) or `'full'` verification of an existing data file. */
  readonly verify?: 'header' | 'full';
}

/** A parsed `--store` value. */
export type StoreSpec =
  | { readonly kind: 'memory' }
  | { readonly kind: 'lmdb'; readonly path: string }
  | { readonly kind: 'nats'; readonly url: string };

const ACCEPTED = `'memory', 'lmdb', 'lmdb:<path>' or 'nats://<host>:<port>'`;

/** Parses a store spec: `memory`, `lmdb` (at ./sbmp-data), `lmdb:<path>`, `nats://host:port`; else `bad_config`. */
export function parseStoreSpec(spec: string): StoreSpec {
  if (typeof spec !== 'string') throw new SbmpError('bad_config', `store must be ${ACCEPTED}`);
  const text = spec.trim();
  if (text === 'memory') return { kind: 'memory' };
  if (text === 'lmdb') return { kind: 'lmdb', path: DEFAULT_LMDB_PATH };
  if (text.startsWith('lmdb:')) {
    const path = text.slice('lmdb:'.length);
    if (path.length === 0)
      throw new SbmpError('bad_config', `store 'lmdb:' needs a path, e.g. 'lmdb:./sbmp-data'`);
    return { kind: 'lmdb', path };
  }
  if (/^nats:\/\/[^/\s]+$/.test(text)) return { kind: 'nats', url: text };
  throw new SbmpError('bad_config', `store '${spec}' is not one of ${ACCEPTED}`, {
    details: { store: spec },
  });
}

/**
 * Opens the store a spec names. Failures are `bad_config` (bad spec or options) or
 * `corrupt_store` (an unreadable data file), with a message naming the cause.
 */
export async function openStore(spec: string, options: OpenStoreOptions = {}): Promise<Store> {
  const parsed = parseStoreSpec(spec);
  switch (parsed.kind) {
    case 'memory':
      return new MemoryStore(options);
    case 'lmdb': {
      const { openLmdbStore } = await import('./lmdb.js');
      return openLmdbStore({ ...options, path: parsed.path });
    }
    case 'nats':
      throw new SbmpError('bad_config', `store '${spec}': the nats store is not available yet`, {
        details: { store: spec },
      });
  }
}
