import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, open as openFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { open as openLmdb } from 'lmdb';
import type { StoredSnapshot } from '../../src/index.js';
import { openLmdbStore } from '../../src/store/lmdb.js';
import { collect, listAll, seededRandom, snapshotsOf, within } from './helpers.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KILLS = 20;

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sbmp-crash-'));
  dirs.push(dir);
  return dir;
}

interface Ack {
  readonly key: string;
  readonly version: number;
  readonly revision: number;
  readonly result: string;
}

const children = new Set<ChildProcess>();
after(() => {
  for (const child of children) child.kill('SIGKILL');
});

/**
 * A writer child process. It starts loading at once; `killAfter` lets it open the store and
 * write, waits until it has acknowledged `minAcks` puts and a random few ms more, SIGKILLs it
 * and returns the acknowledgements it printed (complete lines only).
 */
function startWriter(dir: string, seed: number) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(FIXTURES, 'store-crash-writer.ts'), dir, String(seed)],
    {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  children.add(child);
  let out = '';
  let err = '';
  let lines = 0;
  let wanted = Number.POSITIVE_INFINITY;
  let reached: (() => void) | undefined;
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  child.stdout.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    out += text;
    for (const c of text) if (c === '\n') lines++;
    if (lines >= wanted) reached?.();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  const early = exited.then(({ code, signal }) => {
    throw new Error(`writer exited early (${code ?? signal}): ${err}`);
  });
  early.catch(() => {});
  return {
    async killAfter(minAcks: number, extraMs: number): Promise<Ack[]> {
      try {
        // Two lines precede the acknowledgements: `loaded` and `ready`.
        await within(
          Promise.race([
            new Promise<void>((resolve) => {
              wanted = minAcks + 2;
              reached = resolve;
              if (lines >= wanted) resolve();
              child.stdin.write('go\n');
            }),
            early,
          ]),
          20_000,
          `${minAcks} acknowledgements`,
        );
        if (extraMs > 0) await new Promise((resolve) => setTimeout(resolve, extraMs));
      } finally {
        child.kill('SIGKILL');
      }
      const { signal } = await within(exited, 10_000, 'writer exit');
      assert.equal(signal, 'SIGKILL', `writer died on its own: ${err}`);
      // Output written before death is still in the pipe; wait for its end.
      await within(
        new Promise<void>((resolve) =>
          child.stdout.readableEnded ? resolve() : child.stdout.on('end', resolve),
        ),
        10_000,
        'writer output end',
      );
      assert.equal(err, '', 'writer wrote to stderr');
      const complete = out.slice(0, out.lastIndexOf('\n') + 1).split('\n');
      assert.deepEqual(complete.slice(0, 2), ['loaded', 'ready']);
      return complete
        .slice(2)
        .filter((line) => line !== '')
        .map((line) => {
          const [key, version, revision, result] = line.split(' ');
          return { key: key!, version: Number(version), revision: Number(revision), result: result! };
        });
    },
  };
}

