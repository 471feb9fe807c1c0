import type { NatsConnection } from '@nats-io/transport-node';
import { connect } from '@nats-io/transport-node';
import type { BusClient, BusPublisher, Endpoint } from '../bus.js';
import { newPublisherStats } from '../bus.js';

export function connectNats(endpoint: Endpoint): Promise<NatsConnection> {
  if (endpoint.kind !== 'nats') throw new Error(`not a NATS endpoint: ${endpoint.kind}`);
  return connect({ servers: `${endpoint.host}:${endpoint.port}`, reconnect: false });
}

/**
 * NATS core pub/sub through nats.js. Publishing is fire-and-forget; a `flush()` (a PING/PONG
 * round trip) after every `window` messages confirms them all and is the publisher's only
 * flow control, as in `nats bench`.
 */
export const natsBusClient: BusClient = {
  async publisher(endpoint, topic, window): Promise<BusPublisher> {
    const nc = await connectNats(endpoint);
    const stats = newPublisherStats();
    let unconfirmed = 0;
    const flush = async () => {
      const batch = unconfirmed;
      unconfirmed = 0;
      try {
        await nc.flush();
        stats.confirmed += batch;
      } catch (err) {
        stats.failed += batch;
        stats.lastError = err;
      }
    };
    return {
      stats,
      send(_slot, _version, payload) {
        nc.publish(topic, payload);
        stats.sent++;
        return ++unconfirmed >= window ? flush() : undefined;
      },
      flush,
      close: () => nc.close(),
    };
  },

  async subscriber(endpoint, topic, onMessage, onLost) {
    const nc = await connectNats(endpoint);
    let closing = false;
    void nc.closed().then((err) => {
      if (!closing) onLost?.(err === undefined ? 'connection closed' : err.message);
    });
    nc.subscribe(topic, { callback: (_err, msg) => onMessage(msg.data) });
    // The SUB is on the server once a round trip after it completes.
    await nc.flush();
    return {
      close: () => {
        closing = true;
        return nc.close();
      },
    };
  },
};
