import { invariant } from '../errors.js';

/**
 * A token bucket for one direction (issue 6: `--limit-down`, `--limit-up`, off by default).
 *
 * Tokens are bytes; they refill at `rateBps` up to `burstBytes`. `take` always debits and may push
 * the balance below zero: the caller then waits the returned delay. Keeping the debt (instead of
 * refusing) makes the long-run average exact whatever the size of each take and however late the
 * caller's timer fires: lateness is simply refilled as time that passed.
 */

/** Burst as a time at the limit rate: short enough that a limit looks steady to a user within a second. */
export const BURST_MS = 250;
/** Smallest burst, in bytes: two 16 KiB blocks (BEP 3 block size), so one block never waits on a half-full bucket. */
export const MIN_BURST_BYTES = 2 * 16 * 1024;

/** The default burst for a rate (bytes). */
export function defaultBurst(rateBps: number): number {
  return Math.max(MIN_BURST_BYTES, Math.ceil((rateBps * BURST_MS) / 1000));
}

export class TokenBucket {
  private rate: number;
  private burst: number;
  private tokens: number;
  private last: number;

  /** `rateBps` undefined, 0 or Infinity: unlimited (every take returns 0). Starts full. */
  constructor(opts: { rateBps: number | undefined; burstBytes?: number; now: number }) {
    this.rate = 0;
    this.burst = 0;
    this.tokens = 0;
    this.last = opts.now;
    this.setRate(opts.rateBps, opts.now, opts.burstBytes);
    this.tokens = this.burst;
  }

  get limited(): boolean {
    return this.rate !== Infinity;
  }

  get rateBps(): number {
    return this.rate;
  }

  get burstBytes(): number {
    return this.burst;
  }

  /** Changes the rate; tokens earned so far at the old rate are kept (capped at the new burst). */
  setRate(rateBps: number | undefined, now: number, burstBytes?: number): void {
    invariant(rateBps === undefined || (rateBps >= 0 && !Number.isNaN(rateBps)), `bad rate ${rateBps}`);
    this.refill(now);
    this.rate = rateBps === undefined || rateBps === 0 ? Infinity : rateBps;
    this.burst = this.rate === Infinity ? Infinity : (burstBytes ?? defaultBurst(this.rate));
    invariant(this.burst > 0, `bad burst ${burstBytes}`);
    if (this.tokens > this.burst) this.tokens = this.burst;
    if (this.rate === Infinity) this.tokens = 0;
  }

  /** Balance in bytes at `now`: negative while in debt. */
  available(now: number): number {
    this.refill(now);
    return this.rate === Infinity ? Infinity : this.tokens;
  }

  /** Time in ms until the balance is back to zero (0 when not in debt). */
  waitMs(now: number): number {
    const a = this.available(now);
    return a >= 0 ? 0 : Math.ceil((-a * 1000) / this.rate);
  }

  /**
   * Time in ms until the balance covers `bytes` (or a full burst, for takes larger than the burst):
   * for callers that wait first and then take, as the async limiter does.
   */
  waitFor(bytes: number, now: number): number {
    const a = this.available(now);
    const need = Math.min(bytes, this.burst);
    return a >= need ? 0 : Math.ceil(((need - a) * 1000) / this.rate);
  }

  /**
   * Debits `bytes` and returns how long (ms) the caller must wait before sending them: 0 when the
   * bucket covered them, else the time for the refill to pay the debt off.
   */
  take(bytes: number, now: number): number {
    invariant(Number.isFinite(bytes) && bytes >= 0, `bad byte count ${bytes}`);
    if (this.rate === Infinity) return 0;
    this.refill(now);
    this.tokens -= bytes;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.rate);
  }

  private refill(now: number): void {
    const dt = now - this.last;
    // A clock that steps back (it should not: ours is monotonic) earns nothing rather than a debt.
    if (dt > 0 && this.rate !== Infinity) this.tokens = Math.min(this.burst, this.tokens + (dt * this.rate) / 1000);
    if (dt > 0) this.last = now;
  }
}