describe('LMDB store under kill -9', () => {
  it(`loses no acknowledged put across ${KILLS} kills and keeps its indexes whole`, async () => {
    const dir = join(await tempDir(), 'store');
    const seed = Date.now() % 100_000;
    process.stdout.write(`# kill timing seed ${seed}\n`);
    const random = seededRandom(seed);
    /** Highest version ever acknowledged per key: the store may never go below it. */
    const floor = new Map<string, number>();
    /** Acknowledged applied changes: (key, version) -> revision. */
    const appliedRevision = new Map<string, number>();
    let maxRevision = 0;
    let totalAcks = 0;
    const started = Date.now();
    let writer = startWriter(dir, 1);
    for (let kill = 0; kill < KILLS; kill++) {
      const acks = await writer.killAfter(20 + Math.floor(random() * 800), Math.floor(random() * 20));
      // The next writer loads while this round's checks run; it opens the store only when told.
      writer = startWriter(dir, kill + 2);
      assert.ok(acks.length > 20, 'the writer acknowledged puts before the kill');
      totalAcks += acks.length;
      for (const ack of acks) {
        floor.set(ack.key, Math.max(floor.get(ack.key) ?? 0, ack.version));
        if (ack.result === 'applied') {
          appliedRevision.set(`${ack.key}@${ack.version}`, ack.revision);
          maxRevision = Math.max(maxRevision, ack.revision);
        }
      }

      const store = await openLmdbStore({ path: dir });
      try {
        const revision = store.currentRevision();
        assert.ok(revision >= maxRevision, `revision counter ${revision} below acknowledged ${maxRevision}`);
        const all = await listAll(store, 'crash/');
        const byKey = new Map(all.map((s) => [s.key, s]));
        for (const [key, version] of floor) {
          const current = byKey.get(key);
          assert.ok(current !== undefined, `acknowledged key ${key} is missing after kill ${kill}`);
          assert.ok(current.version >= version, `${key} went back from ${version} to ${current.version}`);
          const revisionOfAck = appliedRevision.get(`${key}@${current.version}`);
          if (revisionOfAck !== undefined) assert.equal(current.revision, revisionOfAck, `${key} revision`);
        }
        // The revision index lists every key once, in strictly increasing revision order.
        const events = await collect(
          store.watch('crash/>', { sinceRevision: 0 }),
          (e) => e.kind === 'synced',
          {
            timeoutMs: 10_000,
          },
        );
        const indexed: StoredSnapshot[] = snapshotsOf(events);
        for (let i = 1; i < indexed.length; i++) assert.ok(indexed[i]!.revision > indexed[i - 1]!.revision);
        assert.equal(indexed.length, all.length, 'one index entry per key');
        for (const snapshot of indexed) assert.equal(byKey.get(snapshot.key)?.revision, snapshot.revision);
        assert.ok(indexed.every((s) => s.revision <= revision));
        const next = await store.put({ key: 'crash/after-kill', state: kill });
        assert.equal(next.result, 'applied');
        assert.equal(next.revision, revision + 1);
        maxRevision = next.revision;
        floor.set('crash/after-kill', next.version);
        appliedRevision.set(`crash/after-kill@${next.version}`, next.revision);
      } finally {
        await store.close();
      }
    }
    const seconds = (Date.now() - started) / 1000;
    assert.ok(totalAcks > KILLS * 20);
    process.stdout.write(
      `# ${KILLS} kills, ${totalAcks} acknowledgements checked in ${seconds.toFixed(1)} s\n`,
    );
  });
});

interface OpenReport {
  readonly ok: boolean;
  readonly code?: string;
  readonly message?: string;
}

/** Opens each store in one child process; a native crash is reported as a signal, not a test-runner crash. */
async function openInChild(dirs: readonly string[], verify: 'header' | 'full'): Promise<OpenReport[]> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(FIXTURES, 'store-open-check.ts'), verify, ...dirs],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.add(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const { code, signal } = await within(
    new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (c, s) => resolve({ code: c, signal: s })),
    ),
    60_000,
    'open check',
  );
  children.delete(child);
  assert.equal(signal, null, `opening crashed with ${signal}: ${err}`);
  assert.equal(code, 0, `open check failed: ${err}`);
  const reports = out
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as OpenReport);
  assert.equal(reports.length, dirs.length);
  return reports;
}

async function overwrite(file: string, at: number, bytes: Buffer): Promise<void> {
  const handle = await openFile(file, 'r+');
  try {
    await handle.write(bytes, 0, bytes.length, at);
  } finally {
    await handle.close();
  }
}

function noise(length: number, seed: number): Buffer {
  const random = seededRandom(seed);
  return Buffer.from(Array.from({ length }, () => Math.floor(random() * 256)));
}

/**
 * A store of 3000 keys in a fresh directory; returns its path and its data file's size in pages.
 * The file is a compacted copy (LMDB's own backup), so it has no free pages: damage to any page
 * but the last hits something stored.
 */
