/**
 * A publisher in a worker thread of its own (see paced-publisher.ts): it sends on an exact
 * schedule while the bench thread receives, so neither delays the other.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { BusPublisher } from './bus.js';
import { busClientFor } from './endpoint.js';
import { publishPaced, SharedClock } from './paced.js';
import type { FromPublisher, PublisherWorkerData, ToPublisher } from './paced-publisher.js';

const data = workerData as PublisherWorkerData;
const clock = new SharedClock(data.clockOriginMs);
const post = (message: FromPublisher) => parentPort!.postMessage(message);
const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

let publisher: BusPublisher | undefined;
busClientFor(data.endpoint)
  .publisher(data.endpoint, data.topic, data.window)
  .then(
    (opened) => {
      publisher = opened;
      post({ type: 'ready' });
    },
    (err: unknown) => post({ type: 'failed', error: messageOf(err) }),
  );

async function run(publisher: BusPublisher, message: Extract<ToPublisher, { type: 'run' }>): Promise<void> {
  const outcome = await publishPaced(publisher, message.plan, clock);
  const { lastError } = publisher.stats;
  // An error object may not survive the copy to the other thread; its message does.
  const stats = { ...publisher.stats, lastError: lastError === undefined ? undefined : messageOf(lastError) };
  post({ type: 'published', outcome, stats });
}

parentPort!.on('message', (message: ToPublisher) => {
  if (message.type === 'run') {
    run(publisher!, message).catch((err: unknown) => post({ type: 'failed', error: messageOf(err) }));
    return;
  }
  void (publisher?.close() ?? Promise.resolve()).catch(() => {}).finally(() => parentPort!.close());
});
