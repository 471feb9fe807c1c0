/**
 * A byte stream that can hold its writes and let them go together (Node's `net.Socket`).
 * `cork` calls nest: the writes leave once `uncork` has been called as often.
 */
export interface CorkableStream {
  cork(): void;
  uncork(): void;
}

/** Streams corked during the current turn; all are released together once it ends. */
const corked = new Set<CorkableStream>();
let releaseScheduled = false;

const nextTick: ((fn: () => void) => void) | undefined = (
  globalThis as { process?: { nextTick?: (fn: () => void) => void } }
).process?.nextTick;

const queueMicrotaskFn: ((fn: () => void) => void) | undefined = (
  globalThis as { queueMicrotask?: (fn: () => void) => void }
).queueMicrotask;

/**
 * Runs `fn` once the current turn of the event loop has run its callback and the microtasks it
 * caused: `process.nextTick` in Node (queued during the microtasks, it runs after all of them),
 * a microtask elsewhere (it runs after the microtasks queued before it).
 */
export function atEndOfTurn(fn: () => void): void {
  if (nextTick !== undefined) nextTick(fn);
  else if (queueMicrotaskFn !== undefined) queueMicrotaskFn(fn);
  else void Promise.resolve().then(fn);
}

/**
 * Holds `stream`'s writes until the current turn of the event loop ends (its callback and the
 * microtasks it caused), so every frame written meanwhile (a run of ACKs, a window of
 * PUBLISH frames) leaves in one `writev` instead of one system call each. Idempotent within a
 * turn. A no-op for `undefined` (browsers, whose WebSocket exposes no socket) and where there
 * is no `process.nextTick` to end the turn with.
 *
 * The release runs on `process.nextTick`, not `setImmediate`: it comes right after the
 * microtasks of the callback that wrote, so holding adds no wait for another loop iteration
 * and latency stays what it was. A stream destroyed meanwhile is released harmlessly.
 */
export function holdWritesForTurn(stream: CorkableStream | undefined): void {
  if (stream === undefined || nextTick === undefined || corked.has(stream)) return;
  stream.cork();
  corked.add(stream);
  if (!releaseScheduled) {
    releaseScheduled = true;
    nextTick(releaseHeldWrites);
  }
}

function releaseHeldWrites(): void {
  releaseScheduled = false;
  // Removed before release: a write made while releasing holds its stream again, for later.
  for (const stream of corked) {
    corked.delete(stream);
    stream.uncork();
  }
}
