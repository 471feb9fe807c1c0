/**
 * Child process running a bare SBMP server: the wire protocol and nothing else. It answers
 * HELLO with the real server's default limits, marks every SUBSCRIBE synced at once,
 * acknowledges every PUBLISH as applied and forwards it to every subscription (all of them,
 * whatever their pattern; UNSUBSCRIBE is ignored) in SNAPSHOTS frames at the end of the turn,
 * cut to the frame limit as the real server cuts them. No store, no apply rules, no guards, no
 * metrics: the clients do the work they do against the real server, and the server next to none.
 *
 * It is not a subject of the report: `bench/tools/client-ceiling.ts` runs the SDK's clients
 * against it beside the real server, to tell what the clients cost from what the server does.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebSocket } from 'ws';
import { WebSocketServer } from 'ws';
import { FrameBatcher } from '../../src/codec/frame-batcher.js';
import type { Frame, PublishFrame } from '../../src/codec/frame-types.js';
import { PROTOCOL_VERSION } from '../../src/codec/frame-types.js';
import {
  decodeFrameAt,
  encodeFrame,
  encodeSnapshotEntry,
  encodeSnapshotsFrame,
  SNAPSHOTS_FRAME_OVERHEAD_MAX,
  snapshotEntryFrameBytes,
  splitBatchRanges,
} from '../../src/codec/frames.js';
import { WS_PATH } from '../../src/codec/ws-protocol.js';
import { holdWritesForTurn } from '../../src/core/write-batching.js';
import { DEFAULT_SERVER_LIMITS } from '../../src/server/limits.js';
import { socketOf } from '../../src/server/ws/ws-socket.js';
import { AllocationMeter } from '../lib/allocation.js';
import { runAsChild } from '../lib/child.js';
import { processMemory } from '../lib/process-memory.js';
import type { ServerReady } from './servers.js';

const LIMITS = DEFAULT_SERVER_LIMITS;

interface Client {
  readonly batcher: FrameBatcher;
  readonly subscriptions: number[];
  /** Entries forwarded to this client this turn; each encoded once and shared by every client. */
  pending: Uint8Array[];
}

runAsChild<null>(async () => {
  const allocation = new AllocationMeter();
  const clients = new Set<Client>();
  const waiting = new Set<Client>();
  let revision = 0;
  let flushScheduled = false;

  const flush = () => {
    flushScheduled = false;
    for (const client of waiting) {
      for (const subscriptionId of client.subscriptions) {
        let frame: Uint8Array[] = [];
        let frameBytes = SNAPSHOTS_FRAME_OVERHEAD_MAX;
        for (const entry of client.pending) {
          const entryBytes = snapshotEntryFrameBytes(entry.length) + entry.length;
          if (frame.length > 0 && frameBytes + entryBytes > LIMITS.maxFrameBytes) {
            client.batcher.send(encodeSnapshotsFrame({ subscriptionId, revision }, frame));
            frame = [];
            frameBytes = SNAPSHOTS_FRAME_OVERHEAD_MAX;
          }
          frame.push(entry);
          frameBytes += entryBytes;
        }
        if (frame.length > 0) client.batcher.send(encodeSnapshotsFrame({ subscriptionId, revision }, frame));
      }
      client.pending = [];
    }
    waiting.clear();
  };

  const publish = (client: Client, frame: PublishFrame) => {
    revision++;
    const version = frame.version ?? revision;
    client.batcher.send(
      encodeFrame({ type: 'ack', requestId: frame.requestId, result: 'applied', version, revision }),
    );
    const entry = encodeSnapshotEntry({
      key: frame.key,
      version,
      revision,
      ts: frame.ts ?? Date.now(),
      source: 'bare',
      state: frame.state,
      ...(frame.contentType === undefined ? {} : { contentType: frame.contentType }),
    });
    for (const other of clients) {
      if (other.subscriptions.length === 0) continue;
      other.pending.push(entry);
      waiting.add(other);
    }
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  };

  const onFrame = (socket: WebSocket, client: Client, frame: Frame) => {
    switch (frame.type) {
      case 'hello':
        socket.send(
          encodeFrame({
            type: 'welcome',
            protocolVersion: PROTOCOL_VERSION,
            serverId: 'bare',
            maxFrameBytes: LIMITS.maxFrameBytes,
            maxStateBytes: LIMITS.maxStateBytes,
            maxSubscriptions: LIMITS.maxSubscriptionsPerConnection,
            maxInFlight: LIMITS.maxInFlightPerConnection,
            revision,
            storeEpoch: 'bare',
            batches: true,
          }),
        );
        if (frame.batches === true) client.batcher.enable(LIMITS.maxFrameBytes);
        return;
      case 'subscribe':
        client.subscriptions.push(frame.subscriptionId);
        client.batcher.send(
          encodeSnapshotsFrame({ subscriptionId: frame.subscriptionId, synced: true, revision }, []),
        );
        return;
      case 'publish':
        publish(client, frame);
        return;
      case 'ping':
        client.batcher.send(encodeFrame({ type: 'pong', nonce: frame.nonce }));
        return;
      default:
        return;
    }
  };

  const http = createServer((_req, res) => {
    res.writeHead(404).end();
  });
  const wss = new WebSocketServer({ server: http, path: WS_PATH, perMessageDeflate: false });
  wss.on('connection', (socket) => {
    const client: Client = {
      batcher: new FrameBatcher((message) => {
        holdWritesForTurn(socketOf(socket));
        socket.send(message);
      }),
      subscriptions: [],
      pending: [],
    };
    clients.add(client);
    socket.on('close', () => clients.delete(client));
    socket.on('message', (data: Buffer) => {
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      const ranges = splitBatchRanges(bytes, LIMITS.maxFrameBytes) ?? [0, bytes.length];
      for (let i = 0; i < ranges.length; i += 2) {
        onFrame(socket, client, decodeFrameAt(bytes, ranges[i]!, ranges[i + 1]!, LIMITS.maxFrameBytes));
      }
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    ready: { url: `http://127.0.0.1:${port}` } satisfies ServerReady,
    handlers: { ...allocation.handlers(), memory: () => processMemory() },
    async close() {
      for (const socket of wss.clients) socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
});
