/**
 * Byte arrays cut from shared slabs instead of each getting an ArrayBuffer of its own.
 *
 *   slab: [region A][region B][region C][ free ..................]
 *                                       ^ offset
 *
 * Creating an ArrayBuffer costs far more than a view on an existing one: for 256 bytes, about
 * 700 to 850 ns against 170 ns cut from a 2 KiB slab (Node 20, both kept alive for a while,
 * so the collector's freeing is counted too). At one or two per message, that was a tenth of
 * the server's time per publish. Node's `Buffer.allocUnsafe` pool works the same way, but is
 * not available in browsers and its 8 KiB slabs are larger than kept bytes should pin.
 *
 * A region is handed out once and never written again by the slab; a new slab is zeroed, so
 * no old bytes can leak and every region starts zeroed. A region that is kept keeps its whole
 * slab alive: the slab size bounds what one kept region can cost, and regions larger than
 * `maxRegionBytes` get a buffer of their own.
 */
export class ByteSlab {
  readonly #slabBytes: number;
  readonly #minRegionBytes: number;
  readonly #maxRegionBytes: number;
  #slab: ArrayBuffer;
  #offset = 0;

  /** Regions of `minRegionBytes` to `maxRegionBytes` come from slabs; others get buffers of their own. */
  constructor(slabBytes: number, minRegionBytes: number, maxRegionBytes: number) {
    if (![slabBytes, minRegionBytes, maxRegionBytes].every((n) => Number.isSafeInteger(n) && n >= 0)) {
      throw new RangeError('slab and region sizes must be integers >= 0');
    }
    if (maxRegionBytes > slabBytes) throw new RangeError('a region cannot be larger than its slab');
    this.#slabBytes = slabBytes;
    this.#minRegionBytes = minRegionBytes;
    this.#maxRegionBytes = maxRegionBytes;
    this.#slab = new ArrayBuffer(slabBytes);
  }

  /** A zeroed array of `size` bytes, which may share its ArrayBuffer with other regions. */
  allocate(size: number): Uint8Array {
    if (size < this.#minRegionBytes || size > this.#maxRegionBytes) return new Uint8Array(size);
    if (this.#offset + size > this.#slabBytes) {
      this.#slab = new ArrayBuffer(this.#slabBytes);
      this.#offset = 0;
    }
    const region = new Uint8Array(this.#slab, this.#offset, size);
    // 8-byte aligned, so a consumer may lay a DataView or a Float64Array over a region.
    this.#offset += (size + 7) & ~7;
    return region;
  }

  /** A copy of `bytes` in a region of its own. */
  copy(bytes: Uint8Array): Uint8Array {
    const region = this.allocate(bytes.length);
    region.set(bytes);
    return region;
  }
}

/**
 * Bytes that may be kept for long: states a store or a replica holds, entries a server shares
 * among subscribers. Small slabs (2 KiB), so a kept region pins at most 2 KiB; regions up to
 * 512 bytes, so at least four share a slab. Regions of 64 bytes or less are left to V8, which
 * keeps typed arrays that small inside its own heap: cheaper still, and nothing pinned.
 */
const KEPT = new ByteSlab(2 * 1024, 65, 512);

/** A zeroed array of `size` bytes meant to be kept; see `KEPT`. */
export function allocateKept(size: number): Uint8Array {
  return KEPT.allocate(size);
}

/** A copy of `bytes` meant to be kept (so it no longer pins the buffer `bytes` is a view into). */
export function copyKept(bytes: Uint8Array): Uint8Array {
  return KEPT.copy(bytes);
}
