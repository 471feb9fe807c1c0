import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Database, RootDatabase } from 'lmdb';
import { open } from 'lmdb';
import { SbmpError } from '../core/errors.js';
import { checkDataFile } from './lmdb-file-check.js';

/**
 * The layout version this code reads and writes, kept in `meta` under `format`. Format 1 also
 * kept the revision index on disk (a `revisions` database); opening such a file drops it.
 */
export const STORE_FORMAT = 2;

/**
 * The LMDB environment of a store: one file (`<dir>/data.mdb`) with three named databases.
 *
 * | database     | key            | value                                   |
 * |--------------|----------------|-----------------------------------------|
 * | `snapshots`  | snapshot key   | record (see lmdb-record.ts)             |
 * | `tombstones` | revision       | key, for each retained tombstone        |
 * | `meta`       | name           | `format`, `revision`, `compacted`, `epoch` |
 *
 * Each record carries its revision; the index of keys by revision lives in memory, rebuilt
 * from the records at open (lmdb-revision-index.ts), so a put writes its record and nothing else.
 */
export interface LmdbEnv {
  readonly root: RootDatabase;
  readonly snapshots: Database<Buffer, string>;
  readonly tombstones: Database<string, number>;
  readonly meta: Database<number, string>;
  /** The data file, named in every error about it. */
  readonly file: string;
  /** The store's directory, absolute. */
  readonly path: string;
  /** The store's epoch (see `Store.epoch`), from `meta`. */
  readonly epoch: string;
}

/** Closes the environment once its writes are flushed; the directory may then be opened again. */
export async function closeLmdbEnv(env: LmdbEnv): Promise<void> {
  try {
    await env.root.flushed;
    await env.root.close();
  } finally {
    openPaths.delete(env.path);
  }
}

/** `revisions` is format 1's on-disk revision index. */
const OUR_DATABASES = new Set(['snapshots', 'tombstones', 'meta', 'revisions']);

/**
 * Directories open in this process. Two store objects on one directory would each hand out
 * revisions and feed their own watches, so a second open is refused instead.
 */
const openPaths = new Set<string>();

/**
 * Opens (creating when absent) the environment in directory `dir`. Checks the data file
 * before LMDB maps it and the format marker after; anything wrong is `corrupt_store` naming
 * the file, an unusable path is `bad_config`.
 *
 * `sync: false` (default) acknowledges a write once LMDB has committed it to the OS: the
 * commit's pages are written to the file through the page cache (LMDB's `noSync`), with no
 * flush to disk. A killed process loses nothing: the kernel holds the pages and LMDB opens the
 * last committed transaction. Power loss may roll back to an earlier transaction (consistent,
 * but recent acknowledged writes lost). `sync: true` flushes each commit to disk before it
 * resolves. Measured here with lmdb-js directly, 200-byte values: `noSync` 16,500 commits/s one
 * at a time and 309,000 puts/s with 256 in flight; flushing (`noSync: false`) 1,070/s and
 * 172,000/s; lmdb-js's `overlappingSync` 1,030/s and 86,000/s, so it is not used.
 */
export function openLmdbEnv(dir: string, sync: boolean): LmdbEnv {
  const path = resolve(dir);
  const file = dataFileOf(dir);
  checkDirectory(path);
  if (openPaths.has(path)) {
    throw new SbmpError('bad_config', `store ${path} is already open in this process; share that store`, {
      details: { path },
    });
  }
  const existed = checkDataFile(file) === 'ok';
  let root: RootDatabase;
  try {
    root = open({ path, noSubdir: false, maxDbs: 8, overlappingSync: false, noSync: !sync });
  } catch (err) {
    throw openFailure(file, err);
  }
  try {
    const names = existed ? [...root.getKeys({ snapshot: false })].map(String) : [];
    const foreign = names.filter((name) => !OUR_DATABASES.has(name));
    if (foreign.length > 0) {
      throw corrupt(file, `is an LMDB file of something else (it holds ${foreign.slice(0, 3).join(', ')})`);
    }
    const dbs = {
      root,
      snapshots: root.openDB<Buffer, string>({ name: 'snapshots', encoding: 'binary' }),
      tombstones: root.openDB<string, number>({ name: 'tombstones', encoding: 'string' }),
      meta: root.openDB<number, string>({ name: 'meta', encoding: 'msgpack' }),
      file,
      path,
    };
    checkFormat(dbs, names.length > 0);
    const env: LmdbEnv = { ...dbs, epoch: ensureEpoch(dbs) };
    openPaths.add(path);
    return env;
  } catch (err) {
    root.close().catch(() => {});
    throw err instanceof SbmpError ? err : openFailure(file, err);
  }
}

/**
 * The epoch in `meta`; a new file gets one, and so does a file written before epochs were
 * kept. It lives in the file, so a copy of the file (a backup) carries it too.
 */
