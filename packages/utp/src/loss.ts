import { sackHas } from './packet.js';
import { seqAdd, seqLess } from './seq.js';

/**
 * The sender's pure decisions about acks and loss (BEP 29, libutp): which packets a selective
 * ack names, which holes it shows lost, whether a RESET really answers our packets, and whether
 * the windows let a packet go. The connection applies them to its send window.
 */

/** BEP 29: three duplicate acks, or three selectively acked packets past a hole, mean loss. */
export const DUPLICATE_ACKS_BEFORE_RESEND = 3;
/** libutp resends at most four holes per selective ack, so one ack cannot trigger a burst. */
export const MAX_FAST_RESENDS_PER_ACK = 4;

/** The sequence numbers a selective ack names: bit i of the mask is `ack + 2 + i` (`ack + 1` is the hole it reports). */
export function sackedSeqs(ack: number, mask: Uint8Array): number[] {
  const first = seqAdd(ack, 2);
  const out: number[] = [];
  for (let i = 0; i < mask.length * 8; i++) if (sackHas(mask, i)) out.push(seqAdd(first, i));
  return out;
}

/**
 * The holes a selective ack shows lost, oldest first: `ack + 1` and every seq the mask leaves
 * out that has DUPLICATE_ACKS_BEFORE_RESEND or more named seqs above it. A named seq counts only
 * when `counts(seq)` (we really sent it: a peer cannot invent acks to force resends).
 */
export function sackLosses(ack: number, mask: Uint8Array, counts: (seq: number) => boolean): number[] {
  const first = seqAdd(ack, 2);
  const lost: number[] = [];
  let above = 0;
  // Walk down from the highest bit counting acked packets seen above each hole.
  for (let i = mask.length * 8 - 1; i >= -1; i--) {
    const seq = seqAdd(first, i);
    if (i >= 0 && sackHas(mask, i)) {
      if (counts(seq)) above++;
      continue;
    }
    if (above >= DUPLICATE_ACKS_BEFORE_RESEND) lost.push(seq);
  }
  return lost.reverse();
}

/**
 * Whether a RESET's ack number fits our connection: a genuine RESET acks what the remote received
 * of ours, at least everything it acked before (`base - 1`), at most the seq our STATEs carry
 * (`next`). Anything else is a blind guess at our connection (libtorrent checks only the upper bound).
 */
export function plausibleResetAck(base: number, next: number, ack: number): boolean {
  return !seqLess(next, ack) && !seqLess(ack, seqAdd(base, -1));
}

/** Whether an ack names a packet we never sent (spoofed, or a broken peer: libutp and libtorrent drop it). */
export function acksUnsent(next: number, ack: number): boolean {
  return seqLess(seqAdd(next, -1), ack);
}

/**
 * Whether a packet of `payloadBytes` may go out now: it fits both the congestion window and the
 * remote's receive window; or nothing is in flight, since one packet may always be out or nothing
 * ever would be (the window floor is one packet), except into a zero receive window, which waits
 * for an update or the probe timer (`zeroWindowProbe`).
 */
export function mayTransmit(
  inFlightBytes: number,
  payloadBytes: number,
  congestionWindowBytes: number,
  peerWindowBytes: number,
  zeroWindowProbe: boolean,
): boolean {
  if (inFlightBytes + payloadBytes <= Math.min(congestionWindowBytes, peerWindowBytes)) return true;
  return inFlightBytes === 0 && (peerWindowBytes > 0 || zeroWindowProbe);
}
