import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { SbmpError } from '../core/errors.js';

/**
 * Checks an LMDB data file's two meta pages before the native library maps it.
 * LMDB trusts its file: a truncated file makes it read pages past the end of the mapping,
 * which kills the process with SIGBUS/SIGSEGV instead of raising an error. So before opening
 * we check what LMDB would trust:
 *
 *   page 0 and page 1 (each one page, size from meta 0):
 *   [page header][magic 0xBEEFC0DE][format][address][mapsize][free db: psize .. root][main db .. root][last page][txn id]
 *
 * both metas carry the magic and a known format, the page size is a power of two from 512 to
 * 64 KiB, every root page and the last page lie inside the file. Header layouts: format 2 (the
 * lmdb package's default build) has a 24-byte page header, format 1 a 16-byte one.
 * Damage deeper in the file is caught by record checksums when read, or by a full verification.
 */
export function checkDataFile(file: string): 'absent' | 'ok' {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw corrupt(file, `cannot be read (${(err as Error).message})`, err);
  }
  if (size === 0) throw corrupt(file, 'is empty (0 bytes)');
  const head = readHead(file, Math.min(size, 2 * MAX_PAGE_SIZE));
  const first = readMeta(head, 0, file);
  if (
    first.pageSize < MIN_PAGE_SIZE ||
    first.pageSize > MAX_PAGE_SIZE ||
    (first.pageSize & (first.pageSize - 1)) !== 0
  ) {
    throw corrupt(file, `has an impossible page size ${first.pageSize}`);
  }
  if (size < 2 * first.pageSize) {
    throw corrupt(file, `is truncated: ${size} bytes is less than two ${first.pageSize}-byte meta pages`);
  }
  const second = readMeta(head, first.pageSize, file);
  // Only whole pages count: LMDB reading a partial last page would fault past the end of the file.
  const pages = Math.floor(size / first.pageSize);
  for (const meta of [first, second]) {
    if (meta.lastPage >= pages) {
      throw corrupt(
        file,
        `is truncated: its meta page refers to page ${meta.lastPage}, but it has ${pages} pages`,
      );
    }
    for (const root of meta.roots) {
      if (root !== NO_PAGE && root > meta.lastPage) {
        throw corrupt(file, `has a root page ${root} beyond its last page ${meta.lastPage}`);
      }
    }
  }
  return 'ok';
}

const MAGIC = 0xbeefc0de;
const MIN_PAGE_SIZE = 512;
const MAX_PAGE_SIZE = 65536;
/** LMDB's P_INVALID: an empty tree has no root page. */
const NO_PAGE = 0xffffffffffffffffn;
/** Offsets from the magic number of the meta fields we check. */
const PAGE_SIZE_AT = 24;
const FREE_ROOT_AT = 64;
const MAIN_ROOT_AT = 112;
const LAST_PAGE_AT = 120;
const META_BYTES = 136;

interface Meta {
  readonly pageSize: number;
  readonly lastPage: number;
  readonly roots: readonly bigint[];
}

function readMeta(head: Buffer, pageStart: number, file: string): Meta {
  const which = pageStart === 0 ? 'first' : 'second';
  let at = -1;
  // Format 2 pages have a 24-byte header (with a txn id); format 1 a 16-byte one.
  for (const [offset, format] of [
    [24, 2],
    [16, 1],
  ] as const) {
    const end = pageStart + offset + META_BYTES;
    if (end <= head.length && head.readUInt32LE(pageStart + offset) === MAGIC) {
      if (head.readUInt32LE(pageStart + offset + 4) !== format) {
        throw corrupt(
          file,
          `has an unknown format ${head.readUInt32LE(pageStart + offset + 4)} in its ${which} meta page`,
        );
      }
      at = pageStart + offset;
      break;
    }
  }
  if (at < 0) {
    throw corrupt(file, `is not an LMDB data file (no LMDB magic number in its ${which} meta page)`);
  }
  const lastPage = head.readBigUInt64LE(at + LAST_PAGE_AT);
  return {
    pageSize: head.readUInt32LE(at + PAGE_SIZE_AT),
    lastPage: lastPage > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(lastPage),
    roots: [head.readBigUInt64LE(at + FREE_ROOT_AT), head.readBigUInt64LE(at + MAIN_ROOT_AT)],
  };
}

function readHead(file: string, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  const fd = openSync(file, 'r');
  try {
    let read = 0;
    while (read < length) {
      const n = readSync(fd, buffer, read, length - read, read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

function corrupt(file: string, why: string, cause?: unknown): SbmpError {
  return new SbmpError(
    'corrupt_store',
    `store data file ${file} ${why}; restore it from a backup or move it away`,
    {
      cause,
      details: { file },
    },
  );
}
