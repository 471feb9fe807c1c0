import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, realpathSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isSbmpError } from '../../core/errors.js';
import { dataFileOf } from '../../store/lmdb-env.js';
import { checkDataFile } from '../../store/lmdb-file-check.js';
import { VERIFY_TIMEOUT_MS, verifyInChildProcess } from '../../store/lmdb-verify.js';
import { openStore, parseStoreSpec, type StoreSpec } from '../../store/open.js';
import {
  type CheckGroup,
  type CheckResult,
  type DoctorContext,
  fail,
  messageOf,
  pass,
  skip,
  skipWithoutSettings,
  systemCodeOf,
} from './check.js';
import { processesHolding } from './store-users.js';

const RESTORE_FIX = 'restore the store directory from a backup, or move it away and start with a new one';

/**
 * Is the store usable? For `lmdb`: the directory exists or can be created (`store-dir`), a file
 * can be created in it (`store-writable`), the data file is sound — header, then every record
 * and index entry in a child process (`store-data`) — and the store opens (`store-open`).
 * A store another process holds open (a running server) is not verified or opened here; that
 * is checked through `--url`. Whatever the checks create (directories, a new data file) is
 * removed again. Other stores: `memory` passes with a note, the rest must open.
 */
export const storeChecks: CheckGroup = {
  name: 'store',
  timeoutMs: VERIFY_TIMEOUT_MS + 30_000,
  async run(ctx) {
    if (ctx.settings === undefined) return [skipWithoutSettings('store')];
    let spec: StoreSpec;
    try {
      spec = parseStoreSpec(ctx.settings.store);
    } catch {
      return [skip('store', `not checked: '${ctx.settings.store}' is not a store (see the config check)`)];
    }
    switch (spec.kind) {
      case 'memory':
        return [
          pass('store', 'memory store: nothing on disk to check; its state is lost when the server stops'),
        ];
      case 'lmdb':
        return checkLmdb(spec.path, ctx);
      default:
        return [await checkOpens(ctx.settings.store)];
    }
  },
};

async function checkLmdb(path: string, ctx: DoctorContext): Promise<CheckResult[]> {
  const dir = resolve(path);
  const created: string[] = [];
  const createdFiles: string[] = [];
  try {
    const dirResult = prepareDirectory(dir, created);
    if (dirResult.status === 'fail') {
      const why = 'not checked: no usable store directory (see store-dir)';
      return [dirResult, skip('store-writable', why), skip('store-data', why), skip('store-open', why)];
    }
    const writable = checkWritable(dir);
    const results: CheckResult[] = [dirResult, writable];
    const file = dataFileOf(dir);
    const lockFile = join(dir, 'lock.mdb');
    // This process is left out: it opens nothing before the scan, and any descriptor it holds
    // was inherited from the process that started it (LMDB's are not closed on exec).
    const holders = existsSync(file)
      ? processesHolding([realpath(file), realpath(lockFile)])?.filter((pid) => pid !== process.pid)
      : [];
    const inUse = holders !== undefined && holders.length > 0 ? describeHolders(holders) : undefined;
    // The full verification opens the store read-write, so it needs what opening needs.
    const noFullVerify =
      inUse !== undefined
        ? `${inUse} the store open`
        : writable.status === 'fail'
          ? 'the directory is not writable'
          : undefined;
    const data = await checkData(dir, file, noFullVerify);
    results.push(data);
    if (data.status === 'fail') {
      results.push(skip('store-open', 'not opened: the data file is damaged (see store-data)'));
    } else if (inUse !== undefined) {
      const how =
        ctx.input.url === undefined
          ? 'pass --url to check it through that server'
          : 'checked through --url instead (see server-store)';
      results.push(skip('store-open', `not opened: ${inUse} it open (a running sbmp serve?); ${how}`));
    } else if (writable.status === 'fail') {
      results.push(skip('store-open', 'not opened: the directory is not writable (see store-writable)'));
    } else {
      for (const f of [file, lockFile]) if (!existsSync(f)) createdFiles.push(f);
      results.push(await checkOpen(dir, createdFiles.includes(file)));
    }
    return results;
  } finally {
    for (const f of createdFiles) removeQuietly(() => unlinkSync(f));
    for (const d of created.reverse()) removeQuietly(() => rmdirSync(d));
  }
}

