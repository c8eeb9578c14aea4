import { timeDistance, timeLess } from './seq.js';

/**
 * One-way delay samples turned into queueing delay (BEP 29, LEDBAT). A sample is "their clock
 * when our packet arrived minus our clock when we sent it": the propagation delay, plus the two
 * clocks' offset, plus whatever queue the packet sat in. The smallest sample seen lately (the base
 * delay) stands for offset plus propagation, so `sample - base` is the queueing delay.
 *
 * The base is the minimum over one-minute buckets kept for 13 minutes (libutp's history): long
 * enough to have seen an empty queue, short enough to follow clock drift. The current delay is
 * the smallest of the last three samples, which filters out single late packets. All arithmetic
 * is modulo 2^32, since timestamps wrap every 71 minutes.
 */

export const DELAY_BASE_BUCKET_MS = 60_000;
export const DELAY_BASE_BUCKETS = 13;
export const CURRENT_DELAY_SAMPLES = 3;

export class DelayHistory {
  private base = 0;
  private readonly baseBuckets = new Array<number>(DELAY_BASE_BUCKETS).fill(0);
  private bucket = 0;
  private bucketStartedMs: number;
  private readonly current = new Array<number>(CURRENT_DELAY_SAMPLES).fill(0);
  private currentAt = 0;
  private initialized = false;

  constructor(nowMs: number) {
    this.bucketStartedMs = nowMs;
  }

  get hasSamples(): boolean {
    return this.initialized;
  }

  /** The base delay (raw sample units, modulo 2^32). */
  get baseUs(): number {
    return this.base;
  }

  /** Records a raw sample (µs, modulo 2^32) and returns its queueing delay above the base. */
  add(sampleUs: number, nowMs: number): number {
    const s = sampleUs >>> 0;
    if (!this.initialized) {
      this.baseBuckets.fill(s);
      this.base = s;
      this.current.fill(0);
      this.initialized = true;
    }
    if (timeLess(s, this.baseBuckets[this.bucket]!)) this.baseBuckets[this.bucket] = s;
    if (timeLess(s, this.base)) this.base = s;
    const delay = timeDistance(this.base, s);
    this.current[this.currentAt] = delay;
    this.currentAt = (this.currentAt + 1) % CURRENT_DELAY_SAMPLES;
    if (nowMs - this.bucketStartedMs >= DELAY_BASE_BUCKET_MS) {
      // A new minute: start its bucket at this sample, and forget the oldest minute.
      this.bucketStartedMs = nowMs;
      this.bucket = (this.bucket + 1) % DELAY_BASE_BUCKETS;
      this.baseBuckets[this.bucket] = s;
      let min = this.baseBuckets[0]!;
      for (const b of this.baseBuckets) if (timeLess(b, min)) min = b;
      this.base = min;
    }
    return delay;
  }

  /** The queueing delay now: the smallest of the last three samples (µs); 0 before any sample. */
  get currentUs(): number {
    if (!this.initialized) return 0;
    let min = Infinity;
    for (const d of this.current) if (d < min) min = d;
    return min;
  }

  /**
   * Moves the base (and its history) up by `us`: the remote's base delay fell, so our clock runs
   * fast against theirs and our own samples drift down by the same amount (libutp's skew rule).
   */
  shift(us: number): void {
    for (let i = 0; i < this.baseBuckets.length; i++) this.baseBuckets[i] = (this.baseBuckets[i]! + us) >>> 0;
    this.base = (this.base + us) >>> 0;
  }
}
