/**
 * Idle connections: what 10,000 open WebSocket connections cost the server, per connection,
 * for SBMP (each client has said HELLO and received WELCOME, as a real client has) and for the
 * plain `ws` relay (connected, nothing sent). Memory is read in the server process after a
 * full GC: V8 heap plus external memory (the fair figure between two Node servers), and the
 * resident set.
 */
import { WebSocket } from 'ws';
import { PROTOCOL_VERSION } from '../../src/codec/frame-types.js';
import { encodeFrame } from '../../src/codec/frames.js';
import type { ChildHandle } from '../lib/child.js';
import { summarize } from '../lib/measure.js';
import type { ProcessMemory } from '../lib/process-memory.js';
import type { Row } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';
import type { ServerReady } from './servers.js';
import { startSbmpServer, startWsRelay } from './servers.js';

const CONNECTIONS = 10_000;
/** Connections opened at once; more would only queue in the listen backlog. */
const WAVE = 250;
const OPEN_TIMEOUT_MS = 60_000;
const GOAL_BYTES = 10_000;

const HELLO = encodeFrame({
  type: 'hello',
  protocolVersion: PROTOCOL_VERSION,
  clientId: 'bench-idle',
  stateEncoding: 'msgpack',
});

/** Opens one connection; for SBMP resolves once WELCOME (its first message) has arrived. */
function openOne(url: string, handshake: boolean): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`connection to ${url} not ready in ${OPEN_TIMEOUT_MS} ms`));
    }, OPEN_TIMEOUT_MS);
    const ready = () => {
      clearTimeout(timer);
      resolve(socket);
    };
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once('open', () => {
      if (!handshake) return ready();
      socket.once('message', ready);
      socket.send(HELLO);
    });
  });
}

async function openAll(url: string, handshake: boolean): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  while (sockets.length < CONNECTIONS) {
    const wave = Math.min(WAVE, CONNECTIONS - sockets.length);
    sockets.push(...(await Promise.all(Array.from({ length: wave }, () => openOne(url, handshake)))));
  }
  return sockets;
}

interface PerConnection {
  readonly heapAndExternal: number;
  readonly resident: number;
}

async function measure(
  server: ChildHandle<ServerReady>,
  url: string,
  handshake: boolean,
): Promise<PerConnection> {
  const before = await server.request<ProcessMemory>('memory');
  const sockets = await openAll(url, handshake);
  const after = await server.request<ProcessMemory>('memory');
  for (const socket of sockets) socket.terminate();
  return {
    heapAndExternal: (after.heapUsed + after.external - before.heapUsed - before.external) / CONNECTIONS,
    resident: (after.rss - before.rss) / CONNECTIONS,
  };
}

function rows(subject: string, figures: PerConnection, isSbmp: boolean): Row[] {
  const base = { scenario: 'idle-connections', subject, unit: 'bytes', better: 'lower' as const };
  const heap: Row = {
    ...base,
    metric: `server heap+external per idle connection (${CONNECTIONS.toLocaleString('en-US')})`,
    figure: summarize([figures.heapAndExternal]),
    ...(isSbmp
      ? {
          baseline: 'ws relay',
          goal: { text: '<= 10 KB', met: figures.heapAndExternal <= GOAL_BYTES },
        }
      : {}),
  };
  const resident: Row = {
    ...base,
    metric: `server RSS per idle connection (${CONNECTIONS.toLocaleString('en-US')})`,
    figure: summarize([figures.resident]),
    ...(isSbmp ? { baseline: 'ws relay' } : {}),
  };
  return [heap, resident];
}

export const idleConnectionsScenario: Scenario = {
  name: 'idle-connections',
  description: `server memory per idle WebSocket connection, ${CONNECTIONS} connections`,
  async run(): Promise<Row[]> {
    const sbmpServer = await startSbmpServer({
      store: { kind: 'memory' },
      limits: { maxConnections: CONNECTIONS + 100 },
    });
    let sbmp: PerConnection;
    try {
      const wsUrl = `${sbmpServer.ready.url.replace(/^http/, 'ws')}/sbmp/v3/ws`;
      sbmp = await measure(sbmpServer, wsUrl, true);
    } finally {
      await sbmpServer.close();
    }
    const relay = await startWsRelay();
    let plain: PerConnection;
    try {
      plain = await measure(relay, `${relay.ready.url}/sub`, false);
    } finally {
      await relay.close();
    }
    return [...rows('sbmp (ws, memory store)', sbmp, true), ...rows('ws relay', plain, false)];
  },
};
