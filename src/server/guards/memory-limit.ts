import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { parseByteSize } from './byte-size.js';
import { checkInteger } from './options.js';

/** Where the process memory limit came from, reported in health figures and `sbmp doctor`. */
export type MemoryLimitSource = 'explicit' | 'cgroup-v2' | 'cgroup-v1' | 'v8-heap';

export interface MemoryLimit {
  readonly bytes: number;
  readonly source: MemoryLimitSource;
}

export interface MemoryLimitOptions {
  /**
   * The limit set by the operator (`--memory-limit`): bytes, or a size text such as `'512MB'`
   * or `'1GiB'` (see `parseByteSize`). Wins over the cgroup and V8 limits. Default: none.
   */
  readonly limitBytes?: number | string;
  /** Mount point of the cgroup file system. Default `/sys/fs/cgroup`. */
  readonly cgroupRoot?: string;
}

export const DEFAULT_CGROUP_ROOT = '/sys/fs/cgroup';

/**
 * Smallest memory limit a server runs with: 32 MiB (33,554,432 bytes). Node alone takes most of
 * that; below it the watermark would refuse everything from the first second.
 */
export const MIN_MEMORY_LIMIT_BYTES = 32 * 1024 * 1024;

/**
 * Cgroup "limits" at or above this (1 PiB) mean "no limit": cgroup v1 reports an unlimited
 * group as 2^63-4096, and no machine this runs on has a petabyte of memory.
 */
export const MAX_PLAUSIBLE_LIMIT_BYTES = 2 ** 50;

/**
 * The memory the process may use, in order of precedence:
 * 1. `limitBytes` when given;
 * 2. the cgroup limit: v2 `<root>/memory.max`, else v1 `<root>/memory/memory.limit_in_bytes`
 *    (`max`, unreadable files and implausible values count as no limit);
 * 3. V8's heap limit (`heap_size_limit`), which always exists.
 * Reads two tiny files synchronously; meant for start-up.
 */
export function resolveMemoryLimit(options: MemoryLimitOptions = {}): MemoryLimit {
  if (options.limitBytes !== undefined) {
    const bytes =
      typeof options.limitBytes === 'string'
        ? parseByteSize(options.limitBytes, 'options.limitBytes')
        : checkInteger(options.limitBytes, 'limitBytes', 1);
    return { bytes, source: 'explicit' };
  }
  const cgroup = readCgroupLimit(options.cgroupRoot ?? DEFAULT_CGROUP_ROOT);
  if (cgroup !== undefined) return cgroup;
  return { bytes: getHeapStatistics().heap_size_limit, source: 'v8-heap' };
}

/** The cgroup memory limit under `root` (v2 first, then v1), or undefined when there is none. */
export function readCgroupLimit(root: string): MemoryLimit | undefined {
  const v2 = parseCgroupValue(readSmallFile(join(root, 'memory.max')));
  if (v2 !== undefined) return { bytes: v2, source: 'cgroup-v2' };
  const v1 = parseCgroupValue(readSmallFile(join(root, 'memory', 'memory.limit_in_bytes')));
  if (v1 !== undefined) return { bytes: v1, source: 'cgroup-v1' };
  return undefined;
}

/** A plausible limit in bytes from a cgroup file's text; undefined for `max`, garbage or absurd values. */
export function parseCgroupValue(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (!/^[0-9]+$/.test(trimmed)) return undefined;
  const bytes = Number(trimmed);
  return Number.isSafeInteger(bytes) && bytes >= 1 && bytes < MAX_PLAUSIBLE_LIMIT_BYTES ? bytes : undefined;
}

function readSmallFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    // Absent (no cgroup of that version) or unreadable: either way no limit can be read here.
    return undefined;
  }
}
