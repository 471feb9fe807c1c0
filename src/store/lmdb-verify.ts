import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SbmpError } from '../core/errors.js';
import { isValidKey } from '../core/key.js';
import type { LmdbEnv } from './lmdb-env.js';
import { corrupt } from './lmdb-env.js';
import { decodeRecord, decodeRecordState } from './lmdb-record.js';
import { loadRevisionLog } from './lmdb-revision-index.js';

/** Longest a full verification may take before opening gives up: 10 minutes. */
export const VERIFY_TIMEOUT_MS = 10 * 60 * 1000;

/**
 * Reads the whole store and checks that it holds together: every record decodes and matches
 * its checksum, every state decodes, every key is valid, the tombstone index lists exactly the
 * tombstones, and the revisions pass the checks of every open (`loadRevisionLog`: within the
 * counter, one record per revision, every record readable). Throws `corrupt_store` naming the
 * file. Reading damaged LMDB pages can crash the process, so `verifyInChildProcess` runs this
 * in a separate one.
 */
export function verifyStore(env: LmdbEnv): { keys: number } {
  const { snapshots, tombstones, meta, file } = env;
  let deleted = 0;
  for (const { key, value } of snapshots.getRange({})) {
    if (!isValidKey(key))
      throw corrupt(file, `holds an invalid key ${JSON.stringify(String(key).slice(0, 80))}`);
    const record = decodeRecord(value, key, file);
    decodeRecordState(record, key, file);
    if (record.deleted) {
      if (tombstones.get(record.revision) !== key) {
        throw corrupt(file, `has no tombstone index entry for '${key}'`);
      }
      deleted++;
    }
  }
  const tombstoned = tombstones.getCount();
  if (tombstoned !== deleted) {
    throw corrupt(file, `has ${tombstoned} tombstone index entries for ${deleted} tombstones`);
  }
  return { keys: loadRevisionLog(env, meta.get('revision') ?? 0).size };
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
