/**
 * Child process running the plain `ws` relay peer: the least a WebSocket server can do to
 * move messages from publishers to subscribers. A client connecting to `/pub` publishes; every
 * binary message it sends is forwarded, as is, to every client connected to `/sub`. No
 * framing, no state, no flow control: `bufferedAmount` grows when a subscriber is slow.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebSocket } from 'ws';
import { WebSocketServer } from 'ws';
import { AllocationMeter } from '../lib/allocation.js';
import { runAsChild } from '../lib/child.js';
import { processMemory } from '../lib/process-memory.js';
import type { RelayStats, ServerReady } from './servers.js';

runAsChild<null>(async () => {
  const allocation = new AllocationMeter();
  const http = createServer((_req, res) => {
    res.writeHead(404).end();
  });
  const wss = new WebSocketServer({ server: http, maxPayload: 1024 * 1024 });
  const subscribers = new Set<WebSocket>();
  wss.on('connection', (socket, req) => {
    if (req.url === '/sub') {
      subscribers.add(socket);
      socket.on('close', () => subscribers.delete(socket));
      return;
    }
    socket.on('message', (data, isBinary) => {
      for (const subscriber of subscribers) subscriber.send(data, { binary: isBinary });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    ready: { url: `ws://127.0.0.1:${port}` } satisfies ServerReady,
    handlers: {
      ...allocation.handlers(),
      memory: () => processMemory(),
      stats: (): RelayStats => {
        let bufferedBytes = 0;
        let maxBufferedBytes = 0;
        for (const s of subscribers) {
          bufferedBytes += s.bufferedAmount;
          maxBufferedBytes = Math.max(maxBufferedBytes, s.bufferedAmount);
        }
        return { subscribers: subscribers.size, bufferedBytes, maxBufferedBytes };
      },
    },
    async close() {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
});
