/** Time and timers, injected so schedulers and retransmission can be tested with a manual clock. */
export interface Clock {
  /** Milliseconds, monotonic enough for scheduling. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};
