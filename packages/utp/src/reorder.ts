import { MAX_SACK_BYTES, SACK_WORD_BYTES } from './packet.js';
import { seqAdd, seqDistance } from './seq.js';

/**
 * Packets that arrived ahead of a gap, held until the gap fills, and the selective ack that tells
 * the sender which ones we have.
 */

/**
 * How far past the next expected packet we accept one (packets). libutp drops anything 1024 or
 * more ahead: buffer space must not be handed out on an untrusted sequence number alone.
 */
export const MAX_REORDER_DISTANCE = 1024;

/** libtorrent sends at most 32 bytes of selective ack (256 packets past the gap). */
export const SACK_MAX_BYTES_SENT = 32;

export interface HeldPacket {
  readonly payload: Buffer;
  /** A FIN: the stream ends after this packet's payload. */
  readonly fin: boolean;
}

export class ReorderBuffer {
  private readonly held = new Map<number, HeldPacket>();
  private total = 0;

  get size(): number {
    return this.held.size;
  }

  /** Payload bytes held. */
  get bytes(): number {
    return this.total;
  }

  has(seq: number): boolean {
    return this.held.has(seq);
  }

  put(seq: number, p: HeldPacket): void {
    if (this.held.has(seq)) return;
    this.held.set(seq, p);
    this.total += p.payload.length;
  }

  /** Removes and returns the packet at `seq`, if held. */
  take(seq: number): HeldPacket | undefined {
    const p = this.held.get(seq);
    if (p === undefined) return undefined;
    this.held.delete(seq);
    this.total -= p.payload.length;
    return p;
  }

  clear(): void {
    this.held.clear();
    this.total = 0;
  }

  /**
   * The selective-ack mask for `ackNr` (BEP 29): bit `i` set when packet `ackNr + 2 + i` is held.
   * Undefined when nothing is held. Whole 32-bit words, at most `SACK_MAX_BYTES_SENT` bytes.
   */
  sack(ackNr: number): Uint8Array | undefined {
    if (this.held.size === 0) return undefined;
    const first = seqAdd(ackNr, 2);
    const maxBits = Math.min(SACK_MAX_BYTES_SENT, MAX_SACK_BYTES) * 8;
    let highest = -1;
    for (const seq of this.held.keys()) {
      const i = seqDistance(first, seq);
      if (i < maxBits && i > highest) highest = i;
    }
    if (highest < 0) return undefined;
    const bytes = Math.ceil((highest + 1) / (SACK_WORD_BYTES * 8)) * SACK_WORD_BYTES;
    const mask = new Uint8Array(bytes);
    for (const seq of this.held.keys()) {
      const i = seqDistance(first, seq);
      if (i < bytes * 8) mask[i >> 3]! |= 1 << (i & 7);
    }
    return mask;
  }
}
