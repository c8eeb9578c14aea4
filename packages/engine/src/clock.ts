/** Time, injected so that timeouts and rates are testable without waiting. */
export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  setInterval(fn: () => void, ms: number): TimerHandle;
}

export interface TimerHandle {
  cancel(): void;
}

/** The real clock: `performance.now()` and Node timers, unref'd so they never hold the process open alone. */
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
}

/** A clock that moves only when told to (`advance`), for tests. */
export class ManualClock implements Clock {
  private t = 0;
  private timers: ManualTimer[] = [];

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add({ at: this.t + ms, every: undefined, fn, live: true });
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.add({ at: this.t + ms, every: Math.max(1, ms), fn, live: true });
  }

  /** Number of timers still pending. */
  get pending(): number {
    return this.timers.filter((x) => x.live).length;
  }

  /** Moves time forward by `ms`, firing due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.live && x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.t = Math.max(this.t, due.at);
      if (due.every !== undefined) due.at += due.every;
      else due.live = false;
      due.fn();
    }
    this.t = end;
    this.timers = this.timers.filter((x) => x.live);
  }

  private add(timer: ManualTimer): TimerHandle {
    this.timers.push(timer);
    return { cancel: () => { timer.live = false; } };
  }
}
