import { invariant } from './errors.js';
import type { PacketType } from './packet.js';
import { seqAdd, seqDistance } from './seq.js';

/**
 * Packets sent and not yet acked, by sequence number (a ring indexed by `seq & mask`), and the
 * bytes written by the application that are not yet in a packet.
 */

/**
 * Packets that may be unacked at once. libutp's outgoing buffer holds 1024; with 1380-byte
 * payloads that is about 1.4 MB in flight, more than a 1 MiB receive window takes.
 */
export const MAX_PACKETS_IN_FLIGHT = 1023;
const RING_SIZE = 1024;

export interface OutPacket {
  readonly type: PacketType;
  readonly seq: number;
  /** The whole packet as sent (header rewritten in place on each retransmission). */
  readonly buf: Buffer;
  readonly payloadBytes: number;
  /** Clock ms of the latest transmission. */
  sentAtMs: number;
  transmissions: number;
  /** Declared lost (timeout): not counted in flight until sent again. */
  needResend: boolean;
  /** Already resent once by fast retransmit (three duplicate or selective acks); not again. */
  fastResent: boolean;
}

export class SendWindow {
  private readonly ring = new Array<OutPacket | undefined>(RING_SIZE);
  /** Oldest sequence number not yet acked (== next when nothing is outstanding). */
  private baseSeq: number;
  private nextSeq: number;
  private bytes = 0;
  private lost = 0;

  constructor(firstSeq: number) {
    this.baseSeq = firstSeq;
    this.nextSeq = firstSeq;
  }

  /** The sequence number the next packet gets. */
  get next(): number {
    return this.nextSeq;
  }

  /** The oldest unacked sequence number. */
  get base(): number {
    return this.baseSeq;
  }

  /** Packets between base and next (acked-out-of-order ones included until base passes them). */
  get count(): number {
    return seqDistance(this.baseSeq, this.nextSeq);
  }

  get full(): boolean {
    return this.count >= MAX_PACKETS_IN_FLIGHT;
  }

  /** Packets declared lost and not yet sent again. */
  get lostCount(): number {
    return this.lost;
  }

  /** Payload bytes sent and neither acked nor declared lost. */
  get inFlightBytes(): number {
    return this.bytes;
  }

  /** Whether `seq` is in [base, next): sent, possibly acked by a selective ack since. */
  outstanding(seq: number): boolean {
    return seqDistance(this.baseSeq, seq) < this.count;
  }

  get(seq: number): OutPacket | undefined {
    return this.outstanding(seq) ? this.ring[seq & (RING_SIZE - 1)] : undefined;
  }

  /** Assigns the next sequence number to a packet that is about to be sent. */
  add(p: OutPacket): void {
    // Checked before building a message: this runs once per packet.
    if (p.seq !== this.nextSeq) invariant(false, `packet ${p.seq} added at ${this.nextSeq}`);
    if (this.full) invariant(false, 'send window is full');
    this.ring[p.seq & (RING_SIZE - 1)] = p;
    this.nextSeq = seqAdd(this.nextSeq, 1);
  }

  /** Counts a (re)transmission of `p` in flight. */
  sent(p: OutPacket, nowMs: number): void {
    if (p.transmissions === 0 || p.needResend) this.bytes += p.payloadBytes;
    if (p.needResend) this.lost--;
    p.needResend = false;
    p.transmissions++;
    p.sentAtMs = nowMs;
  }

  /** Removes an acked packet; returns it if it was still here. */
  ack(seq: number): OutPacket | undefined {
    const p = this.get(seq);
    if (p === undefined) return undefined;
    this.ring[seq & (RING_SIZE - 1)] = undefined;
    if (p.needResend) this.lost--;
    else this.bytes -= p.payloadBytes;
    return p;
  }

  /** Moves base past packets already acked (selectively or cumulatively); returns how far it moved. */
  advance(): number {
    let moved = 0;
    while (this.baseSeq !== this.nextSeq && this.ring[this.baseSeq & (RING_SIZE - 1)] === undefined) {
      this.baseSeq = seqAdd(this.baseSeq, 1);
      moved++;
    }
    return moved;
  }

  /** Declares every packet in flight lost (a timeout): they are sent again as the window allows. */
  markAllLost(): void {
    for (let s = this.baseSeq; s !== this.nextSeq; s = seqAdd(s, 1)) {
      const p = this.ring[s & (RING_SIZE - 1)];
      if (p === undefined || p.needResend) continue;
      p.needResend = true;
      this.lost++;
      this.bytes -= p.payloadBytes;
    }
  }

  /** The oldest packet waiting to be resent, if any. */
  firstLost(): OutPacket | undefined {
    for (let s = this.baseSeq; s !== this.nextSeq; s = seqAdd(s, 1)) {
      const p = this.ring[s & (RING_SIZE - 1)];
      if (p !== undefined && p.needResend) return p;
    }
    return undefined;
  }

  /** Drops everything (the connection closed). */
  clear(): void {
    this.ring.fill(undefined);
    this.baseSeq = this.nextSeq;
    this.bytes = 0;
    this.lost = 0;
  }
}

/**
 * Carves packet buffers out of larger slabs: one allocation per ~180 packets instead of one per
 * packet. A slab is freed once every packet cut from it is acked and dropped.
 */
const SLAB_BYTES = 256 * 1024;

export class PacketAllocator {
  private slab: Buffer = Buffer.allocUnsafeSlow(0);
  private used = 0;

  take(n: number): Buffer {
    if (this.used + n > this.slab.length) {
      this.slab = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, n));
      this.used = 0;
    }
    const b = this.slab.subarray(this.used, this.used + n);
    // Keep the next packet 8-byte aligned (cheaper copies).
    this.used += (n + 7) & ~7;
    return b;
  }
}

/** Bytes the application wrote that are not in a packet yet (kept as the caller's chunks, no copy). */
export class WriteQueue {
  private chunks: Buffer[] = [];
  private head = 0;
  private offset = 0;
  private total = 0;

  get bytes(): number {
    return this.total;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** Copies the next `n` bytes (n ≤ bytes) into `into` at `at`, and drops them from the queue. */
  take(n: number, into: Buffer, at: number): void {
    if (n > this.total) invariant(false, `take ${n} of ${this.total} queued bytes`);
    let left = n;
    let pos = at;
    while (left > 0) {
      const c = this.chunks[this.head]!;
      const k = Math.min(left, c.length - this.offset);
      c.copy(into, pos, this.offset, this.offset + k);
      pos += k;
      left -= k;
      this.offset += k;
      if (this.offset === c.length) {
        this.head++;
        this.offset = 0;
      }
    }
    this.total -= n;
    // Compact now and then so the array does not grow for ever on a long connection.
    if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.offset = 0;
    this.total = 0;
  }
}
