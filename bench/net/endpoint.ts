/**
 * One load-generator interface over every subject: SBMP and each peer is reached through a
 * serializable `Endpoint` (so a child process can open clients too) and a `BusClient` that
 * opens publishers and subscribers on a topic. Scenarios drive `BusPublisher` /
 * `BusSubscriber` only and never branch on the subject.
 */
import type { BusClient, Endpoint } from './bus.js';
import { natsBusClient } from './clients/nats.js';
import { redisBusClient } from './clients/redis.js';
import { sbmpBusClient } from './clients/sbmp.js';
import { wsRelayBusClient } from './clients/ws-relay.js';

const CLIENTS: { readonly [K in Endpoint['kind']]: BusClient } = {
  sbmp: sbmpBusClient,
  nats: natsBusClient,
  redis: redisBusClient,
  'ws-relay': wsRelayBusClient,
};

export function busClientFor(endpoint: Endpoint): BusClient {
  return CLIENTS[endpoint.kind];
}
