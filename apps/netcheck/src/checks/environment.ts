import { type CheckResult, type Clock, result } from './types.js';

/**
 * A clock this far off the trackers' is worth a warning: HTTPS trackers' certificates stop
 * validating once the skew nears their validity edges, and logs and creation dates mislead.
 * 5 minutes is the customary bound (Kerberos' default) for "this clock is broken", not jitter.
 */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

export interface ProxySettings {
  readonly http?: string;
  readonly https?: string;
  /** Entries of NO_PROXY, lower-cased. */
  readonly noProxy: readonly string[];
}

/** Reads the proxy variables the way curl and undici's EnvHttpProxyAgent do (lower case wins). */
export function proxySettings(env: Readonly<Record<string, string | undefined>>): ProxySettings {
  const pick = (...names: string[]): string | undefined => {
    for (const n of names) {
      const v = env[n];
      if (v !== undefined && v.trim() !== '') return v.trim();
    }
    return undefined;
  };
  const http = pick('http_proxy', 'HTTP_PROXY');
  const https = pick('https_proxy', 'HTTPS_PROXY');
  const noProxy = (pick('no_proxy', 'NO_PROXY') ?? '')
    .split(/[,\s]+/)
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  return { ...(http !== undefined ? { http } : {}), ...(https !== undefined ? { https } : {}), noProxy };
}

/** Whether NO_PROXY exempts `url` (exact host, a domain suffix with or without a leading dot, `*`, host:port). */
export function bypassesProxy(url: URL, noProxy: readonly string[]): boolean {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  for (const entry of noProxy) {
    if (entry === '*') return true;
    const m = /^(.*?)(?::(\d+))?$/.exec(entry.replace(/^\*\./, '.'));
    const eHost = (m?.[1] ?? entry).replace(/^\[|\]$/g, '');
    const ePort = m?.[2];
    if (ePort !== undefined && ePort !== port) continue;
    if (eHost.startsWith('.') ? host.endsWith(eHost) || host === eHost.slice(1) : host === eHost || host.endsWith(`.${eHost}`)) return true;
  }
  return false;
}

/** The proxy a tracker URL's requests will go through, or undefined (UDP trackers and peers are never proxied). */
export function proxyFor(trackerUrl: string, p: ProxySettings): string | undefined {
  let u: URL;
  try {
    u = new URL(trackerUrl);
  } catch {
    return undefined;
  }
  const proxy = u.protocol === 'http:' ? p.http : u.protocol === 'https:' ? p.https : undefined;
  if (proxy === undefined || bypassesProxy(u, p.noProxy)) return undefined;
  return proxy;
}

export interface ClockReference {
  /** Where the time came from, e.g. the tracker URL. */
  readonly source: string;
  /** The reference's time minus ours, in ms (positive: our clock is behind). */
  readonly skewMs: number;
}

/** Our skew from an HTTP `Date` header seen at `localWallMs`; undefined if the header does not parse. */
export function skewFromDateHeader(source: string, dateHeader: string, localWallMs: number): ClockReference | undefined {
  const remote = Date.parse(dateHeader);
  if (!Number.isFinite(remote)) return undefined;
  return { source, skewMs: remote - localWallMs };
}

function formatSkew(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  const text = s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : s < 172800 ? `${Math.round(s / 3600)} h` : `${Math.round(s / 86400)} days`;
  return `${text} ${ms > 0 ? 'behind' : 'ahead'}`;
}

/**
 * Whether tc's tracker client sends HTTP(S) tracker requests through HTTP(S)_PROXY. It does not
 * (the tracker package uses undici's plain dispatcher), so the check says what that means rather
 * than pretending the proxy is used; flip this when the client learns proxies.
 */
export const CLIENT_USES_HTTP_PROXY = false;

/**
 * Check 7: proxy variables and what they mean for HTTP(S) tracker requests (UDP trackers and peers
 * never go through them), and a clock far off the trackers' `Date`. `deadUrls` are the trackers
 * the tracker check found dead: with a proxy set, they may be what a proxy-only network blocks.
 */
