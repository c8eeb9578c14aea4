import type { Clock, TimerHandle } from '../clock.js';
import { EngineError, invariant } from '../errors.js';
import { TokenBucket } from './bucket.js';

/**
 * An async rate limit for one direction, shared by every peer of a session (or a torrent).
 *
 * `acquire(bytes, key)` resolves once the bucket holds the bytes (a full burst, for larger
 * requests: the rest becomes a debt the next waiter pays off). Waiters are queued per key (a peer) and
 * served round-robin, one grant per key per turn, so a peer with a deep request pipeline cannot
 * starve one that asks for a block at a time. Requests are 16 KiB blocks almost always (BEP 3), so
 * counting grants is close enough to counting bytes for fairness.
 *
 * How the engine uses it: upload — acquire(block length, peer) before writing a `piece` message;
 * download — acquire(block length, peer) before sending a `request` (what we ask for is what
 * arrives, so this paces the inflow without touching the sockets).
 */

interface Waiter {
  readonly bytes: number;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
  readonly key: LimiterKey;
  readonly signal: AbortSignal | undefined;
}

export interface RateLimiterOptions {
  /** Bytes per second; undefined or 0 means unlimited (the default: limits are off unless asked for). */
  readonly rateBps?: number | undefined;
  readonly burstBytes?: number;
  readonly clock: Clock;
}

export type LimiterKey = string | number;

export class RateLimiter {
  private readonly clock: Clock;
  private readonly bucket: TokenBucket;
  /** Waiters per key, in arrival order; a key is present only while it has waiters. */
  private readonly queues = new Map<LimiterKey, Waiter[]>();
  /** Keys in service order; the head is served next. */
  private readonly order: LimiterKey[] = [];
  private timer: TimerHandle | undefined;
  private closed = false;
  private granted = 0;
  /**
   * One abort listener per signal, however many waiters share it (a torrent's closing signal has one
   * per queued block): a listener per waiter trips Node's MaxListenersExceededWarning at 11.
   */
  private readonly bySignal = new Map<AbortSignal, { readonly waiters: Set<Waiter>; readonly onAbort: () => void }>();

  constructor(opts: RateLimiterOptions) {
    this.clock = opts.clock;
    this.bucket = new TokenBucket({
      rateBps: opts.rateBps,
      ...(opts.burstBytes !== undefined ? { burstBytes: opts.burstBytes } : {}),
      now: opts.clock.now(),
    });
  }

  get limited(): boolean {
    return this.bucket.limited;
  }

  /** Bytes per second, Infinity when unlimited. */
  get rateBps(): number {
    return this.bucket.rateBps;
  }

  /** Waiters not yet granted. */
  get queued(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  /** Total bytes granted so far. */
  get grantedBytes(): number {
    return this.granted;
  }

  /** Changes the limit (undefined or 0: off); waiters are re-timed at the new rate. */
  setRate(rateBps: number | undefined): void {
    this.bucket.setRate(rateBps, this.clock.now());
    this.timer?.cancel();
    this.timer = undefined;
    this.pump();
  }

  /**
   * Resolves when `bytes` may be sent or read. Rejects with ENGINE_ABORTED when `signal` aborts
   * and with ENGINE_CLOSED after `close()`.
   */
  acquire(bytes: number, key: LimiterKey = 0, signal?: AbortSignal): Promise<void> {
    invariant(Number.isSafeInteger(bytes) && bytes >= 0, `bad byte count ${bytes}`);
    if (this.closed) return Promise.reject(new EngineError('ENGINE_CLOSED', 'rate limiter is closed'));
    if (signal?.aborted) return Promise.reject(new EngineError('ENGINE_ABORTED', 'aborted', { cause: signal.reason }));
    // Fast path: nobody waits and the bucket is not in debt.
    if (this.queues.size === 0 && this.bucket.waitFor(bytes, this.clock.now()) === 0) {
      this.bucket.take(bytes, this.clock.now());
      this.granted += bytes;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { bytes, resolve, reject, key, signal };
      if (signal) this.watch(signal, waiter);
      const q = this.queues.get(key);
      if (q) q.push(waiter);
      else {
        this.queues.set(key, [waiter]);
        this.order.push(key);
      }
      this.pump();
    });
  }

  /** Rejects every waiter with ENGINE_CLOSED and stops the timer. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
    const err = new EngineError('ENGINE_CLOSED', 'rate limiter is closed');
    for (const q of this.queues.values()) for (const w of q) this.settle(w, err);
    this.queues.clear();
    this.order.length = 0;
  }

  private pump(): void {
    if (this.closed) return;
    for (;;) {
      const key = this.order[0];
      if (key === undefined) return;
      const now = this.clock.now();
      const q = this.queues.get(key)!;
      if (this.bucket.waitFor(q[0]!.bytes, now) > 0) {
        this.reschedule();
        return;
      }
      const w = q.shift()!;
      this.order.shift();
      if (q.length > 0) this.order.push(key);
      else this.queues.delete(key);
      this.bucket.take(w.bytes, now);
      this.granted += w.bytes;
      this.settle(w, undefined);
    }
  }

  private reschedule(): void {
    this.timer?.cancel();
    this.timer = undefined;
    if (this.closed || this.order.length === 0) return;
    const head = this.queues.get(this.order[0]!)![0]!;
    const ms = this.bucket.waitFor(head.bytes, this.clock.now());
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = undefined;
        this.pump();
      },
      Math.max(1, ms),
    );
  }

  private remove(key: LimiterKey, w: Waiter, err: unknown): void {
    const q = this.queues.get(key);
    const i = q ? q.indexOf(w) : -1;
    if (!q || i < 0) return;
    q.splice(i, 1);
    if (q.length === 0) {
      this.queues.delete(key);
      const k = this.order.indexOf(key);
      if (k >= 0) this.order.splice(k, 1);
      if (this.order.length === 0) {
        this.timer?.cancel();
        this.timer = undefined;
      }
    }
    this.settle(w, err);
  }

  private watch(signal: AbortSignal, w: Waiter): void {
    let entry = this.bySignal.get(signal);
    if (!entry) {
      const waiters = new Set<Waiter>();
      const onAbort = (): void => {
        for (const x of [...waiters]) this.remove(x.key, x, new EngineError('ENGINE_ABORTED', 'aborted', { cause: signal.reason }));
      };
      entry = { waiters, onAbort };
      this.bySignal.set(signal, entry);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    entry.waiters.add(w);
  }

  private settle(w: Waiter, err: unknown): void {
    const entry = w.signal ? this.bySignal.get(w.signal) : undefined;
    if (entry && entry.waiters.delete(w) && entry.waiters.size === 0) {
      w.signal!.removeEventListener('abort', entry.onAbort);
      this.bySignal.delete(w.signal!);
    }
    if (err === undefined) w.resolve();
    else w.reject(err);
  }
}
