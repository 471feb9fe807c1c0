/**
 * Opens the subjects of the network scenarios, each with its server: SBMP (a server in a child
 * process), NATS core and Redis (found or started, see bench/lib/peers.ts) and the plain `ws`
 * relay (a child process). A subject that cannot be opened comes back with the reason.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildHandle } from '../lib/child.js';
import type { PeerOptions } from '../lib/peers.js';
import { natsPeer, redisPeer, residentBytes } from '../lib/peers.js';
import type { ProcessMemory } from '../lib/process-memory.js';
import type { Endpoint } from './bus.js';
import type { ServerReady } from './servers.js';
import { BENCH_SERVER_LIMITS, startBareServer, startSbmpServer, startWsRelay } from './servers.js';

/**
 * `sbmp-bare` is SBMP's wire protocol with nothing behind it (see bare-server-child.ts): no
 * scenario measures it; `bench/tools/client-ceiling.ts` does, to tell the clients' cost apart.
 * Its label does not begin with `sbmp`, so a chart would not draw it as one of SBMP's subjects.
 */
export type SubjectKind = 'sbmp' | 'sbmp-lmdb' | 'sbmp-bare' | 'nats' | 'redis' | 'ws-relay';

/** Row labels, the same in every scenario so that tables line up. */
export const SUBJECT_LABELS: { readonly [K in SubjectKind]: string } = {
  sbmp: 'sbmp (ws, memory store)',
  'sbmp-lmdb': 'sbmp (ws, lmdb store)',
  'sbmp-bare': 'bare server (ack and forward) with sbmp clients',
  nats: 'nats core',
  redis: 'redis pub/sub',
  'ws-relay': 'ws relay',
};

export interface Subject {
  readonly kind: SubjectKind;
  readonly label: string;
  readonly endpoint: Endpoint;
  /** A subscriber may legitimately receive fewer messages than published (the newest per key always). */
  readonly conflates: boolean;
  /** The server's process id, for its resident memory; undefined when not known. */
  readonly serverPid: number | undefined;
  /** The monitoring port of a nats-server started here. */
  readonly monitorPort: number | undefined;
  /** The server's own memory figures, when it runs in a bench child. */
  serverMemory(): Promise<ProcessMemory | undefined>;
  /** A named figure from a bench child server (`stats` of the relay). */
  request<T>(name: string): Promise<T | undefined>;
  close(): Promise<void>;
}

export type SubjectLookup =
  | { readonly kind: SubjectKind; readonly label: string; readonly subject: Subject }
  | { readonly kind: SubjectKind; readonly label: string; readonly missing: string };

export interface OpenOptions extends PeerOptions {
  /** nats-server with its monitoring port (implies a private server). */
  readonly monitor?: boolean;
}

export async function openSubject(kind: SubjectKind, options: OpenOptions = {}): Promise<SubjectLookup> {
  const label = SUBJECT_LABELS[kind];
  try {
    switch (kind) {
      case 'sbmp':
        return {
          kind,
          label,
          subject: fromChild(
            kind,
            await startSbmpServer({ store: { kind: 'memory' }, limits: BENCH_SERVER_LIMITS }),
            true,
          ),
        };
      case 'sbmp-lmdb': {
        const dir = mkdtempSync(join(tmpdir(), 'sbmp-bench-lmdb-'));
        try {
          const child = await startSbmpServer({
            store: { kind: 'lmdb', path: dir },
            limits: BENCH_SERVER_LIMITS,
          });
          return { kind, label, subject: fromChild(kind, child, true, dir) };
        } catch (err) {
          rmSync(dir, { recursive: true, force: true });
          throw err;
        }
      }
      case 'sbmp-bare':
        return { kind, label, subject: fromChild(kind, await startBareServer(), true) };
      case 'ws-relay':
        return { kind, label, subject: fromChild(kind, await startWsRelay(), false) };
      case 'nats':
      case 'redis': {
        const found = kind === 'nats' ? await natsPeer(options) : await redisPeer(options);
        if ('missing' in found) return { kind, label, missing: found.missing };
        const peer = found.peer;
        return {
          kind,
          label,
          subject: {
            kind,
            label,
            endpoint: { kind, host: peer.host, port: peer.port },
            conflates: false,
            serverPid: peer.pid,
            monitorPort: peer.monitorPort,
            serverMemory: () => Promise.resolve(undefined),
            request: () => Promise.resolve(undefined),
            close: () => peer.close(),
          },
        };
      }
    }
  } catch (err) {
    return { kind, label, missing: `cannot start: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function fromChild(
  kind: SubjectKind,
  child: ChildHandle<ServerReady>,
  conflates: boolean,
  dir?: string,
): Subject {
  const endpoint: Endpoint =
    kind === 'ws-relay' ? { kind: 'ws-relay', url: child.ready.url } : { kind: 'sbmp', url: child.ready.url };
  return {
    kind,
    label: SUBJECT_LABELS[kind],
    endpoint,
    conflates,
    serverPid: child.pid,
    monitorPort: undefined,
    serverMemory: () => child.request<ProcessMemory>('memory'),
    request: <T>(name: string) => child.request<T>(name),
    async close() {
      await child.close();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resident bytes of the subject's server process (any subject whose pid is known). */
export function serverResidentBytes(subject: Subject): Promise<number | undefined> {
  return subject.serverPid === undefined ? Promise.resolve(undefined) : residentBytes(subject.serverPid);
}

/** One subject's figures from `measureEachSubject`, or why there are none. */
export interface SubjectResult<F> {
  readonly label: string;
  /** True for SBMP's own subjects (compared with the peers), false for peers. */
  readonly sbmp: boolean;
  readonly figures?: F;
  readonly missing?: string;
}

/**
 * Opens, measures and closes each subject in turn (one server at a time, so no subject's
 * server competes with another's). A subject that cannot be opened, or whose measurement
 * throws, is reported with the reason.
 */
export async function measureEachSubject<F>(
  kinds: readonly SubjectKind[],
  measure: (subject: Subject) => Promise<F>,
  options: OpenOptions = {},
): Promise<SubjectResult<F>[]> {
  const results: SubjectResult<F>[] = [];
  for (const kind of kinds) {
    if (!wantedSubject(kind)) {
      results.push({
        label: SUBJECT_LABELS[kind],
        sbmp: isSbmp(kind),
        missing: 'left out by BENCH_SUBJECTS',
      });
      continue;
    }
    const lookup = await openSubject(kind, options);
    const sbmp = isSbmp(kind);
    if ('missing' in lookup) {
      results.push({ label: lookup.label, sbmp, missing: lookup.missing });
      continue;
    }
    try {
      results.push({ label: lookup.label, sbmp, figures: await measure(lookup.subject) });
    } catch (err) {
      results.push({
        label: lookup.label,
        sbmp,
        missing: `failed: ${err instanceof Error ? err.message : String(err)}`,
      });
    } finally {
      await lookup.subject.close();
    }
  }
  return results;
}

function isSbmp(kind: SubjectKind): boolean {
  return kind === 'sbmp' || kind === 'sbmp-lmdb';
}

/**
 * `BENCH_SUBJECTS=sbmp,nats` measures only the listed subjects (for a quick look while working
 * on one of them); unset, every subject is measured.
 */
function wantedSubject(kind: SubjectKind): boolean {
  const list = process.env.BENCH_SUBJECTS;
  if (list === undefined || list.trim() === '') return true;
  return list.split(',').some((name) => name.trim() === kind);
}