export function checkEnvironment(
  env: Readonly<Record<string, string | undefined>>,
  trackerUrls: readonly string[],
  clockRefs: readonly ClockReference[],
  clock: Clock,
  started: number,
  deadUrls: ReadonlySet<string> = new Set(),
): CheckResult {
  const p = proxySettings(env);
  const detail: string[] = [];
  const problems: string[] = [];
  let advice: string | undefined;
  for (const [name, value] of [
    ['HTTP_PROXY', p.http],
    ['HTTPS_PROXY', p.https],
  ] as const) {
    if (value === undefined) continue;
    let ok = true;
    try {
      const u = new URL(value);
      ok = u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      ok = false;
    }
    detail.push(`${name}=${value}${ok ? '' : ' (not a valid http(s) URL)'}`);
    if (!ok && CLIENT_USES_HTTP_PROXY) {
      problems.push(`${name} is not a valid proxy URL`);
      advice ??= `fix or unset ${name}: tracker requests over HTTP would fail`;
    }
  }
  if (p.noProxy.length > 0) detail.push(`NO_PROXY=${p.noProxy.join(',')}`);
  // The trackers the proxy variables would cover (by scheme and NO_PROXY), whether or not tc uses them.
  const covered = trackerUrls.filter((u) => proxyFor(u, p) !== undefined);
  const udp = trackerUrls.filter((u) => u.startsWith('udp:'));
  if (p.http !== undefined || p.https !== undefined) {
    if (CLIENT_USES_HTTP_PROXY) {
      detail.push(`${covered.length} of ${trackerUrls.length} tracker URL(s) go through a proxy`);
    } else {
      detail.push(`tc does not use HTTP(S)_PROXY: ${covered.length} of ${trackerUrls.length} tracker URL(s) it would cover are contacted directly`);
    }
    if (udp.length > 0) detail.push(`${udp.length} UDP tracker(s) and all peer connections bypass HTTP proxies`);
    const deadCovered = covered.filter((u) => deadUrls.has(u));
    if (!CLIENT_USES_HTTP_PROXY && deadCovered.length > 0) {
      problems.push(`a proxy is set, and ${deadCovered.length} tracker(s) it would cover are unreachable directly`);
      advice ??= 'if this network lets traffic out only through the proxy, trackers and peers cannot work from here; use a network with direct access';
    }
    if (CLIENT_USES_HTTP_PROXY && covered.length > 0) {
      problems.push(`${covered.length} tracker(s) are reached through a proxy`);
      advice ??= 'if HTTP trackers fail above, check the proxy, or list the tracker hosts in NO_PROXY';
    }
  } else {
    detail.push('no HTTP(S)_PROXY set: trackers are contacted directly');
  }
  const data: Record<string, unknown> = { proxy: p, clientUsesProxy: CLIENT_USES_HTTP_PROXY, proxyCovers: covered, clock: clockRefs };
  if (clockRefs.length === 0) {
    detail.push('clock: no tracker sent a Date header to compare with');
  } else {
    const sorted = [...clockRefs].sort((a, b) => a.skewMs - b.skewMs);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    data.clockSkewMs = median.skewMs;
    detail.push(`clock: ${formatSkew(median.skewMs)} (against the Date header of ${median.source})`);
    if (Math.abs(median.skewMs) > MAX_CLOCK_SKEW_MS) {
      problems.push(`the clock is ${formatSkew(median.skewMs)}`);
      advice ??= 'set the system clock (enable NTP time sync): HTTPS trackers reject a clock this far off';
    }
  }
  return result('env', clock, started, {
    status: problems.length > 0 ? 'warn' : 'ok',
    summary: problems.length > 0 ? problems.join('; ') : 'nothing in the environment gets in the way',
    detail,
    advice,
    data,
  });
}
