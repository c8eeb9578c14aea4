/**
 * Token buckets: `allow(key, now)` spends one token from `key`'s bucket and from a global one.
 * The number of keys tracked is bounded; idle buckets (full again) are swept, and when a flood of
 * new keys fills the map anyway, the oldest key is forgotten (it comes back with a full bucket,
 * which costs at most one burst).
 */
export interface RateLimitOptions {
  readonly perKeyPerSecond: number;
  readonly perKeyBurst: number;
  readonly globalPerSecond: number;
  readonly globalBurst: number;
  readonly maxKeys: number;
}

/** What we answer per address: 10 queries a second with bursts of 50 (libtorrent blocks above 5/s, for 5 minutes). */
export const DEFAULT_RATE_LIMIT: RateLimitOptions = {
  perKeyPerSecond: 10,
  perKeyBurst: 50,
  // All addresses together: a flood with forged sources still costs a bounded amount of sending.
  globalPerSecond: 2000,
  globalBurst: 4000,
  // 20,000 × about 100 bytes: a couple of MB at most.
  maxKeys: 20_000,
};

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly opts: RateLimitOptions;
  private readonly buckets = new Map<string, Bucket>();
  private readonly global: Bucket;

  constructor(opts: RateLimitOptions = DEFAULT_RATE_LIMIT, now = 0) {
    this.opts = opts;
    this.global = { tokens: opts.globalBurst, at: now };
  }

  get keys(): number {
    return this.buckets.size;
  }

  private refill(b: Bucket, rate: number, burst: number, now: number): void {
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
  }

  allow(key: string, now: number): boolean {
    const o = this.opts;
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= o.maxKeys) {
        this.sweep(now);
        if (this.buckets.size >= o.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
      }
      b = { tokens: o.perKeyBurst, at: now };
      this.buckets.set(key, b);
    } else this.refill(b, o.perKeyPerSecond, o.perKeyBurst, now);
    this.refill(this.global, o.globalPerSecond, o.globalBurst, now);
    if (b.tokens < 1 || this.global.tokens < 1) return false;
    b.tokens--;
    this.global.tokens--;
    return true;
  }

  /** Forgets keys whose bucket has refilled: they would start full anyway. */
  sweep(now: number): void {
    const o = this.opts;
    const fullAfterMs = (o.perKeyBurst / o.perKeyPerSecond) * 1000;
    for (const [k, b] of this.buckets) if (now - b.at >= fullAfterMs) this.buckets.delete(k);
  }
}
