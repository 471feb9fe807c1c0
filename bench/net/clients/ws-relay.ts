import { WebSocket } from 'ws';
import { InFlightWindow } from '../../lib/in-flight.js';
import type { BusClient, BusPublisher, Endpoint } from '../bus.js';
import { newPublisherStats } from '../bus.js';

function open(endpoint: Endpoint, path: '/pub' | '/sub'): Promise<WebSocket> {
  if (endpoint.kind !== 'ws-relay') throw new Error(`not a ws relay endpoint: ${endpoint.kind}`);
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${endpoint.url}${path}`);
    socket.binaryType = 'nodebuffer';
    socket.once('open', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

function closeSocket(socket: WebSocket): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => socket.terminate(), 1000);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.close();
  });
}

/**
 * The plain `ws` relay (see ws-relay-child.ts). It sends no acknowledgements, so a message is
 * confirmed when `ws` has written it to the socket (its send callback).
 */
export const wsRelayBusClient: BusClient = {
  async publisher(endpoint, _topic, window): Promise<BusPublisher> {
    const socket = await open(endpoint, '/pub');
    const inFlight = new InFlightWindow(window);
    const stats = newPublisherStats();
    const written = (err?: Error) => {
      if (err === undefined || err === null) stats.confirmed++;
      else {
        stats.failed++;
        stats.lastError = err;
      }
      inFlight.done();
    };
    return {
      stats,
      send(_slot, _version, payload) {
        inFlight.add();
        stats.sent++;
        socket.send(payload, { binary: true }, written);
        return inFlight.room();
      },
      flush: () => inFlight.idle(),
      close: () => closeSocket(socket),
    };
  },

  async subscriber(endpoint, _topic, onMessage, onLost) {
    const socket = await open(endpoint, '/sub');
    let closing = false;
    socket.on('message', (data: Buffer) => onMessage(data));
    socket.on('error', () => {});
    socket.once('close', (code) => {
      if (!closing) onLost?.(`closed with code ${code}`);
    });
    return {
      close: () => {
        closing = true;
        return closeSocket(socket);
      },
    };
  },
};
