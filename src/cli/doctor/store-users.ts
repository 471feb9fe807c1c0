import { readdirSync, readlinkSync } from 'node:fs';

/** Processes looked at, at most: 100,000 (a machine's process table is far smaller). */
export const MAX_PROCESSES_SCANNED = 100_000;
/** Open files looked at per process, at most: 100,000. */
export const MAX_FILES_PER_PROCESS = 100_000;

/**
 * The ids of processes holding any of `files` open, found through `/proc/<pid>/fd` (Linux).
 * LMDB keeps its data and lock files open for as long as a store is open, so a running server
 * on a store directory shows up here. Undefined where `/proc` cannot be read (not Linux), so
 * the caller can say that nobody could be found rather than that nobody uses it. Processes
 * whose files this user may not read are passed over.
 */
export function processesHolding(files: readonly string[]): number[] | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const wanted = new Set(files);
  const holders: number[] = [];
  const pids = entries.filter((name) => /^[0-9]+$/.test(name)).slice(0, MAX_PROCESSES_SCANNED);
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      // Gone meanwhile, or not ours to look at.
      continue;
    }
    for (const fd of fds.slice(0, MAX_FILES_PER_PROCESS)) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (wanted.has(target)) {
        holders.push(Number(pid));
        break;
      }
    }
  }
  return holders;
}
