/**
 * The bench thread's handle on a publisher that runs in a worker thread of its own
 * (paced-publisher-worker.ts) and sends on an exact schedule (paced.ts). A publisher in the
 * receiving thread would delay deliveries while it sends, and be delayed by them.
 */
import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { nextWorkerMessage, startTsWorker } from '../lib/worker.js';
import type { Endpoint, PublisherStats } from './bus.js';
import type { PacedOutcome, PacedPlan } from './paced.js';
import { SharedClock } from './paced.js';

export interface PublisherWorkerData {
  readonly endpoint: Endpoint;
  readonly topic: string;
  readonly window: number;
  /** SharedClock origin: payload times are on the bench thread's `performance.now()`. */
  readonly clockOriginMs: number;
}

export type ToPublisher = { readonly type: 'run'; readonly plan: PacedPlan } | { readonly type: 'close' };
export type FromPublisher =
  | { readonly type: 'ready' }
  | { readonly type: 'failed'; readonly error: string }
  | { readonly type: 'published'; readonly outcome: PacedOutcome; readonly stats: PublisherStats };

const START_TIMEOUT_MS = 15_000;

export class PacedPublisher {
  readonly #worker: Worker;
  readonly #exited: Promise<unknown>;

  private constructor(worker: Worker) {
    this.#worker = worker;
    this.#exited = once(worker, 'exit');
  }

  /** Opens a publisher on `topic` in a new worker; its payload times are this thread's `performance.now()`. */
  static async start(endpoint: Endpoint, topic: string, window: number): Promise<PacedPublisher> {
    const data: PublisherWorkerData = { endpoint, topic, window, clockOriginMs: SharedClock.here() };
    const publisher = new PacedPublisher(
      startTsWorker(new URL('./paced-publisher-worker.ts', import.meta.url), data),
    );
    try {
      await publisher.#expect('ready', START_TIMEOUT_MS);
      return publisher;
    } catch (err) {
      await publisher.close();
      throw err;
    }
  }

  /** Sends `plan` and resolves once every message is confirmed; `stats` are the publisher's totals so far. */
  async run(plan: PacedPlan, timeoutMs: number): Promise<{ outcome: PacedOutcome; stats: PublisherStats }> {
    this.#worker.postMessage({ type: 'run', plan } satisfies ToPublisher);
    const published = await this.#expect('published', timeoutMs);
    return { outcome: published.outcome, stats: published.stats };
  }

  async close(): Promise<void> {
    this.#worker.postMessage({ type: 'close' } satisfies ToPublisher);
    const timer = setTimeout(() => void this.#worker.terminate(), START_TIMEOUT_MS);
    await this.#exited;
    clearTimeout(timer);
  }

  async #expect<T extends FromPublisher['type']>(
    type: T,
    timeoutMs: number,
  ): Promise<Extract<FromPublisher, { type: T }>> {
    const message = await nextWorkerMessage<FromPublisher>(this.#worker, timeoutMs, 'the paced publisher');
    if (message.type === type) return message as Extract<FromPublisher, { type: T }>;
    throw new Error(message.type === 'failed' ? message.error : `the paced publisher said ${message.type}`);
  }
}
