/**
 * Time, injected so that timeouts, rates and retransmissions are testable without waiting. Every
 * package that schedules anything (tracker, dht, utp, engine) takes a `Clock`; tests pass a
 * `ManualClock`.
 */
export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  setInterval(fn: () => void, ms: number): TimerHandle;
}

export interface TimerHandle {
  cancel(): void;
}

/** The real clock: `performance.now()` and Node timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
  setInterval(fn, ms) {
    const t = setInterval(fn, ms);
    return { cancel: () => clearInterval(t) };
  },
};

interface ManualTimer {
  at: number;
  every: number | undefined;
  fn: () => void;
  live: boolean;
  seq: number;
}

/** A clock that moves only when told to (`advance`), for tests. Timers due at the same time fire in the order they were set. */
export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: ManualTimer[] = [];

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add({ at: this.t + Math.max(0, ms), every: undefined, fn, live: true, seq: this.seq++ });
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    const every = Math.max(1, ms);
    return this.add({ at: this.t + every, every, fn, live: true, seq: this.seq++ });
  }

  /** Timers still pending (a leak check after close). */
  get pending(): number {
    return this.timers.filter((x) => x.live).length;
  }

  /** Moves time forward by `ms`, firing due timers in time order, each at its own time. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (let due = this.next(end); due !== undefined; due = this.next(end)) this.fire(due);
    this.t = end;
    this.timers = this.timers.filter((x) => x.live);
  }

  /**
   * Like `advance`, but lets queued promise callbacks run before each timer and at the end, for
   * code that awaits between timers (a retransmission that follows a resolved send).
   */
  async advanceAsync(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await flushPromises();
      const due = this.next(end);
      if (due === undefined) break;
      this.fire(due);
    }
    this.t = end;
    this.timers = this.timers.filter((x) => x.live);
    await flushPromises();
  }

  private next(end: number): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const x of this.timers) {
      if (!x.live || x.at > end) continue;
      if (best === undefined || x.at < best.at || (x.at === best.at && x.seq < best.seq)) best = x;
    }
    return best;
  }

  private fire(due: ManualTimer): void {
    this.t = Math.max(this.t, due.at);
    if (due.every !== undefined) {
      due.at += due.every;
      due.seq = this.seq++;
    } else due.live = false;
    due.fn();
  }

  private add(timer: ManualTimer): TimerHandle {
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.live = false;
      },
    };
  }
}

/** Lets queued promise callbacks run (several turns, for chains of awaits), then one macrotask. */
export async function flushPromises(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise((r) => setImmediate(r));
}