function ensureEpoch(env: Omit<LmdbEnv, 'epoch'>): string {
  // `meta` holds counters; the epoch is its one string value.
  const meta = env.meta as unknown as Database<unknown, string>;
  const stored = meta.get('epoch');
  if (typeof stored === 'string' && stored !== '') return stored;
  if (stored !== undefined) throw corrupt(env.file, `has a damaged epoch record (${String(stored)})`);
  const epoch = randomUUID();
  meta.putSync('epoch', epoch);
  return epoch;
}

/** A brand-new file gets the marker; an existing one must carry ours. */
function checkFormat(env: Omit<LmdbEnv, 'epoch'>, hadDatabases: boolean): void {
  const format = env.meta.get('format');
  if (format === undefined) {
    if (hadDatabases && storedEntries(env.snapshots) > 0) {
      throw corrupt(env.file, 'holds snapshots but no format marker');
    }
    env.root.transactionSync(() => {
      env.meta.putSync('format', STORE_FORMAT);
      if (env.meta.get('revision') === undefined) env.meta.putSync('revision', 0);
      if (env.meta.get('compacted') === undefined) env.meta.putSync('compacted', 0);
    });
    return;
  }
  if (format !== STORE_FORMAT && format !== 1) {
    throw corrupt(env.file, `has store format ${String(format)}; this version reads format ${STORE_FORMAT}`);
  }
  const revision = env.meta.get('revision');
  const compacted = env.meta.get('compacted');
  if (!isCount(revision) || !isCount(compacted) || compacted > revision) {
    throw corrupt(env.file, `has a damaged meta record (revision ${revision}, compacted ${compacted})`);
  }
  if (format === 1) upgradeFromFormat1(env);
}

/** Format 1 differs only by its on-disk revision index, which is dropped in one transaction. */
function upgradeFromFormat1(env: Omit<LmdbEnv, 'epoch'>): void {
  const revisions = env.root.openDB<string, number>({ name: 'revisions', encoding: 'string' });
  env.root.transactionSync(() => {
    revisions.dropSync();
    env.meta.putSync('format', STORE_FORMAT);
  });
}

/** How many entries LMDB counts in `db`: from its root record, without reading the entries. */
export function storedEntries(db: { getStats(): unknown }): number {
  return (db.getStats() as { entryCount: number }).entryCount;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function checkDirectory(path: string): void {
  try {
    if (!statSync(path).isDirectory()) {
      throw new SbmpError('bad_config', `store path ${path} is not a directory`, { details: { path } });
    }
  } catch (err) {
    if (err instanceof SbmpError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new SbmpError('bad_config', `store path ${path} cannot be used: ${(err as Error).message}`, {
        cause: err,
        details: { path },
      });
    }
    createDirectory(path);
  }
}

/**
 * Creates the store directory and any missing parents. Neither LMDB's open nor Node's
 * `mkdirSync(path, { recursive: true })` is used: both spin without returning on a path that
 * cannot be created although its parent exists (for example under /proc). Each level is tried
 * once, so this ends after at most one attempt per path segment.
 */
function createDirectory(path: string): void {
  try {
    mkdirSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    const parent = dirname(path);
    if (code === 'ENOENT' && parent !== path && !existsSync(parent)) {
      createDirectory(parent);
      createDirectory(path);
      return;
    }
    throw new SbmpError(
      'bad_config',
      `store directory ${path} cannot be created (${(err as Error).message}); pass a writable path, e.g. --store lmdb:./sbmp-data`,
      { cause: err, details: { path } },
    );
  }
}

function openFailure(file: string, err: unknown): SbmpError {
  const message = err instanceof Error ? err.message : String(err);
  if (/EACCES|EPERM|EROFS|permission|read-only/i.test(message)) {
    return new SbmpError('bad_config', `store data file ${file} cannot be opened for writing: ${message}`, {
      cause: err,
      details: { file },
    });
  }
  return corrupt(file, `cannot be opened by LMDB (${message})`, err);
}

const LMDB_DAMAGE = /MDB_CORRUPTED|MDB_PAGE_NOTFOUND|MDB_INVALID|MDB_BAD_|Invalid key size|Invalid page/;

/**
 * The error to report for a failed LMDB operation on `file`: errors LMDB raises for damaged
 * pages become `corrupt_store` naming the file; an `SbmpError` passes through; anything else
 * is `internal`.
 */
export function storeError(file: string, err: unknown): SbmpError {
  if (err instanceof SbmpError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (LMDB_DAMAGE.test(message)) return corrupt(file, `is damaged (${message})`, err);
  return new SbmpError('internal', `store data file ${file}: ${message}`, { cause: err, details: { file } });
}

/** The data file of the store in directory `dir`. */
export function dataFileOf(dir: string): string {
  return join(resolve(dir), 'data.mdb');
}

/** `corrupt_store` for the data file `file`, saying `why` and how to recover. */
export function corrupt(file: string, why: string, cause?: unknown): SbmpError {
  return new SbmpError(
    'corrupt_store',
    `store data file ${file} ${why}; restore it from a backup or move it away`,
    {
      cause,
      details: { file },
    },
  );
}
