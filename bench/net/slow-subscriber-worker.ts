/**
 * The slow subscriber of the slow-consumer scenario, in a worker thread: each message costs it
 * `sleepMs` of blocked time (Atomics.wait, no CPU), so its event loop, and with it its socket,
 * is read at a fraction of the publish rate, as a real overloaded consumer would read.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { BusSubscriber } from './bus.js';
import { busClientFor } from './endpoint.js';
import type { PayloadHeader } from './payload.js';
import { readPayload } from './payload.js';
import type { FromWorker, SlowWorkerData, ToWorker } from './slow-view.js';
import { SlowView } from './slow-view.js';
import { DeliveryTracker } from './tracker.js';

const data = workerData as SlowWorkerData;
const view = new SlowView(data.keys, data.shared);
const tracker = new DeliveryTracker(data.keys);
tracker.begin(data.run);
const header: PayloadHeader = { intendedAt: 0, run: 0, seq: 0 };
const post = (message: FromWorker) => parentPort!.postMessage(message);

const onMessage = (bytes: Uint8Array): void => {
  tracker.onMessage(bytes);
  if (readPayload(bytes, header) && header.run === data.run) {
    view.counters[0] = tracker.delivered;
    const slot = header.seq % data.keys;
    if (header.seq > view.lastSeq[slot]!) view.lastSeq[slot] = header.seq;
  }
  if (view.slow) view.sleep(data.sleepMs);
};

let subscriber: BusSubscriber | undefined;
busClientFor(data.endpoint)
  .subscriber(data.endpoint, data.topic, onMessage, () => Atomics.store(view.control, 1, 1))
  .then(
    (s) => {
      subscriber = s;
      post({ type: 'ready' });
    },
    (err: unknown) => post({ type: 'failed', error: err instanceof Error ? err.message : String(err) }),
  );

parentPort!.on('message', (message: ToWorker) => {
  if (message.type === 'published') {
    void tracker
      .end(message.count, message.timeoutMs)
      .then((complete) => post({ type: 'caught-up', complete }));
    return;
  }
  void (subscriber?.close() ?? Promise.resolve()).finally(() => parentPort!.close());
});
