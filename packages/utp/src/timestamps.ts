import { DelayHistory } from './delay.js';
import type { Packet } from './packet.js';
import { timeDistance, timeLess } from './seq.js';

/**
 * BEP 29's timestamp fields: every packet carries the sender's clock and the sender's latest
 * one-way delay sample of the other side's packets. From them a connection learns the queueing
 * delay its own packets see (what LEDBAT steers by) and the sample it echoes back.
 */

/** uTorrent sometimes sends an uninitialised timestamp difference as INT_MAX (libtorrent's comment). */
export const BOGUS_DELAY_US = 0x7fffffff;
/** Clock adjustment from the remote's base delay falling, at most (libutp: larger means trouble). */
export const MAX_SKEW_SHIFT_US = 10_000;

/** A clock reading (ms) as a header timestamp: µs modulo 2^32, never 0 (0 means "no timestamp" to the remote, and libtorrent skips such samples). */
export function timestampUs(nowMs: number): number {
  return Math.floor(nowMs * 1000) >>> 0 || 1;
}

export class OneWayDelays {
  /** Our latest one-way delay sample of the remote's packets, sent back in every header. */
  replyMicro = 0;
  /** The queueing delay our packets see, from the samples the remote echoes. */
  readonly ours: DelayHistory;
  /** The delay the remote's packets see; its base falling means the clocks drift apart. */
  readonly theirs: DelayHistory;

  constructor(nowMs: number) {
    this.ours = new DelayHistory(nowMs);
    this.theirs = new DelayHistory(nowMs);
  }

  /** Records both one-way delay samples a packet gives us. */
  note(p: Pick<Packet, 'timestampUs' | 'timestampDiffUs'>, nowMs: number): void {
    if (p.timestampUs !== 0) {
      this.replyMicro = timeDistance(p.timestampUs, timestampUs(nowMs));
      const prevBase = this.theirs.hasSamples ? this.theirs.baseUs : undefined;
      this.theirs.add(this.replyMicro, nowMs);
      // Their base fell: their clock runs slow against ours, so our samples drift up. Follow it.
      if (prevBase !== undefined && timeLess(this.theirs.baseUs, prevBase)) {
        const fell = timeDistance(this.theirs.baseUs, prevBase);
        if (fell <= MAX_SKEW_SHIFT_US && this.ours.hasSamples) this.ours.shift(fell);
      }
    }
    if (p.timestampDiffUs !== 0 && p.timestampDiffUs !== BOGUS_DELAY_US) this.ours.add(p.timestampDiffUs, nowMs);
  }
}
