/** First retry delay after a failed connection (ms). */
export const BACKOFF_BASE_MS = 5_000;
/** Longest wait between retries of one candidate (ms). */
export const BACKOFF_MAX_MS = 5 * 60_000;
/** Failures after which a candidate is forgotten (libtorrent's max_failcount is 3). */
export const MAX_FAILURES = 5;

/**
 * Delay before retry number `failures` (1 = after the first failure): exponential, capped, with ±25 %
 * jitter so peers that failed together do not retry together.
 */
export function backoffDelayMs(failures: number, random: () => number = Math.random, baseMs = BACKOFF_BASE_MS, maxMs = BACKOFF_MAX_MS): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(exp * (0.75 + random() * 0.5));
}
