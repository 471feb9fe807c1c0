/** Request ids wrap back to 1 past this (a uint64 on the wire; kept to at most five varint bytes). */
export const MAX_REQUEST_ID = 0x7fffffff;
/** Slots to begin with; a power of two, doubled whenever half of them are taken. */
const INITIAL_SLOTS = 64;

/** What the table holds: anything that remembers the request id it was given. */
export interface InFlightEntry {
  requestId: number;
}

/**
 * The publishes sent on a connection and not yet answered, by request id. Ids are handed out
 * in rising order and each lives in slot `id & mask` of a power-of-two array; an id whose slot
 * is still taken (an older publish not answered yet) is skipped. The array doubles when half
 * full, so a free slot is always near, and ids that were apart in the old array stay apart.
 *
 *   ids 17 to 20 sent, 19 answered (8 slots, mask 7):  [ .  17 18  .  20  .  .  . ]
 *   21 sent, into slot 21 & 7 = 5:                     [ .  17 18  .  20 21  .  . ]
 *   ids go round: 25 would land in 17's slot while 17 is unanswered, so 25 is skipped.
 *
 * Why not a `Map`: a Map that gains and loses an entry per publish is rebuilt once per
 * capacity's worth of adds, and V8 leaves the old table holding its entries (and a link to its
 * replacement, for iterators). An old table that had reached the old generation keeps those
 * publishes (their frames, their states' bytes, their promises) alive through every scavenge
 * until the next full collection. Here a slot is overwritten in place when its publish is
 * answered. In a publisher sending 10,000 messages/s to a server (nothing subscribed), the Map
 * kept 550 to 600 KB alive through each scavenge, with 1.3 to 3.9 ms pauses; this table 1.7 KB,
 * with 0.3 to 0.5 ms. In the `latency` benchmark's publishing thread: 1.2 to 1.4 MB and 2.4 to
 * 6.2 ms with the Map, 2 to 4 KB and 0.5 to 1.2 ms with this table.
 */
export class InFlightTable<E extends InFlightEntry> {
  #slots: (E | undefined)[] = new Array<E | undefined>(INITIAL_SLOTS).fill(undefined);
  #mask = INITIAL_SLOTS - 1;
  #size = 0;
  #nextId: number;

  /** `firstId`: the first id handed out, 1 to `MAX_REQUEST_ID` (tests start near the wrap). */
  constructor(firstId = 1) {
    this.#nextId = firstId;
  }

  get size(): number {
    return this.#size;
  }

  /** Gives `entry` the next free request id (written to `entry.requestId`) and holds it. */
  add(entry: E): number {
    if (2 * (this.#size + 1) > this.#slots.length) this.#grow();
    let id = this.#nextId;
    while (this.#slots[id & this.#mask] !== undefined) id = id >= MAX_REQUEST_ID ? 1 : id + 1;
    this.#nextId = id >= MAX_REQUEST_ID ? 1 : id + 1;
    entry.requestId = id;
    this.#slots[id & this.#mask] = entry;
    this.#size++;
    return id;
  }

  /** Removes and returns the entry of `requestId`, or undefined when none is held. */
  take(requestId: number): E | undefined {
    const slot = requestId & this.#mask;
    const entry = this.#slots[slot];
    if (entry === undefined || entry.requestId !== requestId) return undefined;
    this.#slots[slot] = undefined;
    this.#size--;
    return entry;
  }

  /** Removes every entry and returns them in the order their ids were handed out, oldest first. */
  takeAll(): E[] {
    const entries = this.#slots.filter((entry): entry is E => entry !== undefined);
    const newest = this.#nextId - 1;
    entries.sort((a, b) => age(b.requestId, newest) - age(a.requestId, newest));
    this.#slots.fill(undefined);
    this.#size = 0;
    return entries;
  }

  #grow(): void {
    const old = this.#slots;
    this.#slots = new Array<E | undefined>(old.length * 2).fill(undefined);
    this.#mask = this.#slots.length - 1;
    // Ids apart under the old mask are apart under the new one (it has one more bit).
    for (const entry of old) if (entry !== undefined) this.#slots[entry.requestId & this.#mask] = entry;
    // The old array may be in the old generation already: emptied, it keeps no publish alive.
    old.fill(undefined);
  }
}

/** How many ids before `newest` `id` was handed out, across the wrap from MAX_REQUEST_ID to 1. */
function age(id: number, newest: number): number {
  return id <= newest ? newest - id : newest + MAX_REQUEST_ID - id;
}
