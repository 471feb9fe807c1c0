import { SbmpError } from '../core/errors.js';
import type { PoolStats, PoolStatsSource } from './stats.js';
import { poolMisuse } from './validate.js';

/** Longest accepted pool name; names become metric labels, so they stay short. */
export const MAX_POOL_NAME_LENGTH = 128;

const SEGMENT = /^[a-z0-9_-]+$/;
const MAJOR = /^v(0|[1-9][0-9]*)$/;
const FORMAT = 'sbmp.<domain>.<resource>.v<MAJOR>, e.g. sbmp.codec.frame.v1';

/** The parts of a valid pool name. */
export interface PoolName {
  readonly domain: string;
  readonly resource: string;
  /** Bumped only when the pooled structure or its reuse semantics change. */
  readonly major: number;
}

/** What a pool is, declared once before any pool of that name may be constructed. */
export interface PoolDescriptor {
  /** `sbmp.<domain>.<resource>.v<MAJOR>`: lowercase segments of [a-z0-9_-], MAJOR an integer. */
  readonly name: string;
  /** What the pool holds and who uses it; shown next to its stats. */
  readonly description?: string;
}

/** The part of a pool name that is wrong, in `details.part` of the `bad_config` error. */
export type PoolNamePart = 'type' | 'length' | 'parts' | 'prefix' | 'domain' | 'resource' | 'major';

function badName(name: unknown, part: PoolNamePart, problem: string): SbmpError {
  return new SbmpError(
    'bad_config',
    `pool name ${JSON.stringify(name)} is invalid: ${problem} (expected ${FORMAT})`,
    {
      details: { name: typeof name === 'string' ? name : String(name), part, problem },
    },
  );
}

/** Parses a pool name, throwing `bad_config` that says which part is wrong. */
export function parsePoolName(name: unknown): PoolName {
  if (typeof name !== 'string') throw badName(name, 'type', 'not a string');
  if (name.length > MAX_POOL_NAME_LENGTH)
    throw badName(name, 'length', `longer than ${MAX_POOL_NAME_LENGTH} characters`);
  const parts = name.split('.');
  if (parts.length !== 4) throw badName(name, 'parts', `has ${parts.length} dot-separated parts, not 4`);
  const [prefix, domain, resource, version] = parts as [string, string, string, string];
  if (prefix !== 'sbmp') throw badName(name, 'prefix', `must start with "sbmp.", not "${prefix}."`);
  if (!SEGMENT.test(domain)) throw badName(name, 'domain', `<domain> "${domain}" must match [a-z0-9_-]+`);
  if (!SEGMENT.test(resource))
    throw badName(name, 'resource', `<resource> "${resource}" must match [a-z0-9_-]+`);
  const major = MAJOR.exec(version);
  if (major === null)
    throw badName(name, 'major', `version "${version}" must be "v" and an integer without leading zeros`);
  return { domain, resource, major: Number(major[1]) };
}

export function isValidPoolName(name: unknown): boolean {
  try {
    parsePoolName(name);
    return true;
  } catch {
    return false;
  }
}

interface Entry {
  readonly descriptor: PoolDescriptor;
  /** The live pool of this name, held weakly so a forgotten pool can still be collected. */
  pool: WeakRef<PoolStatsSource> | undefined;
}

/**
 * The set of pool names a process (or one server) allows, and the live pool behind each.
 *
 * Each server owns its own registry, so two servers in one process, or two tests, never share
 * a setting; `defaultRegistry` exists for scripts and small programs. A name must be
 * registered before a pool of that name is constructed (otherwise `pool_unregistered`), at most
 * one open pool is bound to a name at a time, and the registry holds pools weakly: a pool
 * nobody references is collected and its name can be bound again.
 */
export class PoolRegistry {
  readonly #entries = new Map<string, Entry>();

  /**
   * Declares a pool name. Throws `bad_config` for a malformed name (`details.part` says which
   * part) and for a name already registered here (`details.part`: 'duplicate').
   */
  registerPool(descriptor: PoolDescriptor): PoolDescriptor {
    parsePoolName(descriptor?.name);
    if (this.#entries.has(descriptor.name)) {
      throw new SbmpError('bad_config', `pool ${descriptor.name} is already registered`, {
        details: { name: descriptor.name, part: 'duplicate' },
      });
    }
    const frozen: PoolDescriptor = Object.freeze(
      descriptor.description === undefined
        ? { name: descriptor.name }
        : { name: descriptor.name, description: descriptor.description },
    );
    this.#entries.set(descriptor.name, { descriptor: frozen, pool: undefined });
    return frozen;
  }

  isRegistered(name: string): boolean {
    return this.#entries.has(name);
  }

  /** Registered descriptors, sorted by name. */
  listPools(): PoolDescriptor[] {
    return [...this.#entries.values()].map((e) => e.descriptor).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /**
   * Stats of the pool bound to `name`, or undefined when the name is registered but no pool is
   * open under it. Throws `pool_unregistered` for an unknown name.
   */
  statsOf(name: string): PoolStats | undefined {
    return this.#entry(name).pool?.deref()?.stats();
  }

  /** A snapshot of every open pool's stats as plain objects, sorted by name (for metrics). */
  poolStats(): PoolStats[] {
    const out: PoolStats[] = [];
    for (const name of [...this.#entries.keys()].sort()) {
      const stats = this.#entries.get(name)?.pool?.deref()?.stats();
      if (stats !== undefined) out.push({ ...stats });
    }
    return out;
  }

  /**
   * Binds a newly constructed pool to its registered name; pools call this from their
   * constructor. Throws `bad_config` for a malformed name, `pool_unregistered` for a name not
   * registered here, and `pool_misuse` (reason 'already_bound') when another open pool holds it.
   * Returns the function that unbinds (called by the pool's `close()`).
   */
  bind(name: string, pool: PoolStatsSource): () => void {
    parsePoolName(name);
    const entry = this.#entry(name);
    if (entry.pool?.deref() !== undefined) {
      throw poolMisuse(name, 'already_bound', 'another open pool already uses this name; close() it first');
    }
    const ref = new WeakRef(pool);
    entry.pool = ref;
    return () => {
      if (entry.pool === ref) entry.pool = undefined;
    };
  }

  #entry(name: string): Entry {
    const entry = this.#entries.get(name);
    if (entry === undefined) {
      throw new SbmpError(
        'pool_unregistered',
        `pool ${name} is not registered; call registerPool({ name: '${name}' }) at start-up before constructing it`,
        { details: { name } },
      );
    }
    return entry;
  }
}

/** The registry pools use when no `registry` option is given. Servers should own their own. */
export const defaultRegistry = new PoolRegistry();

/** `defaultRegistry.registerPool` */
export function registerPool(descriptor: PoolDescriptor): PoolDescriptor {
  return defaultRegistry.registerPool(descriptor);
}

/** `defaultRegistry.isRegistered` */
export function isRegistered(name: string): boolean {
  return defaultRegistry.isRegistered(name);
}

/** `defaultRegistry.listPools` */
export function listPools(): PoolDescriptor[] {
  return defaultRegistry.listPools();
}

/** `registry.poolStats()`, for `defaultRegistry` unless another is given. */
export function poolStats(registry: PoolRegistry = defaultRegistry): PoolStats[] {
  return registry.poolStats();
}
