/**
 * The storage behind a pool: where idle items wait. Pools talk to this interface only, so the
 * aging policy can change without touching them.
 */
export interface FreeList<T> {
  /** Items held now, all generations. */
  readonly size: number;
  /** Stores an idle item stamped with the time it came back. */
  push(item: T, now: number): void;
  /** Takes the most recently stored item of the primary generation, or undefined. */
  popPrimary(): T | undefined;
  /** Takes an item that survived one aging step, or undefined. */
  popVictim(): T | undefined;
  /** One aging step: drops the victims, primary becomes victim. Returns how many were dropped. */
  age(): number;
  /** Drops everything; returns how many were dropped. */
  clear(): number;
  /** Mean of `now - stamp` over the held items; 0 when empty. */
  meanAge(now: number): number;
}

/**
 * Two generations, as Go's sync.Pool keeps them:
 *
 *   push ──► primary [a b c]     age() ──►  primary []         age() ──►  primary []
 *            victim  [x y]                  victim  [a b c]               victim  []
 *                                           (x y dropped)                 (a b c dropped)
 *
 * An item not taken through two aging steps is gone, so an idle pool returns its memory.
 * Each generation is a LIFO stack (the warmest item first) on a plain array with a parallel
 * array of stamps; `push`/`pop` allocate nothing once the arrays have grown. The sum of stamps
 * is kept so the mean age costs O(1).
 */
export class GenerationalFreeList<T> implements FreeList<T> {
  #primary: T[] = [];
  #primaryStamps: number[] = [];
  #victim: T[] = [];
  #victimStamps: number[] = [];
  #stampSum = 0;

  get size(): number {
    return this.#primary.length + this.#victim.length;
  }

  push(item: T, now: number): void {
    this.#primary.push(item);
    this.#primaryStamps.push(now);
    this.#stampSum += now;
  }

  popPrimary(): T | undefined {
    const item = this.#primary.pop();
    if (item !== undefined) this.#forget(this.#primaryStamps.pop()!);
    return item;
  }

  popVictim(): T | undefined {
    const item = this.#victim.pop();
    if (item !== undefined) this.#forget(this.#victimStamps.pop()!);
    return item;
  }

  age(): number {
    const dropped = this.#victim.length;
    const emptied = this.#victim;
    const emptiedStamps = this.#victimStamps;
    // Setting length to 0 releases the references, so the dropped items can be collected.
    emptied.length = 0;
    emptiedStamps.length = 0;
    this.#victim = this.#primary;
    this.#victimStamps = this.#primaryStamps;
    this.#primary = emptied;
    this.#primaryStamps = emptiedStamps;
    // Recomputed rather than adjusted so rounding error cannot build up over a long run.
    let sum = 0;
    for (const stamp of this.#victimStamps) sum += stamp;
    this.#stampSum = sum;
    return dropped;
  }

  clear(): number {
    const dropped = this.size;
    this.#primary.length = 0;
    this.#primaryStamps.length = 0;
    this.#victim.length = 0;
    this.#victimStamps.length = 0;
    this.#stampSum = 0;
    return dropped;
  }

  meanAge(now: number): number {
    const n = this.size;
    return n === 0 ? 0 : Math.max(0, now - this.#stampSum / n);
  }

  #forget(stamp: number): void {
    this.#stampSum = this.size === 0 ? 0 : this.#stampSum - stamp;
  }
}
