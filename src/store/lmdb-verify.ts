import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SbmpError } from '../core/errors.js';
import { isValidKey } from '../core/key.js';
import type { LmdbEnv } from './lmdb-env.js';
import { storedEntries } from './lmdb-env.js';
import { decodeRecord, decodeRecordState } from './lmdb-record.js';

/** Longest a full verification may take before opening gives up: 10 minutes. */
export const VERIFY_TIMEOUT_MS = 10 * 60 * 1000;

/**
 * Reads the whole store and checks that it holds together: every record decodes and matches
 * its checksum, every key is valid, no two records share a revision, the tombstone index lists
 * exactly the tombstones, and no revision is above the counter. Throws `corrupt_store` naming the file. Reading damaged LMDB pages can
 * crash the process, so `verifyInChildProcess` runs this in a separate one.
 */
export function verifyStore(env: LmdbEnv): { keys: number } {
  const { snapshots, tombstones, meta, file } = env;
  const fail = (why: string) =>
    new SbmpError('corrupt_store', `store data file ${file} ${why}; restore it from a backup`, {
      details: { file },
    });
  const counter = meta.get('revision') ?? 0;
  const keyAt = new Map<number, string>();
  let deleted = 0;
  for (const { key, value } of snapshots.getRange({})) {
    if (!isValidKey(key)) throw fail(`holds an invalid key ${JSON.stringify(String(key).slice(0, 80))}`);
    const record = decodeRecord(value, key, file);
    decodeRecordState(record, key, file);
    if (!(record.revision >= 1 && record.revision <= counter)) {
      throw fail(`has '${key}' at revision ${record.revision}, outside 1..${counter}`);
    }
    const other = keyAt.get(record.revision);
    if (other !== undefined)
      throw fail(`has two records at revision ${record.revision} ('${other}' and '${key}')`);
    keyAt.set(record.revision, key);
    if (record.deleted) {
      if (tombstones.get(record.revision) !== key) throw fail(`has no tombstone index entry for '${key}'`);
      deleted++;
    }
  }
  // A damaged branch page can end a scan early without an error; LMDB's own count tells.
  const stored = storedEntries(snapshots);
  if (keyAt.size !== stored) throw fail(`holds ${stored} records, but only ${keyAt.size} can be read`);
  const tombstoned = tombstones.getCount();
  if (tombstoned !== deleted)
    throw fail(`has ${tombstoned} tombstone index entries for ${deleted} tombstones`);
  return { keys: keyAt.size };
}

/**
 * Runs `verifyStore` on the store in `dir` in a child process, so damage that would crash the
 * native library kills the child, not this process. Resolves when the store is sound; else
 * rejects with `corrupt_store` (or the child's own error) naming `file`.
 */
export function verifyInChildProcess(dir: string, file: string): Promise<void> {
  const here = fileURLToPath(import.meta.url);
  const main = here.replace(/lmdb-verify\.(ts|js)$/, 'lmdb-verify-main.$1');
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [...loaderArgs(process.execArgv), main, dir],
      { timeout: VERIFY_TIMEOUT_MS, maxBuffer: 1024 * 1024 },
      (error, stdout) => {
        const line = stdout.trim().split('\n').at(-1) ?? '';
        let report: { ok?: boolean; code?: string; message?: string } | undefined;
        try {
          report = JSON.parse(line);
        } catch {
          report = undefined;
        }
        if (report?.ok === true) return resolve();
        if (report?.code !== undefined && report.message !== undefined) {
          const code = report.code === 'bad_config' ? 'bad_config' : 'corrupt_store';
          return reject(new SbmpError(code, report.message, { details: { file } }));
        }
        const how = error?.signal
          ? `crashed with ${error.signal}`
          : `failed (${error?.message ?? 'no report'})`;
        reject(
          new SbmpError(
            'corrupt_store',
            `store data file ${file} is damaged: verifying it ${how}; restore it from a backup`,
            {
              cause: error ?? undefined,
              details: { file },
            },
          ),
        );
      },
    );
  });
}

/** The options that make the child load modules the way this process does (e.g. a TypeScript loader). */
function loaderArgs(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  const withValue = new Set([
    '--import',
    '--loader',
    '--experimental-loader',
    '--require',
    '-r',
    '--conditions',
    '-C',
  ]);
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    const name = arg.split('=')[0]!;
    if (!withValue.has(name)) continue;
    kept.push(arg);
    if (!arg.includes('=') && i + 1 < execArgv.length) kept.push(execArgv[++i]!);
  }
  return kept;
}