/** The directory exists, or is created level by level (each created level recorded in `created`). */
function prepareDirectory(dir: string, created: string[]): CheckResult {
  try {
    if (statSync(dir).isDirectory()) return pass('store-dir', `${dir} exists`);
    return fail(
      'store-dir',
      `${dir} is not a directory`,
      'move that file away, or pass --store lmdb:<dir> naming a directory',
    );
  } catch (error) {
    // ENOTDIR: a parent is a file; creating the directory says which.
    const code = systemCodeOf(error);
    if (code !== 'ENOENT' && code !== 'ENOTDIR') {
      return fail(
        'store-dir',
        `${dir} cannot be used: ${messageOf(error)}`,
        'pass --store lmdb:<dir> naming a usable directory',
      );
    }
  }
  try {
    createLevels(dir, created);
  } catch (error) {
    return fail(
      'store-dir',
      `${dir} does not exist and cannot be created: ${messageOf(error)}`,
      'pass --store lmdb:<dir> with a path this user can create, e.g. lmdb:./sbmp-data',
    );
  }
  return pass('store-dir', `${dir} does not exist yet; it can be created (tried, then removed again)`);
}

/**
 * Creates `dir` and its missing parents one level at a time, at most one attempt per path
 * segment: a recursive mkdir can spin on paths that cannot be created (e.g. under /proc).
 */
function createLevels(dir: string, created: string[]): void {
  const missing: string[] = [];
  let current = dir;
  while (!existsSync(current)) {
    missing.push(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  if (existsSync(current) && !statSync(current).isDirectory()) {
    throw new Error(`${current} is a file, not a directory`);
  }
  for (const level of missing.reverse()) {
    // Without `recursive`: one attempt per level, one clear error (ENOTDIR, EACCES, ...).
    mkdirSync(level);
    created.push(level);
  }
}

function checkWritable(dir: string): CheckResult {
  const probe = join(dir, `.sbmp-doctor-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    writeFileSync(probe, 'sbmp doctor write test\n', { flag: 'wx' });
    unlinkSync(probe);
    return pass('store-writable', `a file can be created and removed in ${dir}`);
  } catch (error) {
    removeQuietly(() => unlinkSync(probe));
    return fail(
      'store-writable',
      `cannot create a file in ${dir}: ${messageOf(error)}`,
      'make the directory writable for the user running sbmp (chown/chmod, a read-write mount), or pass another --store',
    );
  }
}

/** The data file's header, then (unless `noFullVerify` says why not) every record in a child process. */
async function checkData(dir: string, file: string, noFullVerify: string | undefined): Promise<CheckResult> {
  try {
    if (checkDataFile(file) === 'absent') {
      return pass('store-data', `no data file yet: ${file} is created at the first start`);
    }
    if (noFullVerify !== undefined) {
      return pass('store-data', `${file}: LMDB header sound; not verified further: ${noFullVerify}`);
    }
    await verifyInChildProcess(dir, file);
    return pass(
      'store-data',
      `${file}: header sound; every record decodes at its own revision, and tombstones and counter agree`,
    );
  } catch (error) {
    return fail('store-data', messageOf(error), RESTORE_FIX);
  }
}

async function checkOpen(dir: string, isNew: boolean): Promise<CheckResult> {
  try {
    const store = await openStore(`lmdb:${dir}`);
    const revision = store.currentRevision();
    await store.close();
    return pass(
      'store-open',
      isNew
        ? 'a new store can be created and opened there (its files removed again)'
        : `opens; revision counter at ${revision}, consistent with every record`,
    );
  } catch (error) {
    const fix = isSbmpError(error, 'corrupt_store')
      ? RESTORE_FIX
      : 'check the directory and its permissions, or pass another --store';
    return fail('store-open', `cannot open the store in ${dir}: ${messageOf(error)}`, fix);
  }
}

/** Stores other than memory and lmdb (e.g. nats): they must open. */
async function checkOpens(spec: string): Promise<CheckResult> {
  try {
    const store = await openStore(spec);
    const revision = store.currentRevision();
    await store.close();
    return pass('store', `${spec} opens; revision ${revision}`);
  } catch (error) {
    return fail(
      'store',
      `cannot open store '${spec}': ${messageOf(error)}`,
      'pass --store lmdb:<dir> or --store memory',
    );
  }
}

function describeHolders(pids: readonly number[]): string {
  return pids.length === 1 ? `process ${pids[0]} has` : `processes ${pids.join(', ')} have`;
}

/** The path as `/proc/<pid>/fd` links show it (symlinks resolved); the path itself when that fails. */
function realpath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** Clean-up of what the checks created: a failure there must not hide the checks' findings. */
function removeQuietly(remove: () => void): void {
  try {
    remove();
  } catch {
    // Already gone, or not removable; the findings stand either way.
  }
}
