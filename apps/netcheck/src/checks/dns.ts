import { isIP } from 'node:net';
import { type CheckResult, type Clock, result } from './types.js';

/** The part of node's `dns.promises.Resolver` we use (so tests can inject one pointed at a test server). */
export interface DnsResolver {
  resolve4(host: string): Promise<string[]>;
  resolve6(host: string): Promise<string[]>;
  /** Drops queries still in flight (ours are bounded by a timer; c-ares would keep retrying). */
  cancel?(): void;
}

export interface DnsDeps {
  readonly resolver: DnsResolver;
  /** Resolves `localhost` from the hosts file (the only name the resolver's servers should not see). */
  readonly lookupLocalhost: () => Promise<string[]>;
  readonly clock: Clock;
  /** Per-host bound, milliseconds. */
  readonly timeoutMs: number;
}

/**
 * c-ares codes (node's `dns.*` constants) that mean the resolver could not answer, as opposed to
 * an answer that says the name does not exist (ENOTFOUND = NXDOMAIN) or has no address (ENODATA).
 */
const RESOLVER_FAILURES = new Set([
  'ESERVFAIL',
  'ETIMEOUT',
  'ECONNREFUSED',
  'EREFUSED',
  'EFORMERR',
  'EBADRESP',
  'ECANCELLED',
  'ENOTIMP',
  'EDESTRUCTION',
  'EFILE',
  'ENOMEM',
  'ETIMEDOUT',
]);

export type HostOutcome =
  | { readonly kind: 'resolved'; readonly addresses: readonly string[] }
  | { readonly kind: 'literal'; readonly addresses: readonly string[] }
  /** The name does not exist (NXDOMAIN): the tracker is gone or the URL is wrong. */
  | { readonly kind: 'nxdomain'; readonly code: string }
  /** The name exists but has no A or AAAA record. */
  | { readonly kind: 'nodata'; readonly code: string }
  /** The resolver failed (SERVFAIL, timeout, refused): our DNS is at fault, not the name. */
  | { readonly kind: 'resolver'; readonly code: string };

export interface HostReport {
  readonly host: string;
  readonly ms: number;
  readonly outcome: HostOutcome;
}

/** Most hosts resolved at once: a torrent's tracker list is small, and this keeps a 1000-URL list polite. */
const MAX_PARALLEL_LOOKUPS = 8;

function codeOf(e: unknown): string {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : 'EUNKNOWN';
}

async function bounded<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('DNS timeout'), { code: 'ETIMEOUT' })), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** Classifies the A and AAAA outcomes of one name. Pure. */
export function classify(a: PromiseSettledResult<string[]>, aaaa: PromiseSettledResult<string[]>): HostOutcome {
  const addresses = [...(a.status === 'fulfilled' ? a.value : []), ...(aaaa.status === 'fulfilled' ? aaaa.value : [])];
  if (addresses.length > 0) return { kind: 'resolved', addresses };
  const codes = [a, aaaa].map((r) => (r.status === 'rejected' ? codeOf(r.reason) : 'ENODATA'));
  const failure = codes.find((c) => RESOLVER_FAILURES.has(c));
  if (failure !== undefined) return { kind: 'resolver', code: failure };
  if (codes.includes('ENOTFOUND')) return { kind: 'nxdomain', code: 'ENOTFOUND' };
  if (codes.every((c) => c === 'ENODATA')) return { kind: 'nodata', code: 'ENODATA' };
  return { kind: 'resolver', code: codes.find((c) => c !== 'ENODATA') ?? 'EUNKNOWN' };
}

export async function resolveHost(deps: DnsDeps, host: string): Promise<HostReport> {
  const started = deps.clock.mono();
  const done = (outcome: HostOutcome): HostReport => ({ host, ms: Math.round(deps.clock.mono() - started), outcome });
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIP(bare) !== 0) return done({ kind: 'literal', addresses: [bare] });
  if (bare.toLowerCase() === 'localhost') {
    try {
      return done({ kind: 'literal', addresses: await bounded(deps.lookupLocalhost(), deps.timeoutMs) });
    } catch (e) {
      return done({ kind: 'resolver', code: codeOf(e) });
    }
  }
  const [a, aaaa] = await Promise.allSettled([bounded(deps.resolver.resolve4(bare), deps.timeoutMs), bounded(deps.resolver.resolve6(bare), deps.timeoutMs)]);
  return done(classify(a, aaaa));
}

/** Resolves every host with at most MAX_PARALLEL_LOOKUPS in flight; reports in the input order. */
export async function resolveHosts(deps: DnsDeps, hosts: readonly string[]): Promise<HostReport[]> {
  const out: HostReport[] = new Array<HostReport>(hosts.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < hosts.length) {
      const i = next++;
      out[i] = await resolveHost(deps, hosts[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(MAX_PARALLEL_LOOKUPS, hosts.length) }, worker));
  return out;
}

function line(r: HostReport): string {
  const o = r.outcome;
  switch (o.kind) {
    case 'resolved':
      return `${r.host}: ${o.addresses.join(', ')} (${r.ms} ms)`;
    case 'literal':
      return `${r.host}: ${o.addresses.join(', ')} (${isIP(r.host.replace(/^\[|\]$/g, '')) !== 0 ? 'no lookup needed' : 'hosts file'})`;
    case 'nxdomain':
      return `${r.host}: does not exist (NXDOMAIN, ${r.ms} ms)`;
    case 'nodata':
      return `${r.host}: exists but has no address (${r.ms} ms)`;
    case 'resolver':
      return `${r.host}: resolver failed (${o.code}, ${r.ms} ms)`;
  }
}

/**
 * Check 3: each tracker host resolves, with time and addresses; a resolver failure is told apart
 * from a name that does not exist, since the advice differs (fix your DNS, or drop the tracker).
 */
export function dnsResult(reports: readonly HostReport[], clock: Clock, started: number): CheckResult {
  const named = reports.filter((r) => r.outcome.kind !== 'literal');
  const good = reports.filter((r) => r.outcome.kind === 'resolved' || r.outcome.kind === 'literal');
  const resolverFailures = reports.filter((r) => r.outcome.kind === 'resolver');
  const missing = reports.filter((r) => r.outcome.kind === 'nxdomain' || r.outcome.kind === 'nodata');
  const data = { hosts: reports };
  const detail = reports.map(line);
  if (reports.length === 0) {
    return result('dns', clock, started, { status: 'skip', summary: 'no tracker host to resolve', data });
  }
  if (named.length === 0) {
    return result('dns', clock, started, { status: 'ok', summary: 'no tracker host needs a DNS lookup', detail, data });
  }
  const summary = `${good.length} of ${reports.length} tracker hosts resolved`;
  const firstFailure = resolverFailures[0]?.outcome;
  const advice =
    firstFailure?.kind === 'resolver'
      ? `your DNS resolver fails for ${resolverFailures.length} name(s) (${firstFailure.code}): check /etc/resolv.conf or your router, or try another DNS server`
      : missing.length > 0
        ? `${missing.length} tracker name(s) do not exist: those trackers are gone; remove them from the torrent (tc-enhance) or use others`
        : undefined;
  const status = good.length === 0 ? 'fail' : good.length < reports.length ? 'warn' : 'ok';
  return result('dns', clock, started, { status, summary, detail, ...(status !== 'ok' ? { advice } : {}), data });
}
