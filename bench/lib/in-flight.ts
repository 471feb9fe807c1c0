/**
 * A bounded in-flight window for a load generator: `add()` before each send, `done()` when
 * its acknowledgement (or write callback) arrives; `room()` is undefined while there is room,
 * else a promise that resolves when there is. `idle()` resolves once nothing is in flight.
 */
export class InFlightWindow {
  readonly size: number;
  #inFlight = 0;
  #roomWaiter: (() => void) | undefined;
  #idleWaiters: (() => void)[] = [];

  constructor(size: number) {
    if (!Number.isSafeInteger(size) || size < 1)
      throw new RangeError('window size must be a positive integer');
    this.size = size;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  add(): void {
    this.#inFlight++;
  }

  readonly done = (): void => {
    this.#inFlight--;
    if (this.#roomWaiter !== undefined && this.#inFlight < this.size) {
      const waiter = this.#roomWaiter;
      this.#roomWaiter = undefined;
      waiter();
    }
    if (this.#inFlight === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const waiter of waiters) waiter();
    }
  };

  room(): Promise<void> | undefined {
    if (this.#inFlight < this.size) return undefined;
    return new Promise((resolve) => {
      this.#roomWaiter = resolve;
    });
  }

  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }
}
