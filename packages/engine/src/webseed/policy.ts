/** First wait after a web seed fails; doubled on each further failure in a row. */
export const WEB_SEED_BACKOFF_MS = 2_000;
/** Longest wait between two tries of a failing web seed. */
export const WEB_SEED_MAX_BACKOFF_MS = 60_000;
/** Failures in a row after which a web seed is dropped for good (each one backed off first). */
export const WEB_SEED_MAX_FAILURES = 4;
/** Pieces with its data that failed the hash check after which a web seed is dropped (the first one backs it off). */
export const WEB_SEED_MAX_HASH_FAILURES = 2;

/** Where a web seed stands: in use, waiting after a failure, or given up with a reason. */
export type WebSeedState = 'active' | 'backoff' | 'dropped';

/** The part of a web seed the policy reads and writes. */
export interface WebSeedHealth {
  state: WebSeedState;
  /** Failures in a row (a successful span resets it). */
  failures: number;
  hashFailures: number;
  /** Clock time after which a backed-off seed may be tried again. */
  retryAt: number;
  /** Why it last failed (kept when it recovers, for the status), sanitized by the displays. */
  reason: string | undefined;
}

export function freshHealth(): WebSeedHealth {
  return { state: 'active', failures: 0, hashFailures: 0, retryAt: 0, reason: undefined };
}

/** Backoff after `failures` failures in a row: 2 s, 4 s, 8 s … up to WEB_SEED_MAX_BACKOFF_MS. */
export function backoffMs(failures: number): number {
  return Math.min(WEB_SEED_MAX_BACKOFF_MS, WEB_SEED_BACKOFF_MS * 2 ** Math.max(0, Math.min(30, failures - 1)));
}

/** A request to the seed failed (HTTP error, no Range support, stall, redirect loop): back off, or drop after too many. */
export function noteFailure(h: WebSeedHealth, reason: string, now: number): void {
  if (h.state === 'dropped') return;
  h.reason = reason;
  // Requests sent before the seed was backed off fail together: one failure per wait, not one per request.
  if (h.state === 'backoff' && now < h.retryAt) return;
  h.failures++;
  if (h.failures >= WEB_SEED_MAX_FAILURES) {
    h.state = 'dropped';
    return;
  }
  h.state = 'backoff';
  h.retryAt = now + backoffMs(h.failures);
}

/** Data from the seed failed the hash check: counts against it as against a peer, and backs it off. */
export function noteHashFailure(h: WebSeedHealth, now: number): void {
  if (h.state === 'dropped') return;
  h.hashFailures++;
  const reason = `sent data for ${h.hashFailures} piece(s) that failed the hash check`;
  if (h.hashFailures >= WEB_SEED_MAX_HASH_FAILURES) {
    h.reason = reason;
    h.state = 'dropped';
    return;
  }
  noteFailure(h, reason, now);
}

/**
 * A span arrived whole: the failures in a row are forgotten (hash failures are not). A span sent
 * before the seed was backed off does not end the wait: a server that serves some requests and
 * fails others (whole small files but no ranges) stays backed off.
 */
export function noteSuccess(h: WebSeedHealth): void {
  if (h.state !== 'active') return;
  h.failures = 0;
}

/** A backed-off seed whose wait is over becomes active again. Returns true when it may be asked now. */
export function mayRequest(h: WebSeedHealth, now: number): boolean {
  if (h.state === 'backoff' && now >= h.retryAt) h.state = 'active';
  return h.state === 'active';
}
