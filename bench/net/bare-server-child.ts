/**
 * Child process running a bare SBMP server: the wire protocol and nothing else. It answers
 * HELLO, marks every SUBSCRIBE synced at once, acknowledges every PUBLISH as applied and forwards
 * it to every subscription (all of them, whatever their pattern) in SNAPSHOTS frames at the end
 * of the turn. No store, no apply rules, no guards, no metrics.
 *
 * It is not a subject of the report: `bench/tools/client-floor.ts` runs the SDK's clients
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
  splitBatchRanges,
} from '../../src/codec/frames.js';
import { holdWritesForTurn } from '../../src/core/write-batching.js';
import { socketOf } from '../../src/server/ws/ws-socket.js';
import { AllocationMeter } from '../lib/allocation.js';
import { runAsChild } from '../lib/child.js';
import { processMemory } from '../lib/process-memory.js';
import type { ServerReady } from './servers.js';

const MAX_FRAME_BYTES = 1024 * 1024;
/** Entries per SNAPSHOTS frame: 256-byte states make frames of about 60 KB, well inside the limit. */
const ENTRIES_PER_FRAME = 200;

interface Client {
  readonly batcher: FrameBatcher;
  readonly subscriptions: number[];
  /** Encoded entries forwarded this turn, shared with every other client. */
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
        for (let i = 0; i < client.pending.length; i += ENTRIES_PER_FRAME) {
          const entries = client.pending.slice(i, i + ENTRIES_PER_FRAME);
          client.batcher.send(encodeSnapshotsFrame({ subscriptionId, revision }, entries));
        }
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
            maxFrameBytes: MAX_FRAME_BYTES,
            maxStateBytes: MAX_FRAME_BYTES,
            maxSubscriptions: 1000,
            maxInFlight: 4096,
            revision,
            storeEpoch: 'bare',
            batches: true,
          }),
        );
        if (frame.batches === true) client.batcher.enable(MAX_FRAME_BYTES);
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
  const wss = new WebSocketServer({ server: http, path: '/sbmp/v3/ws', perMessageDeflate: false });
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
      const ranges = splitBatchRanges(bytes, MAX_FRAME_BYTES) ?? [0, bytes.length];
      for (let i = 0; i < ranges.length; i += 2) {
        onFrame(socket, client, decodeFrameAt(bytes, ranges[i]!, ranges[i + 1]!, MAX_FRAME_BYTES));
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
