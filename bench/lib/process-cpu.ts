import { readFile } from 'node:fs/promises';

/**
 * Linux's clock tick for /proc times: USER_HZ, which the kernel fixes at 100 for user space on
 * x86 and Arm whatever its internal HZ.
 */
const MS_PER_TICK = 10;

/**
 * CPU time (user + system, every thread) another process has used so far, in ms, from
 * /proc/<pid>/stat; undefined where that cannot be read (not Linux, or the process is gone).
 * Its resolution is a clock tick, 10 ms: read it around a run of seconds, not of a message.
 */
export async function processCpuMs(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces, hence the last ')'): utime and
    // stime are the 14th and 15th fields of the line, the 12th and 13th after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks * MS_PER_TICK : undefined;
  } catch {
    return undefined;
  }
}
