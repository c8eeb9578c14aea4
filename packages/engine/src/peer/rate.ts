/** Smoothing window for transfer rates: long enough to ride out bursts, short enough to follow a stall. */
export const RATE_WINDOW_MS = 2_000;
/** Shortest interval folded into the average; finer steps only add noise. */
const MIN_STEP_MS = 50;

/** Bytes per second as an exponentially weighted moving average, updated lazily from the given times. */
export class RateMeter {
  private rateBps = 0;
  private pending = 0;
  private last: number;
  total = 0;

  constructor(
    now: number,
    private readonly windowMs = RATE_WINDOW_MS,
  ) {
    this.last = now;
  }

  add(bytes: number, now: number): void {
    this.update(now);
    this.pending += bytes;
    this.total += bytes;
  }

  /** Current rate in bytes per second. */
  rate(now: number): number {
    this.update(now);
    return this.rateBps;
  }

  private update(now: number): void {
    const dt = now - this.last;
    if (dt < MIN_STEP_MS) return;
    const instant = (this.pending * 1000) / dt;
    const w = 1 - Math.exp(-dt / this.windowMs);
    this.rateBps += (instant - this.rateBps) * w;
    this.pending = 0;
    this.last = now;
  }
}
