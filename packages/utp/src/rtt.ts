/**
 * Round-trip time and the retransmission timeout (BEP 29, as libutp and libtorrent apply it).
 *
 * Samples come only from packets acked after their first transmission (Karn's rule: an ack of a
 * resent packet does not say which copy it answers). The first sample sets `rtt = s` and
 * `rttVar = s / 2`; later ones move `rttVar` a quarter and `rtt` an eighth of the way:
 * `rttVar += (|rtt - s| - rttVar) / 4`, `rtt += (s - rtt) / 8`. The timeout is
 * `max(rtt + 4 rttVar, 500 ms)` and doubles after each timeout in a row, up to a minute.
 */

/** BEP 29: the timeout never goes below half a second. */
export const MIN_RTO_MS = 500;
/** libtorrent caps its packet timeout at a minute; doubling past that only delays giving up. */
export const MAX_RTO_MS = 60_000;
/** Before any sample (a SYN's, or data before the first ack): libutp and libtorrent both start at a second or more. */
export const INITIAL_RTO_MS = 1_000;

export class RttEstimator {
  private rtt = 0;
  private rttVar = 0;
  private samples = 0;
  private backoffs = 0;

  constructor(private readonly initialRtoMs = INITIAL_RTO_MS) {}

  /** Adds a round-trip sample in milliseconds (negative or non-finite ones are ignored). */
  sample(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    if (this.samples === 0) {
      this.rtt = ms;
      this.rttVar = ms / 2;
    } else {
      this.rttVar += (Math.abs(this.rtt - ms) - this.rttVar) / 4;
      this.rtt += (ms - this.rtt) / 8;
    }
    this.samples++;
  }

  /** Smoothed round trip, ms (0 before the first sample). */
  get rttMs(): number {
    return this.rtt;
  }

  get rttVarMs(): number {
    return this.rttVar;
  }

  get sampleCount(): number {
    return this.samples;
  }

  /** The timeout without back-off: `max(rtt + 4 rttVar, 500)`, or the initial timeout before any sample. */
  get baseTimeoutMs(): number {
    if (this.samples === 0) return this.initialRtoMs;
    return Math.min(MAX_RTO_MS, Math.max(MIN_RTO_MS, this.rtt + 4 * this.rttVar));
  }

  /** The timeout to arm now: the base doubled once per timeout in a row. */
  get timeoutMs(): number {
    return Math.min(MAX_RTO_MS, this.baseTimeoutMs * 2 ** this.backoffs);
  }

  /** Timeouts in a row since the last ack of new data. */
  get consecutiveTimeouts(): number {
    return this.backoffs;
  }

  /** A retransmission timer expired: back off. */
  onTimeout(): void {
    // Past 2^7 the doubling is capped anyway; stop counting up for ever on a stuck connection.
    if (this.backoffs < 16) this.backoffs++;
  }

  /** New data was acked: the remote is alive, drop the back-off. */
  onProgress(): void {
    this.backoffs = 0;
  }
}
