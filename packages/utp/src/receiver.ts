import { PacketType, type Packet } from './packet.js';
import { MAX_REORDER_DISTANCE, ReorderBuffer } from './reorder.js';
import { seqAdd, seqDistance, seqLess } from './seq.js';

/**
 * The receive side of a uTP connection: data and FIN packets in, in-order payload out, packets
 * ahead of a gap held in the reorder buffer (and named in our selective acks), our advertised
 * window, and the end of the remote's stream. It never sends: it asks for an ack (`wantAck`) and
 * the connection sends it after the batch.
 */

export interface ReceiverEvents {
  /** In-order payload (a view of the received datagram). */
  data(payload: Buffer): void;
  /** The remote's stream ended (its FIN and everything before it arrived). */
  end(): void;
  /** An ack is owed. */
  wantAck(): void;
  /** Whether the connection closed meanwhile (a data handler may destroy it). */
  closed(): boolean;
}

export interface ReceiverOptions {
  readonly recvBufferBytes: number;
  /** Payload bytes of a full packet: the slack allowed past our window (the remote's probe). */
  readonly payloadMax: number;
  /** Bytes delivered to the application and not yet consumed (they shrink our window). */
  readonly readBuffered: () => number;
  readonly stats: { bytesReceived: number; duplicatePackets: number; droppedPackets: number };
  readonly events: ReceiverEvents;
}

/** Where a data packet with `seq` falls after the last in-order one, `ackNr`. */
export type Arrival = 'delivered' | 'too-far' | 'next' | 'ahead';

/** Classifies a packet's sequence number: a copy of one delivered, too far ahead to hold, the next one, or ahead of a gap. */
export function arrival(ackNr: number, seq: number): Arrival {
  const ahead = seqDistance(seqAdd(ackNr, 1), seq);
  if (ahead >= 0x8000) return 'delivered';
  if (ahead >= MAX_REORDER_DISTANCE) return 'too-far';
  return ahead === 0 ? 'next' : 'ahead';
}

export class Receiver {
  /** Last sequence number received in order. */
  ackNr = 0;
  private eofSeq: number | undefined;
  private ended = false;
  private readonly reorder = new ReorderBuffer();

  constructor(private readonly o: ReceiverOptions) {}

  /** Whether the remote's stream has ended (everything up to its FIN delivered). */
  get readEnded(): boolean {
    return this.ended;
  }

  /** Packets held behind a gap (an ack we send then needs a selective ack). */
  get heldPackets(): number {
    return this.reorder.size;
  }

  /** Receive-buffer space left; negative once the remote overshot it. */
  windowLeft(): number {
    return this.o.recvBufferBytes - this.o.readBuffered() - this.reorder.bytes;
  }

  /** The window our headers advertise. */
  advertisedWindow(): number {
    return Math.max(0, this.windowLeft());
  }

  /** The selective ack for our next STATE, if packets wait behind a gap. */
  sack(): Uint8Array | undefined {
    return this.ended ? undefined : this.reorder.sack(this.ackNr);
  }

  /** Forgets held packets (the connection closed). */
  clear(): void {
    this.reorder.clear();
  }

  /** A DATA or FIN packet. */
  receive(p: Packet): void {
    const { stats, events } = this.o;
    const fin = p.type === PacketType.Fin;
    if (this.ended) {
      // Everything up to the FIN was delivered; a copy of anything (their FIN included) only needs an ack.
      if (!seqLess(this.eofSeq!, p.seq)) events.wantAck();
      else stats.droppedPackets++;
      return;
    }
    if (this.eofSeq !== undefined && seqLess(this.eofSeq, p.seq)) {
      stats.droppedPackets++; // past the FIN
      return;
    }
    const where = arrival(this.ackNr, p.seq);
    if (where === 'delivered') {
      // Already delivered: our ack was lost. Say it again.
      stats.duplicatePackets++;
      events.wantAck();
      return;
    }
    if (where === 'too-far') {
      stats.droppedPackets++;
      return;
    }
    // The remote must stay inside the window we advertise; one packet of slack covers its probe.
    if (p.payload.length > this.windowLeft() + this.o.payloadMax) {
      stats.droppedPackets++;
      return;
    }
    if (fin) this.eofSeq = p.seq;
    if (where === 'ahead') {
      if (this.reorder.has(p.seq)) stats.duplicatePackets++;
      else this.reorder.put(p.seq, { payload: p.payload, fin });
      events.wantAck();
      return;
    }
    this.deliver(p.payload, fin);
    // The gap may have closed: hand over what waited behind it.
    for (let next = this.reorder.take(seqAdd(this.ackNr, 1)); next !== undefined; next = this.reorder.take(seqAdd(this.ackNr, 1))) {
      this.deliver(next.payload, next.fin);
      if (this.ended || events.closed()) break;
    }
    events.wantAck();
  }

  private deliver(payload: Buffer, fin: boolean): void {
    this.ackNr = seqAdd(this.ackNr, 1);
    if (payload.length > 0) {
      this.o.stats.bytesReceived += payload.length;
      this.o.events.data(payload);
    }
    if (fin || (this.eofSeq !== undefined && this.ackNr === this.eofSeq)) {
      this.ended = true;
      this.reorder.clear();
      this.o.events.end();
    }
  }
}
