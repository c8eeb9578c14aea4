import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ManualClock, type Clock, type TimerHandle } from '../clock.js';
import { EngineBug, EngineError } from '../errors.js';
import { BURST_MS, defaultBurst, MIN_BURST_BYTES, TokenBucket } from './bucket.js';
import { RateLimiter } from './limiter.js';

const BLOCK = 16 * 1024;

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A manual clock whose timers fire late by a random 0–`maxLateMs`, like a busy event loop. */
class LateClock implements Clock {
  constructor(
    readonly inner: ManualClock,
    private readonly maxLateMs: number,
    private readonly random: () => number,
  ) {}
  now(): number {
    return this.inner.now();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.inner.setTimeout(fn, ms + Math.floor(this.random() * (this.maxLateMs + 1)));
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.inner.setInterval(fn, ms);
  }
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('TokenBucket', () => {
  it('unlimited by default: never asks to wait', () => {
    for (const rate of [undefined, 0]) {
      const b = new TokenBucket({ rateBps: rate, now: 0 });
      expect(b.limited).toBe(false);
      for (let i = 0; i < 100; i++) expect(b.take(1e9, 0)).toBe(0);
    }
  });

  it('starts full, then debits into debt and says how long to wait', () => {
    const b = new TokenBucket({ rateBps: 100_000, burstBytes: 50_000, now: 0 });
    expect(b.take(50_000, 0)).toBe(0);
    expect(b.take(10_000, 0)).toBe(100); // 10 kB of debt at 100 kB/s
    expect(b.waitMs(50)).toBe(50);
    expect(b.waitMs(100)).toBe(0);
    expect(b.available(1_000_000)).toBe(50_000); // capped at the burst
  });

  it('burst: 250 ms of rate, at least two blocks', () => {
    expect(defaultBurst(1_000_000)).toBe(250_000);
    expect(defaultBurst(1000)).toBe(MIN_BURST_BYTES);
    expect(BURST_MS).toBe(250);
  });

  it('a sender that obeys the delays averages the rate within 2 % (plus the first burst) over 20 s, even with late timers', () => {
    for (const rate of [50_000, 500_000, 5_000_000]) {
      const random = lcg(rate);
      const b = new TokenBucket({ rateBps: rate, now: 0 });
      let t = 0;
      let sent = 0;
      const end = 20_000;
      while (t < end) {
        const n = BLOCK * (1 + Math.floor(random() * 4));
        const wait = b.take(n, t);
        t += wait + random() * 15; // timers fire up to 15 ms late, plus work between sends
        if (t <= end) sent += n;
      }
      // The only excess allowed is the initial full bucket; lateness must not lose throughput.
      expect(sent).toBeLessThanOrEqual((rate * end) / 1000 + b.burstBytes);
      const avg = sent / (end / 1000);
      const excess = b.burstBytes / (end / 1000) / rate;
      expect(Math.abs(avg - rate) / rate, `rate ${rate}: ${avg.toFixed(0)} B/s`).toBeLessThan(0.02 + excess);
    }
  });

  it('setRate changes the pace and can turn the limit off', () => {
    const b = new TokenBucket({ rateBps: 1000, burstBytes: 1000, now: 0 });
    b.take(3000, 0);
    expect(b.waitMs(0)).toBe(2000);
    b.setRate(2000, 0);
    expect(b.waitMs(0)).toBe(1000);
    b.setRate(undefined, 0);
    expect(b.take(1e9, 0)).toBe(0);
  });

  it('rejects nonsense as a bug', () => {
    expect(() => new TokenBucket({ rateBps: -1, now: 0 })).toThrow(EngineBug);
    expect(() => new TokenBucket({ rateBps: 10, now: 0 }).take(-5, 0)).toThrow(EngineBug);
    expect(() => new TokenBucket({ rateBps: 10, now: 0 }).take(Number.NaN, 0)).toThrow(EngineBug);
  });
});

/** Runs `peers` greedy senders (each always wanting the next block) for `ms` of manual time. */
async function simulate(opts: { rateBps: number; peers: number; ms: number; depth?: number[]; maxLateMs?: number; stepMs?: number }) {
  const manual = new ManualClock();
  const clock = new LateClock(manual, opts.maxLateMs ?? 0, lcg(11));
  const limiter = new RateLimiter({ rateBps: opts.rateBps, clock });
  const got = new Array<number>(opts.peers).fill(0);
  let stop = false;
  const loops: Promise<void>[] = [];
  for (let p = 0; p < opts.peers; p++) {
    // `depth` concurrent requesters per peer: a deep pipeline asks more often.
    for (let k = 0; k < (opts.depth?.[p] ?? 1); k++) {
      loops.push(
        (async () => {
          while (!stop) {
            try {
              await limiter.acquire(BLOCK, p);
            } catch {
              return;
            }
            if (manual.now() <= opts.ms) got[p]! += BLOCK;
          }
        })(),
      );
    }
  }
  await flush();
  const step = opts.stepMs ?? 5;
  for (let t = 0; t < opts.ms; t += step) {
    manual.advance(step);
    await flush();
  }
  stop = true;
  limiter.close();
  await Promise.all(loops);
  expect(manual.pending).toBe(0);
  return { got, total: got.reduce((a, b) => a + b, 0), limiter };
}

describe('RateLimiter', () => {
  it('off by default: resolves at once, no timer', async () => {
    const clock = new ManualClock();
    const l = new RateLimiter({ clock });
    expect(l.limited).toBe(false);
    for (let i = 0; i < 1000; i++) await l.acquire(1 << 20, i % 7);
    expect(clock.pending).toBe(0);
    expect(l.grantedBytes).toBe(1000 << 20);
  });

  it('averages within 3 % of R over a simulated 20 s (late timers included)', async () => {
    for (const rateBps of [100_000, 1_000_000, 4_000_000]) {
      const { total } = await simulate({ rateBps, peers: 5, ms: 20_000, maxLateMs: 8 });
      const avg = total / 20;
      expect(Math.abs(avg - rateBps) / rateBps, `R=${rateBps}: ${avg.toFixed(0)} B/s`).toBeLessThan(0.03);
    }
  });

  it('is fair across peers, even when one has a much deeper pipeline', async () => {
    const { got, total } = await simulate({ rateBps: 1_000_000, peers: 4, ms: 20_000, depth: [16, 1, 1, 4] });
    for (const g of got) expect(Math.abs(g - total / 4) / (total / 4)).toBeLessThan(0.05);
  });

  it('setRate takes effect for those already waiting', async () => {
    const clock = new ManualClock();
    const l = new RateLimiter({ rateBps: 1000, burstBytes: 1000, clock });
    await l.acquire(1000);
    let done = false;
    void l.acquire(10_000).then(() => {
      done = true;
    });
    clock.advance(500);
    await flush();
    expect(done).toBe(false);
    l.setRate(0); // off
    await flush();
    expect(done).toBe(true);
    l.close();
  });

  it('abort removes the waiter; close rejects the rest and leaves no timer', async () => {
    const clock = new ManualClock();
    const l = new RateLimiter({ rateBps: 1000, burstBytes: 1000, clock });
    await l.acquire(5000); // deep in debt now
    const ac = new AbortController();
    const a = l.acquire(100, 'a', ac.signal);
    const b = l.acquire(100, 'b');
    expect(l.queued).toBe(2);
    ac.abort();
    await expect(a).rejects.toMatchObject({ code: 'ENGINE_ABORTED' });
    expect(l.queued).toBe(1);
    l.close();
    await expect(b).rejects.toBeInstanceOf(EngineError);
    await expect(b).rejects.toMatchObject({ code: 'ENGINE_CLOSED' });
    await expect(l.acquire(1)).rejects.toMatchObject({ code: 'ENGINE_CLOSED' });
    const pre = new AbortController();
    pre.abort();
    const l2 = new RateLimiter({ rateBps: 10, clock });
    await expect(l2.acquire(1, 0, pre.signal)).rejects.toMatchObject({ code: 'ENGINE_ABORTED' });
    expect(clock.pending).toBe(0);
  });

  it('many waiters on one signal add one abort listener, removed once they are served (no MaxListenersExceededWarning)', async () => {
    const clock = new ManualClock();
    const l = new RateLimiter({ rateBps: 1000, burstBytes: 1000, clock });
    await l.acquire(1000);
    const ac = new AbortController();
    const waits = Array.from({ length: 40 }, (_, i) => l.acquire(10, i % 5, ac.signal));
    expect(getEventListeners(ac.signal, 'abort').length).toBe(1);
    clock.advance(2_000);
    await Promise.all(waits);
    expect(getEventListeners(ac.signal, 'abort').length).toBe(0);
    await l.acquire(5000); // in debt: the next ones wait
    const aborted = Array.from({ length: 20 }, () => l.acquire(1000, 'x', ac.signal));
    expect(getEventListeners(ac.signal, 'abort').length).toBe(1);
    const settled = Promise.allSettled(aborted);
    ac.abort();
    for (const r of await settled) expect(r).toMatchObject({ status: 'rejected', reason: { code: 'ENGINE_ABORTED' } });
    expect(getEventListeners(ac.signal, 'abort').length).toBe(0);
    expect(l.queued).toBe(0);
    l.close();
  });
});
