import { WireError } from './errors.js';

/** Set bits per byte value, for counting a peer's bitfield in one pass. */
const POPCOUNT = new Uint8Array(256);
for (let i = 1; i < 256; i++) POPCOUNT[i] = (i & 1) + POPCOUNT[i >> 1]!;

/** Bytes needed for `pieceCount` bits (BEP 3: high bit of byte 0 is piece 0). */
export function bitfieldBytes(pieceCount: number): number {
  return Math.ceil(pieceCount / 8);
}

/**
 * Checks a peer's bitfield payload against the piece count: exact size and no spare bits set
 * (BEP 3: "Clients should drop the connection if they receive bitfields that are not of the
 * correct size, or if the bitfield has any of the spare bits set").
 */
export function checkWireBitfield(bytes: Uint8Array, pieceCount: number): void {
  const want = bitfieldBytes(pieceCount);
  if (bytes.length !== want) {
    throw new WireError('WIRE_BAD_BITFIELD', `bitfield is ${bytes.length} bytes, ${want} expected for ${pieceCount} pieces`, {
      value: bytes.length,
      limit: want,
    });
  }
  const spare = want * 8 - pieceCount;
  if (spare > 0 && (bytes[want - 1]! & ((1 << spare) - 1)) !== 0) {
    throw new WireError('WIRE_BAD_BITFIELD', 'bitfield has spare bits set past the last piece', { value: pieceCount });
  }
}

/** A have-set over a torrent's pieces, with the count kept up to date as bits change. */
export class Bitfield {
  readonly pieceCount: number;
  private readonly bits: Uint8Array;
  private setCount: number;

  constructor(pieceCount: number) {
    if (!Number.isSafeInteger(pieceCount) || pieceCount < 0) {
      throw new WireError('WIRE_BAD_ARGUMENT', `piece count must be a non-negative integer, got ${pieceCount}`);
    }
    this.pieceCount = pieceCount;
    this.bits = new Uint8Array(bitfieldBytes(pieceCount));
    this.setCount = 0;
  }

  /** A peer's bitfield message, checked for size and spare bits (copied: the message may be a view). */
  static fromWire(bytes: Uint8Array, pieceCount: number): Bitfield {
    checkWireBitfield(bytes, pieceCount);
    const bf = new Bitfield(pieceCount);
    bf.bits.set(bytes);
    let n = 0;
    for (let i = 0; i < bytes.length; i++) n += POPCOUNT[bytes[i]!]!;
    bf.setCount = n;
    return bf;
  }

  /** Every piece set: what a have-all (BEP 6) means. */
  static full(pieceCount: number): Bitfield {
    const bf = new Bitfield(pieceCount);
    bf.setAll();
    return bf;
  }

  /** Number of pieces set. O(1). */
  get count(): number {
    return this.setCount;
  }

  get isComplete(): boolean {
    return this.setCount === this.pieceCount;
  }

  get isEmpty(): boolean {
    return this.setCount === 0;
  }

  private check(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.pieceCount) {
      throw new WireError('WIRE_HAVE_OUT_OF_RANGE', `piece ${index} is outside 0..${this.pieceCount - 1}`, {
        value: index,
        limit: this.pieceCount,
      });
    }
  }

  has(index: number): boolean {
    if (!Number.isInteger(index) || index < 0 || index >= this.pieceCount) return false;
    return (this.bits[index >> 3]! & (0x80 >> (index & 7))) !== 0;
  }

  /** Sets a piece; returns whether it was newly set. Throws WIRE_HAVE_OUT_OF_RANGE for a bad index. */
  set(index: number): boolean {
    this.check(index);
    const mask = 0x80 >> (index & 7);
    const byte = this.bits[index >> 3]!;
    if ((byte & mask) !== 0) return false;
    this.bits[index >> 3] = byte | mask;
    this.setCount++;
    return true;
  }

  /** Clears a piece; returns whether it was set. */
  clear(index: number): boolean {
    this.check(index);
    const mask = 0x80 >> (index & 7);
    const byte = this.bits[index >> 3]!;
    if ((byte & mask) === 0) return false;
    this.bits[index >> 3] = byte & ~mask;
    this.setCount--;
    return true;
  }

  setAll(): void {
    this.bits.fill(0xff);
    const spare = this.bits.length * 8 - this.pieceCount;
    if (spare > 0) this.bits[this.bits.length - 1] = (0xff << spare) & 0xff;
    this.setCount = this.pieceCount;
  }

  clearAll(): void {
    this.bits.fill(0);
    this.setCount = 0;
  }

  /** The wire form (a copy), spare bits zero. */
  toBuffer(): Buffer {
    return Buffer.from(this.bits);
  }

  /** Indices of set pieces, ascending. Skips zero bytes, so sparse sets are cheap. */
  *indices(): IterableIterator<number> {
    for (let i = 0; i < this.bits.length; i++) {
      const byte = this.bits[i]!;
      if (byte === 0) continue;
      for (let b = 0; b < 8; b++) if ((byte & (0x80 >> b)) !== 0) yield i * 8 + b;
    }
  }

  clone(): Bitfield {
    return Bitfield.fromWire(this.bits, this.pieceCount);
  }
}
