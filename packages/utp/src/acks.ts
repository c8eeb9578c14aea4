import { DUPLICATE_ACKS_BEFORE_RESEND, MAX_FAST_RESENDS_PER_ACK, sackedSeqs, sackLosses } from './loss.js';
import { PacketType, type Packet } from './packet.js';
import type { OutPacket, SendWindow } from './send-buffer.js';
import { seqAdd, seqLess } from './seq.js';

/**
 * An incoming ack applied to the send window: the packets it acks (cumulatively, and selectively
 * through a SACK) leave the window, and what the connection must do about it comes back: RTT
 * samples, the bytes for LEDBAT, the duplicate-ack count, and the packets to resend at once.
 */

export interface AckOutcome {
  /** Packets newly acked. */
  readonly packets: number;
  /** Their payload bytes. */
  readonly bytes: number;
  /** Round-trip samples (ms) of the acked packets that were sent once (Karn's rule: a resent one cannot tell which copy was acked). */
  readonly rttSamplesMs: readonly number[];
  /** The cumulative ack moved forward. */
  readonly progressed: boolean;
  /** Duplicate acks in a row now (0 after progress). */
  readonly dupAcks: number;
  /** Packets to resend now (fast retransmit), oldest first; none of them resent this way before. */
  readonly resend: readonly OutPacket[];
}

export function applyAck(window: SendWindow, p: Pick<Packet, 'type' | 'ack' | 'sack'>, dupAcksBefore: number, nowMs: number): AckOutcome {
  let packets = 0;
  let bytes = 0;
  const rttSamplesMs: number[] = [];
  const acked = (q: OutPacket | undefined): void => {
    if (q === undefined) return;
    packets++;
    bytes += q.payloadBytes;
    if (q.transmissions === 1) rttSamplesMs.push(nowMs - q.sentAtMs);
  };
  let dupAcks = dupAcksBefore;
  const progressed = window.outstanding(p.ack);
  if (progressed) {
    for (let s = window.base; ; s = seqAdd(s, 1)) {
      acked(window.ack(s));
      if (s === p.ack) break;
    }
    window.advance();
    dupAcks = 0;
  } else if (p.type === PacketType.State && p.ack === seqAdd(window.base, -1) && window.count > 0 && p.sack === undefined) {
    // The same ack again while we have packets out: the one after it may be lost. Only STATE
    // packets count: a data packet repeats its ack merely because it carries new data (libutp).
    dupAcks++;
  }
  let resend: OutPacket[] = [];
  if (p.sack !== undefined && window.count > 0) {
    // A selective ack: packets it names are acked; a packet still missing with three or more
    // acked packets after it is lost and resent at once (at most four per ack, each only once).
    for (const seq of sackedSeqs(p.ack, p.sack)) if (window.outstanding(seq)) acked(window.ack(seq));
    window.advance();
    resend = sackLosses(p.ack, p.sack, (seq) => window.outstanding(seq) || seqLess(seq, window.next))
      .map((seq) => window.get(seq))
      .filter((q): q is OutPacket => q !== undefined && !q.fastResent)
      // Oldest first: the head of the line blocks the receiver.
      .slice(0, MAX_FAST_RESENDS_PER_ACK);
  } else if (dupAcks >= DUPLICATE_ACKS_BEFORE_RESEND) {
    const head = window.get(window.base);
    if (head !== undefined && !head.fastResent) resend = [head];
  }
  return { packets, bytes, rttSamplesMs, progressed, dupAcks, resend };
}
