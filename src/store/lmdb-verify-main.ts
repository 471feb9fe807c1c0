// Entry point of the child process that `verifyInChildProcess` starts: verifies the store in
// the directory given as the only argument and prints one JSON line with the verdict.
import { isSbmpError } from '../core/errors.js';
import { closeLmdbEnv, dataFileOf, openLmdbEnv } from './lmdb-env.js';
import { verifyStore } from './lmdb-verify.js';

const dir = process.argv[2] ?? '';
let report: Record<string, unknown>;
try {
  const env = openLmdbEnv(dir, false);
  try {
    report = { ok: true, ...verifyStore(env) };
  } finally {
    await closeLmdbEnv(env);
  }
} catch (err) {
  report = isSbmpError(err)
    ? { ok: false, code: err.code, message: err.message }
    : {
        ok: false,
        code: 'corrupt_store',
        message: `store data file ${dataFileOf(dir)} is damaged (${String(err)}); restore it from a backup`,
      };
}
process.stdout.write(`${JSON.stringify(report)}\n`);
