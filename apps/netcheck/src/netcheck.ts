import type { AnnounceRequest } from '@tc/tracker';
import type { NetworkInterfaceInfo } from 'node:os';
import { checkAddresses, localAddresses } from './checks/addresses.js';
import { type DnsResolver, dnsResult, type HostReport, resolveHosts } from './checks/dns.js';
import { checkEnvironment, type ClockReference, skewFromDateHeader } from './checks/environment.js';
import { type ExternalReport, inboundResult } from './checks/inbound.js';
import { type BindProbe, checkListen, type PortOwnerLookup } from './checks/listen.js';
import { type AnnounceOutcome, type PeerProbeOutcome, peersResult, pickPeers } from './checks/peers.js';
import { probeTrackers, type TrackerProbeOutcome, trackersResult } from './checks/trackers.js';
import { CHECK_IDS, type CheckId, type CheckResult, type Clock } from './checks/types.js';

/** What to check, after argument parsing. */
export interface NetcheckPlan {
  readonly only: ReadonlySet<CheckId>;
  readonly port: number;
  /** The port is the default (no --port, no TC_PORT): the commands fall back to a free one when it is taken. */
  readonly portIsDefault?: boolean;
  /** BEP 12 tiers of tracker URLs. */
  readonly tiers: readonly (readonly string[])[];
  /** Where the tracker list came from, for the header line. */
  readonly trackerSource: string;
  /** The torrent, when one was given (check 5 needs it). */
  readonly torrent?: { readonly infoHash: Buffer; readonly name?: string; readonly left: number };
  /** Peers to handshake with at most. */
  readonly peers: number;
  /** Overall deadline, milliseconds. */
  readonly timeoutMs: number;
  /** Bound on each DNS lookup, tracker request and peer handshake, milliseconds. */
  readonly probeTimeoutMs: number;
}

/** The network operations that need resolved addresses; made once DNS has run. */
export interface Network {
  probeTracker(url: string, signal: AbortSignal): Promise<TrackerProbeOutcome>;
  announce(url: string, req: AnnounceRequest, signal: AbortSignal): Promise<AnnounceOutcome>;
  handshake(peer: { ip: string; port: number }, infoHash: Buffer, peerId: Buffer, signal: AbortSignal): Promise<PeerProbeOutcome>;
  close(): Promise<void>;
}

