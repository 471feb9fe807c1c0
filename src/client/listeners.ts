/** A listener of one or two arguments (`B` is `void` for listeners of one). */
export type Listener<A, B = void> = (a: A, b: B) => void;

const NONE: readonly never[] = Object.freeze([]);

/**
 * A minimal listener set (browsers and Node alike, no `node:events`). A throwing listener
 * does not stop the others; its error is reported through `onListenerError`. Adding a listener
 * that is already there changes nothing.
 *
 * `emit` runs once per delivered snapshot, so it allocates nothing: the listeners are an array
 * that `add` and removal replace rather than change, walked by index, and the arguments are
 * passed as they are, without a rest array. A listener added during an `emit` is first called
 * by the next one; a listener removed during an `emit` is not called by it if it was not
 * reached yet.
 */
export class Listeners<A, B = void> {
  #listeners: readonly Listener<A, B>[] = NONE;
  readonly #onListenerError: (error: unknown) => void;

  constructor(onListenerError: (error: unknown) => void = reportAsync) {
    this.#onListenerError = onListenerError;
  }

  get size(): number {
    return this.#listeners.length;
  }

  /** Adds `listener`; the returned function removes it. */
  add(listener: Listener<A, B>): () => void {
    if (!this.#listeners.includes(listener)) this.#listeners = [...this.#listeners, listener];
    return () => {
      if (this.#listeners.includes(listener)) this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  emit(a: A, b: B): void {
    const listeners = this.#listeners;
    for (let i = 0; i < listeners.length; i++) {
      const listener = listeners[i]!;
      // Only after a removal during this emit is the current list consulted.
      if (listeners !== this.#listeners && !this.#listeners.includes(listener)) continue;
      try {
        // A listener of one argument is called with one, as documented (`fn(status)`).
        if (b === undefined) (listener as (a: A) => void)(a);
        else listener(a, b);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
  }

  clear(): void {
    this.#listeners = NONE;
  }
}

/** Rethrows outside the caller's stack, so a listener's bug is loud but cannot corrupt client state. */
function reportAsync(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}
