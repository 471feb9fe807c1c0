/**
 * A minimal listener set (browsers and Node alike, no `node:events`). A throwing listener
 * does not stop the others; its error is reported through `onListenerError`.
 */
export class Listeners<A extends unknown[]> {
  readonly #listeners = new Set<(...args: A) => void>();
  readonly #onListenerError: (error: unknown) => void;

  constructor(onListenerError: (error: unknown) => void = reportAsync) {
    this.#onListenerError = onListenerError;
  }

  get size(): number {
    return this.#listeners.size;
  }

  /** Adds `listener`; the returned function removes it. */
  add(listener: (...args: A) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(...args: A): void {
    for (const listener of this.#listeners) {
      try {
        listener(...args);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }
}

/** Rethrows outside the caller's stack, so a listener's bug is loud but cannot corrupt client state. */
function reportAsync(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}
