import { Redis } from 'ioredis';
import { InFlightWindow } from '../../lib/in-flight.js';
import type { BusClient, BusPublisher, Endpoint } from '../bus.js';
import { newPublisherStats } from '../bus.js';

export function connectRedis(endpoint: Endpoint, name: string): Redis {
  if (endpoint.kind !== 'redis') throw new Error(`not a Redis endpoint: ${endpoint.kind}`);
  // Auto-pipelining writes a turn's commands in one go: the client's fastest publishing mode.
  return new Redis({
    host: endpoint.host,
    port: endpoint.port,
    connectionName: name,
    enableAutoPipelining: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
}

/** Redis pub/sub through ioredis: a PUBLISH is confirmed by its reply (the receiver count). */
export const redisBusClient: BusClient = {
  async publisher(endpoint, topic, window): Promise<BusPublisher> {
    const redis = connectRedis(endpoint, 'sbmp-bench-pub');
    await redis.ping();
    const inFlight = new InFlightWindow(window);
    const stats = newPublisherStats();
    const channel = Buffer.from(topic);
    return {
      stats,
      send(_slot, _version, payload) {
        inFlight.add();
        stats.sent++;
        redis.publish(channel, payload as Buffer).then(
          () => {
            stats.confirmed++;
            inFlight.done();
          },
          (err: unknown) => {
            stats.failed++;
            stats.lastError = err;
            inFlight.done();
          },
        );
        return inFlight.room();
      },
      flush: () => inFlight.idle(),
      async close() {
        await redis.quit();
      },
    };
  },

  async subscriber(endpoint, topic, onMessage, onLost) {
    const redis = connectRedis(endpoint, 'sbmp-bench-sub');
    let closing = false;
    redis.on('error', () => {});
    redis.on('end', () => {
      if (!closing) onLost?.('connection closed by the server');
    });
    redis.on('messageBuffer', (_channel: Buffer, message: Buffer) => onMessage(message));
    await redis.subscribe(topic);
    return {
      async close() {
        closing = true;
        redis.disconnect();
      },
    };
  },
};
