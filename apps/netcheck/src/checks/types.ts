/** The checks tc-netcheck runs, in display order (issue 7). */
export const CHECK_IDS = ['addresses', 'listen', 'dns', 'trackers', 'peers', 'inbound', 'env'] as const;
export type CheckId = (typeof CHECK_IDS)[number];

/**
 * `fail` means something a download needs does not work (the command then exits 4, a network problem); `warn` means a
 * download may work but worse; `skip` means the check had nothing to test (no torrent for `peers`).
 */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  readonly id: CheckId;
  readonly title: string;
  readonly status: CheckStatus;
  /** Wall time the check took, in milliseconds. */
  readonly ms: number;
  /** One short headline, then detail lines. Text from the network is sanitized at render time. */
  readonly summary: string;
  readonly detail: readonly string[];
  /** One line of advice; present whenever status is warn or fail. */
  readonly advice?: string;
  /** Structured facts for `--json`. */
  readonly data: Readonly<Record<string, unknown>>;
}

export const CHECK_TITLES: Readonly<Record<CheckId, string>> = {
  addresses: 'Local addresses',
  listen: 'Listening ports',
  dns: 'DNS',
  trackers: 'Trackers',
  peers: 'Peers',
  inbound: 'Inbound reachability',
  env: 'Environment',
};

/** Milliseconds: a monotonic reading for durations, and the wall clock for skew. */
export interface Clock {
  /** Monotonic milliseconds (performance.now in production). */
  mono(): number;
  /** Wall-clock milliseconds since the epoch (Date.now in production). */
  wall(): number;
}

/** Builds a result, timing it from `startedMs` on the given clock. */
export function result(
  id: CheckId,
  clock: Clock,
  startedMs: number,
  r: { status: CheckStatus; summary: string; detail?: readonly string[]; advice?: string | undefined; data?: Record<string, unknown> },
): CheckResult {
  return {
    id,
    title: CHECK_TITLES[id],
    status: r.status,
    ms: Math.max(0, Math.round(clock.mono() - startedMs)),
    summary: r.summary,
    detail: r.detail ?? [],
    ...(r.advice !== undefined ? { advice: r.advice } : {}),
    data: r.data ?? {},
  };
}

/** The worst of several statuses (fail > warn > ok > skip). */
export function worst(statuses: readonly CheckStatus[]): CheckStatus {
  const rank: Record<CheckStatus, number> = { skip: 0, ok: 1, warn: 2, fail: 3 };
  return statuses.reduce<CheckStatus>((a, b) => (rank[b] > rank[a] ? b : a), 'skip');
}
