import { poolMisuse } from './validate.js';

/**
 * Development-mode use-after-put detection for ObjectPool: each `get()` hands out a fresh
 * Proxy (a "lease") in front of the pooled item. `put(proxy)` ends the lease; from then on
 * every operation through that proxy (read, write, `in`, keys, method call, even a method
 * fetched before the put and called after) throws `pool_misuse` with reason 'use_after_put',
 * while the item itself goes back to the pool and is leased again behind a new proxy.
 *
 * A Proxy.revocable would also refuse use after put, but with a bare TypeError; a handler that
 * checks a flag gives the typed error. To stay transparent for class instances with #private
 * fields and for built-ins with internal slots (Map, Set, arrays), getters, setters and
 * methods run with `this` bound to the real item, and a method returning the item returns the
 * proxy instead. Only the item itself is guarded: an object reached through it (a nested
 * array) is the real one. What cannot work through a proxy: native brand checks (passing the
 * item to APIs that need a real typed array or Buffer, structuredClone); pools of such items
 * use `guard: 'track'`.
 */
export class Lease<T extends object> {
  released = false;
  readonly target: T;
  readonly proxy: T;
  readonly #pool: string;
  #methods: Map<unknown, unknown> | undefined;

  constructor(target: T, pool: string) {
    this.target = target;
    this.#pool = pool;
    this.proxy = new Proxy(target, new LeaseHandler(this));
  }

  check(operation: string, property?: PropertyKey): void {
    if (!this.released) return;
    const what = property === undefined ? operation : `${operation} of ${String(property)}`;
    throw poolMisuse(this.#pool, 'use_after_put', `${what} on an item after it was put back`);
  }

  /** The method `fn` as seen through this lease: checked on each call, run on the real item. */
  method(fn: (...args: unknown[]) => unknown): unknown {
    this.#methods ??= new Map();
    let wrapped = this.#methods.get(fn);
    if (wrapped === undefined) {
      const lease = this;
      wrapped = function (this: unknown, ...args: unknown[]): unknown {
        lease.check('call', fn.name);
        const result = Reflect.apply(fn, this === lease.proxy ? lease.target : this, args);
        return result === lease.target ? lease.proxy : result;
      };
      this.#methods.set(fn, wrapped);
    }
    return wrapped;
  }
}

class LeaseHandler<T extends object> implements ProxyHandler<T> {
  readonly #lease: Lease<T>;

  constructor(lease: Lease<T>) {
    this.#lease = lease;
  }

  get(target: T, property: PropertyKey): unknown {
    this.#lease.check('get', property);
    const value: unknown = Reflect.get(target, property, target);
    // A class is returned as is so `item.constructor === Class` keeps holding.
    if (typeof value !== 'function' || property === 'constructor') return value;
    return this.#lease.method(value as (...args: unknown[]) => unknown);
  }

  set(target: T, property: PropertyKey, value: unknown): boolean {
    this.#lease.check('set', property);
    return Reflect.set(target, property, value, target);
  }

  has(target: T, property: PropertyKey): boolean {
    this.#lease.check('has', property);
    return Reflect.has(target, property);
  }

  deleteProperty(target: T, property: PropertyKey): boolean {
    this.#lease.check('delete', property);
    return Reflect.deleteProperty(target, property);
  }

  defineProperty(target: T, property: PropertyKey, descriptor: PropertyDescriptor): boolean {
    this.#lease.check('defineProperty', property);
    return Reflect.defineProperty(target, property, descriptor);
  }

  getOwnPropertyDescriptor(target: T, property: PropertyKey): PropertyDescriptor | undefined {
    this.#lease.check('getOwnPropertyDescriptor', property);
    return Reflect.getOwnPropertyDescriptor(target, property);
  }

  ownKeys(target: T): ArrayLike<string | symbol> {
    this.#lease.check('ownKeys');
    return Reflect.ownKeys(target);
  }

  getPrototypeOf(target: T): object | null {
    this.#lease.check('getPrototypeOf');
    return Reflect.getPrototypeOf(target);
  }

  setPrototypeOf(target: T, prototype: object | null): boolean {
    this.#lease.check('setPrototypeOf');
    return Reflect.setPrototypeOf(target, prototype);
  }

  isExtensible(target: T): boolean {
    this.#lease.check('isExtensible');
    return Reflect.isExtensible(target);
  }

  preventExtensions(target: T): boolean {
    this.#lease.check('preventExtensions');
    return Reflect.preventExtensions(target);
  }
}