export interface NetcheckDeps {
  readonly clock: Clock;
  readonly interfaces: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
  readonly bind: BindProbe;
  readonly owner?: PortOwnerLookup;
  readonly resolver: DnsResolver;
  readonly lookupLocalhost: () => Promise<string[]>;
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Builds the network edge over the address book the DNS check produced (host → addresses).
   * Trackers are scraped for `infoHash` (the torrent's, when there is one).
   */
  readonly network: (book: ReadonlyMap<string, readonly string[]>, probeTimeoutMs: number, infoHash: Buffer | undefined) => Network;
  readonly peerId: () => Buffer;
  /** BEP 7 `key`: a random 32-bit value. */
  readonly announceKey: () => number;
  /** Aborted on Ctrl-C. */
  readonly signal?: AbortSignal;
}

export interface NetcheckReport {
  readonly checks: readonly CheckResult[];
  /** True when no check failed: everything a download needs works. */
  readonly ok: boolean;
  readonly ms: number;
}

/** Trackers we announce to at most for check 5: the first live one of each tier, like a client's first round. */
export const MAX_ANNOUNCES = 5;
/** Numwant for the check's announce: enough to pick N peers from, far below the trackers' caps. */
const ANNOUNCE_NUMWANT = 50;
/** The `stopped` announce that takes us out of the swarm again gets this long (CLI.md: bounded at exit). */
const STOP_ANNOUNCE_TIMEOUT_MS = 2_000;

function hostOf(url: string): string | undefined {
  try {
    const h = new URL(url).hostname;
    return h === '' ? undefined : h.startsWith('[') ? h.slice(1, -1) : h.toLowerCase();
  } catch {
    return undefined;
  }
}

function needs(plan: NetcheckPlan): { dns: boolean; trackers: boolean; peers: boolean } {
  const on = (id: CheckId): boolean => plan.only.has(id);
  const peers = plan.torrent !== undefined && (on('peers') || on('inbound'));
  const trackers = on('trackers') || peers || on('inbound');
  return { dns: on('dns') || trackers, trackers, peers };
}

/** Runs the selected checks, independent ones in parallel, each bounded; never throws for network trouble. */
export async function runNetcheck(plan: NetcheckPlan, deps: NetcheckDeps): Promise<NetcheckReport> {
  const { clock } = deps;
  const t0 = clock.mono();
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new Error('overall timeout')), plan.timeoutMs);
  const onOuter = (): void => deadline.abort(new Error('interrupted'));
  deps.signal?.addEventListener('abort', onOuter, { once: true });
  const signal = deadline.signal;
  const results = new Map<CheckId, CheckResult>();
  const need = needs(plan);
  const urls = [...new Set(plan.tiers.flat())];
  let network: Network | undefined;
  try {
    const ifaces = deps.interfaces();
    if (plan.only.has('addresses')) results.set('addresses', checkAddresses(ifaces, clock));
    const listening = plan.only.has('listen')
      ? checkListen({ bind: deps.bind, ...(deps.owner ? { owner: deps.owner } : {}), clock }, plan.port, { fallback: plan.portIsDefault === true })
      : undefined;

    // 3. DNS, which the tracker and peer checks build on.
    let hostReports: HostReport[] = [];
    const dnsStarted = clock.mono();
    if (need.dns) {
      const hosts = [...new Set(urls.map(hostOf).filter((h): h is string => h !== undefined))];
      hostReports = await resolveHosts({ resolver: deps.resolver, lookupLocalhost: deps.lookupLocalhost, clock, timeoutMs: plan.probeTimeoutMs }, hosts);
      if (plan.only.has('dns')) results.set('dns', dnsResult(hostReports, clock, dnsStarted));
    }
    const book = new Map<string, readonly string[]>();
    for (const r of hostReports) {
      if (r.outcome.kind === 'resolved' || r.outcome.kind === 'literal') book.set(r.host.toLowerCase(), r.outcome.addresses);
    }

    // 4. Trackers, all in parallel.
    let outcomes: TrackerProbeOutcome[] = [];
    if (need.trackers) {
      network = deps.network(book, plan.probeTimeoutMs, plan.torrent?.infoHash);
      const started = clock.mono();
      outcomes = await probeTrackers(network.probeTracker.bind(network), urls, signal);
      if (plan.only.has('trackers')) results.set('trackers', trackersResult(plan.tiers, outcomes, clock, started));
    }

    // 5. Peers: announce to the first live tracker of each tier, then handshake with up to N peers.
    const announces: AnnounceOutcome[] = [];
    const probes: PeerProbeOutcome[] = [];
    if (need.peers && plan.torrent !== undefined && network !== undefined) {
      const net = network;
      const started = clock.mono();
      const state = new Map(outcomes.map((o) => [o.url, o.state]));
      const targets: string[] = [];
      for (const tier of plan.tiers) {
        const live = tier.find((u) => state.get(u) === 'alive');
        if (live !== undefined && targets.length < MAX_ANNOUNCES) targets.push(live);
      }
      const peerId = deps.peerId();
      const base = { infoHash: plan.torrent.infoHash, peerId, port: plan.port, uploaded: 0, downloaded: 0, left: plan.torrent.left, key: deps.announceKey() };
      announces.push(...(await Promise.all(targets.map((u) => net.announce(u, { ...base, event: 'started', numwant: ANNOUNCE_NUMWANT }, signal)))));
      const mine = new Set(localAddresses(ifaces).map((a) => a.address));
      const isSelf = (p: { ip: string; port: number }): boolean => p.port === plan.port && mine.has(p.ip);
      const all = pickPeers(announces, Number.MAX_SAFE_INTEGER, isSelf);
      const chosen = pickPeers(announces, plan.peers, isSelf);
      probes.push(...(await Promise.all(chosen.map((p) => net.handshake(p, plan.torrent!.infoHash, peerId, signal)))));
      // Leave the swarm as a client would on exit: a `stopped` announce, bounded, errors ignored.
      const stop = AbortSignal.timeout(STOP_ANNOUNCE_TIMEOUT_MS);
      await Promise.all(announces.filter((a) => a.ok).map((a) => net.announce(a.url, { ...base, event: 'stopped', numwant: 0 }, stop)));
      if (plan.only.has('peers')) results.set('peers', peersResult(announces, probes, all.length, clock, started));
    } else if (plan.only.has('peers')) {
      results.set('peers', {
        id: 'peers',
        title: 'Peers',
        status: 'skip',
        ms: 0,
        summary: 'needs a torrent or magnet link',
        detail: [],
        data: {},
      });
    }

    // 6. Inbound: what trackers and peers say our address is.
    if (plan.only.has('inbound')) {
      const started = clock.mono();
      const reports: ExternalReport[] = [
        ...announces.filter((a) => a.externalIp !== undefined).map((a) => ({ source: a.url, ip: a.externalIp! })),
        ...probes.filter((p) => p.yourip !== undefined).map((p) => ({ source: `peer ${p.ip.includes(':') ? `[${p.ip}]` : p.ip}:${p.port}`, ip: p.yourip! })),
      ];
      results.set('inbound', inboundResult(reports, localAddresses(ifaces), plan.port, clock, started));
    }

    // 7. Environment, using the trackers' Date headers for the clock.
    if (plan.only.has('env')) {
      const started = clock.mono();
      const refs: ClockReference[] = [];
      for (const o of outcomes) {
        if (o.date === undefined) continue;
        const ref = skewFromDateHeader(o.url, o.date.header, o.date.seenAtMs);
        if (ref) refs.push(ref);
      }
      const dead = new Set(outcomes.filter((o) => o.state === 'dead').map((o) => o.url));
      results.set('env', checkEnvironment(deps.env, urls, refs, clock, started, dead));
    }
    if (listening) results.set('listen', await listening);
  } finally {
    clearTimeout(timer);
    deps.signal?.removeEventListener('abort', onOuter);
    deps.resolver.cancel?.();
    await network?.close();
  }
  const checks = CHECK_IDS.filter((id) => results.has(id)).map((id) => results.get(id)!);
  return { checks, ok: !checks.some((c) => c.status === 'fail'), ms: Math.round(clock.mono() - t0) };
}
