/**
 * LEDBAT congestion control (BEP 29, RFC 6817), in the form libtorrent runs it.
 *
 * The window grows while the queueing delay our packets see is under the target (100 ms) and
 * shrinks in proportion when it is above: per ack,
 * `gain = 3000 B × (acked / inFlight) × (target - delay) / target`, so at most 3000 bytes per
 * round trip. That is what makes uTP yield to TCP: TCP fills the bottleneck's queue, the delay
 * passes the target, and uTP backs off before any packet is lost. A new connection starts in slow
 * start (the window grows by every acked byte, doubling per round trip) until the delay reaches
 * the target or the window reaches the threshold set by the last loss. Loss halves the window, at
 * most once per 100 ms (the connection also cuts once per window of packets); a timeout drops it to one packet and
 * starts over in slow start. The window never goes below one packet (RFC 6817; BEP 29 lets it
 * reach 0 and waits for a timeout, which stalls).
 */

/** BEP 29: the queueing delay LEDBAT aims for. */
export const TARGET_DELAY_US = 100_000;
/** BEP 29 / libtorrent `utp_gain_factor`: the most the window grows in one round trip. */
export const MAX_CWND_INCREASE_BYTES_PER_RTT = 3000;
/** BEP 29 (since 2012) and libtorrent `utp_loss_multiplier`: a loss halves the window. */
export const LOSS_FACTOR = 0.5;
/** libtorrent `utp_cwnd_reduce_timer`: losses are bursty, so cut at most once in this long. */
export const LOSS_DECAY_INTERVAL_MS = 100;

export interface LedbatOptions {
  /** Payload bytes of a full packet: the floor of the window, and the slow-start unit. */
  readonly packetBytes: number;
  /** The window never grows past this (the send buffer: more could not be in flight anyway). */
  readonly maxWindowBytes: number;
  /** The starting window; default two packets (slow start doubles it from there each round trip). */
  readonly initialWindowBytes?: number;
  readonly targetDelayUs?: number;
}

export class Ledbat {
  private window: number;
  private slowStart = true;
  /** The window at which slow start ends; 0 = not yet known (no loss or delay seen). */
  private ssthresh = 0;
  private nextLossCutMs = -Infinity;
  private readonly target: number;

  constructor(private readonly opts: LedbatOptions) {
    this.window = Math.min(opts.maxWindowBytes, Math.max(opts.packetBytes, opts.initialWindowBytes ?? 2 * opts.packetBytes));
    this.target = Math.max(1, opts.targetDelayUs ?? TARGET_DELAY_US);
  }

  /** The congestion window: bytes that may be in flight. */
  get windowBytes(): number {
    return this.window;
  }

  get inSlowStart(): boolean {
    return this.slowStart;
  }

  get slowStartThresholdBytes(): number {
    return this.ssthresh;
  }

  /**
   * An ack of `ackedBytes` arrived while `inFlightBytes` were in flight (counted before the ack),
   * with `delayUs` of queueing delay measured. `saturated` says whether the sender was filling the
   * window (an application that writes slowly must not grow it without limit).
   */
  onAck(ackedBytes: number, inFlightBytes: number, delayUs: number, saturated: boolean): void {
    if (ackedBytes <= 0 || inFlightBytes <= 0) return;
    if (delayUs >= this.target && this.slowStart) {
      // Slow start doubled the window in the last round trip, and the delay only now shows it:
      // go back to the half that did not overshoot. (libtorrent keeps the whole window and lets
      // the linear decrease, 3000 B per round trip, work it down, which took minutes here: a
      // 4 MB/s link sat at twice the target delay.)
      this.window = this.clamp(this.window / 2);
      this.ssthresh = this.window;
      this.slowStart = false;
      return;
    }
    // Each ack moves the window by its share of one round trip's worth of gain.
    const windowFactor = Math.min(1, ackedBytes / inFlightBytes);
    // A wildly late sample (a bogus timestamp) must not slam the window shut in one ack.
    const delayFactor = Math.max(-1, (this.target - delayUs) / this.target);
    const linear = MAX_CWND_INCREASE_BYTES_PER_RTT * windowFactor * delayFactor;
    let gain = 0;
    if (saturated) {
      gain = linear;
      if (this.slowStart) {
        if (this.ssthresh !== 0 && this.window + ackedBytes > this.ssthresh) this.slowStart = false;
        else gain = Math.max(ackedBytes, linear);
      }
    }
    this.window = this.clamp(this.window + gain);
  }

  /** A packet sent at or after the last cut was lost (fast retransmit or selective ack). */
  onLoss(nowMs: number): void {
    if (nowMs < this.nextLossCutMs) return;
    this.nextLossCutMs = nowMs + LOSS_DECAY_INTERVAL_MS;
    this.window = this.clamp(this.window * LOSS_FACTOR);
    if (this.slowStart) {
      this.ssthresh = this.window;
      this.slowStart = false;
    }
  }

  /**
   * The retransmission timer expired with packets in flight: the path is in trouble. One packet,
   * and slow start again (up to the threshold the last loss set).
   */
  onTimeout(): void {
    this.window = this.opts.packetBytes;
    this.slowStart = true;
  }

  private clamp(w: number): number {
    return Math.min(this.opts.maxWindowBytes, Math.max(this.opts.packetBytes, w));
  }
}