async function pristineStore(): Promise<{ dir: string; pages: number }> {
  const written = join(await tempDir(), 'written');
  const store = await openLmdbStore({ path: written });
  await Promise.all(
    Array.from({ length: 3000 }, (_, i) =>
      store.put({ key: `d/${i}`, state: { i, pad: 'x'.repeat(i % 200) } }),
    ),
  );
  await store.close();
  const dir = join(await tempDir(), 'pristine');
  await mkdir(dir);
  const raw = openLmdb({ path: written });
  try {
    await raw.backup(dir, true); // into the directory, as data.mdb
  } finally {
    await raw.close();
  }
  return { dir, pages: (await stat(join(dir, 'data.mdb'))).size / PAGE };
}

async function damagedCopy(pristine: string, damage: (file: string) => Promise<void>): Promise<string> {
  const dir = join(await tempDir(), 'damaged');
  await cp(pristine, dir, { recursive: true });
  await damage(join(dir, 'data.mdb'));
  return dir;
}

const PAGE = 4096;

describe('LMDB store opening a damaged data file', () => {
  it('fails with corrupt_store naming the file, for truncation and header damage', async () => {
    const { dir: pristine, pages } = await pristineStore();
    assert.ok(pages > 20);
    const size = pages * PAGE;
    const cases: [string, (file: string) => Promise<void>][] = [
      ['truncated to half', (file) => truncate(file, Math.floor(size / 2))],
      ['truncated by one byte', (file) => truncate(file, size - 1)],
      ['truncated by one page', (file) => truncate(file, size - PAGE)],
      ['truncated to one page', (file) => truncate(file, PAGE)],
      ['truncated to 100 bytes', (file) => truncate(file, 100)],
      ['emptied', (file) => truncate(file, 0)],
      ['first meta page overwritten', (file) => overwrite(file, 0, noise(PAGE, 1))],
      ['second meta page overwritten', (file) => overwrite(file, PAGE, noise(PAGE, 2))],
      ['replaced by noise', (file) => writeFile(file, noise(size, 3))],
    ];
    const dirs = [pristine];
    for (const [, damage] of cases) dirs.push(await damagedCopy(pristine, damage));
    const [intact, ...reports] = await openInChild(dirs, 'header');
    assert.deepEqual(intact, { ok: true, listed: 3000 }, 'the undamaged store opens');
    cases.forEach(([what], i) => {
      const report = reports[i]!;
      const file = join(dirs[i + 1]!, 'data.mdb');
      assert.equal(report.ok, false, `${what}: opened`);
      assert.equal(report.code, 'corrupt_store', `${what}: ${report.message}`);
      assert.ok(report.message?.includes(file), `${what}: message names the file: ${report.message}`);
    });
  });

  it("with verify: 'full', also fails with corrupt_store for damaged pages inside the file", async () => {
    const { dir: pristine, pages } = await pristineStore();
    // Pages spread through the file: branch and leaf pages of each database.
    const targets = [3, 10, 40, 100, pages - 2];
    const dirs = [pristine];
    for (const page of targets)
      dirs.push(await damagedCopy(pristine, (file) => overwrite(file, page * PAGE, noise(PAGE, page))));
    const [intact, ...reports] = await openInChild(dirs, 'full');
    assert.deepEqual(intact, { ok: true, listed: 3000 }, 'the undamaged store passes verification');
    let detected = 0;
    reports.forEach((report, i) => {
      if (report.ok) return; // the page was free: nothing stored there
      detected++;
      const file = join(dirs[i + 1]!, 'data.mdb');
      assert.equal(report.code, 'corrupt_store', `page ${targets[i]}: ${report.message}`);
      assert.ok(
        report.message?.includes(file),
        `page ${targets[i]}: message names the file: ${report.message}`,
      );
    });
    assert.ok(detected >= targets.length - 1, `damage detected in ${detected} of ${targets.length} pages`);
  });
});
