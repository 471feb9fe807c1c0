import type { Ack } from '../../../src/client/ack.js';
import { SbmpClient } from '../../../src/client/client.js';
import { InFlightWindow } from '../../lib/in-flight.js';
import type { BusClient, BusPublisher, Endpoint } from '../bus.js';
import { newPublisherStats } from '../bus.js';

/** Payloads travel as opaque bytes, exactly the 256 bytes the peers carry. */
const CONTENT_TYPE = 'application/octet-stream';

function urlOf(endpoint: Endpoint): string {
  if (endpoint.kind !== 'sbmp') throw new Error(`not an SBMP endpoint: ${endpoint.kind}`);
  return endpoint.url;
}

/**
 * SBMP through its own SDK (`SbmpClient`): publishes are acknowledged by the server once
 * applied to the store; a subscriber counts every snapshot its subscription applies.
 * Reconnection is off so that a failure shows instead of being healed mid-measurement.
 */
export const sbmpBusClient: BusClient = {
  async publisher(endpoint, topic, window): Promise<BusPublisher> {
    const client = await SbmpClient.connect({
      url: urlOf(endpoint),
      maxInFlight: window,
      reconnect: { enabled: false },
    });
    const inFlight = new InFlightWindow(window);
    const stats = newPublisherStats();
    const keys: string[] = [];
    const keyOf = (slot: number) => {
      keys[slot] ??= `${topic}/k${slot}`;
      return keys[slot]!;
    };
    // Made once, not per send: the figures are the SDK's allocation, not this adapter's.
    const onAck = (ack: Ack) => {
      stats.confirmed++;
      if (ack.result === 'applied') stats.applied++;
      inFlight.done();
    };
    const onFailure = (err: unknown) => {
      stats.failed++;
      stats.lastError = err;
      inFlight.done();
    };
    return {
      stats,
      send(slot, version, payload) {
        inFlight.add();
        stats.sent++;
        client.publish(keyOf(slot), payload, { version, contentType: CONTENT_TYPE }).then(onAck, onFailure);
        return inFlight.room();
      },
      flush: () => inFlight.idle(),
      close: () => client.close(),
    };
  },

  async subscriber(endpoint, topic, onMessage, onLost) {
    let closing = false;
    let lastError = 'connection closed';
    const client = await SbmpClient.connect({
      url: urlOf(endpoint),
      reconnect: { enabled: false },
      onError: (err) => {
        lastError = err instanceof Error ? err.message : String(err);
      },
    });
    client.onStatus((status) => {
      if (status === 'closed' && !closing) onLost?.(lastError);
    });
    // Live changes only, as the peers' subscriptions deliver them: resume after the store's
    // revision at connection time instead of receiving the current state of every key first.
    const revision = client.welcome?.revision ?? 0;
    const subscription = client.subscribe(
      `${topic}/>`,
      (snapshot) => onMessage(snapshot.state as Uint8Array),
      revision > 0 ? { sinceRevision: revision } : {},
    );
    await subscription.synced;
    return {
      close: () => {
        closing = true;
        return client.close();
      },
    };
  },
};
