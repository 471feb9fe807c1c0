/**
 * A FIFO queue on a power-of-two ring of slots: `push` and `shift` are O(1) and allocate
 * nothing until the ring is full, when it doubles. An array's `shift()` is O(1) only while
 * V8 can trim the array's front in place; a ring keeps that cost flat at any size, and
 * keeps the same backing store alive across millions of operations.
 *
 *          head             tail = (head + size) & mask
 *           v                v
 *   slots [ . . a b c d e f . . . . . . . . ]   mask = slots.length - 1
 *
 *   after wrapping around the end, the live items are split in two runs:
 *
 *                 tail       head
 *                  v          v
 *   slots [ n o p . . . . . . h i j k l m ]
 *
 * A slot is set back to `undefined` when its item leaves, so the queue never keeps a
 * dequeued item alive for the garbage collector.
 */
export class RingQueue<T> {
  #slots: (T | undefined)[];
  #mask: number;
  #head = 0;
  #size = 0;

  /** @param initialSlots rounded up to a power of two; the ring doubles when full. Default 8. */
  constructor(initialSlots = 8) {
    const slots = nextPowerOfTwo(Math.max(1, initialSlots));
    this.#slots = filledWithUndefined<T>(slots);
    this.#mask = slots - 1;
  }

  get length(): number {
    return this.#size;
  }

  push(item: T): void {
    if (this.#size === this.#slots.length) this.#grow();
    this.#slots[(this.#head + this.#size) & this.#mask] = item;
    this.#size++;
  }

  /** Removes and returns the oldest item, or `undefined` when the queue is empty. */
  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const head = this.#head;
    const item = this.#slots[head];
    this.#slots[head] = undefined;
    this.#head = (head + 1) & this.#mask;
    this.#size--;
    return item;
  }

  /** The oldest item without removing it, or `undefined` when the queue is empty. */
  peek(): T | undefined {
    return this.#size === 0 ? undefined : this.#slots[this.#head];
  }

  /**
   * Removes every item for which `drop` returns true, keeping the others in order; returns
   * how many were removed. O(length), for occasional compaction, not per operation.
   */
  removeWhere(drop: (item: T) => boolean): number {
    const slots = this.#slots;
    const mask = this.#mask;
    let kept = 0;
    for (let i = 0; i < this.#size; i++) {
      const item = slots[(this.#head + i) & mask] as T;
      if (drop(item)) continue;
      slots[(this.#head + kept) & mask] = item;
      kept++;
    }
    for (let i = kept; i < this.#size; i++) slots[(this.#head + i) & mask] = undefined;
    const removed = this.#size - kept;
    this.#size = kept;
    return removed;
  }

  #grow(): void {
    const old = this.#slots;
    const next = filledWithUndefined<T>(old.length * 2);
    for (let i = 0; i < this.#size; i++) next[i] = old[(this.#head + i) & this.#mask];
    this.#slots = next;
    this.#mask = next.length - 1;
    this.#head = 0;
  }
}

export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** A packed array of `undefined` (not a holey `new Array(n)`), which V8 indexes faster. */
function filledWithUndefined<T>(length: number): (T | undefined)[] {
  const slots: (T | undefined)[] = [];
  for (let i = 0; i < length; i++) slots.push(undefined);
  return slots;
}
