import { BufferPool } from '../pool/buffer-pool.js';
import { PoolRegistry } from '../pool/registry.js';

/**
 * The pools the server itself uses, by name. Declared once here: the server registers them
 * at start-up and `sbmp doctor` checks the same list.
 */
export const SERVER_POOLS = [
  {
    name: 'sbmp.http.body.v1',
    description: 'request bodies of HTTP PUT, borrowed while the state is parsed',
  },
] as const;

/** The server's pools, registered in the server's registry (its own unless it was given one). */
export interface ServerPools {
  readonly registry: PoolRegistry;
  /** Whole request bodies, joined from their chunks; released once the JSON is parsed. */
  readonly httpBody: BufferPool;
  close(): void;
}

/**
 * Registers every pool of `SERVER_POOLS` in `registry` and opens them. A registry that
 * already holds one of the names is refused (`bad_config`, part 'duplicate'): two servers
 * in one process each need a registry of their own.
 */
export function createServerPools(registry: PoolRegistry = new PoolRegistry()): ServerPools {
  for (const descriptor of SERVER_POOLS) registry.registerPool(descriptor);
  const httpBody = new BufferPool({ name: 'sbmp.http.body.v1', registry });
  return {
    registry,
    httpBody,
    close: () => httpBody.close(),
  };
}
