import { type CheckResult, type Clock, result } from './types.js';

/** What announcing to one tracker gave us. */
export interface AnnounceOutcome {
  readonly url: string;
  readonly ok: boolean;
  readonly ms: number;
  readonly peers: readonly { readonly ip: string; readonly port: number }[];
  readonly seeders?: number;
  readonly leechers?: number;
  /** BEP 24 `external ip`: our address as the tracker saw it. */
  readonly externalIp?: string;
  readonly code?: string;
  readonly message?: string;
}

/** What one BitTorrent handshake attempt gave us. */
export interface PeerProbeOutcome {
  readonly ip: string;
  readonly port: number;
  /** `ok`: a handshake for our torrent came back. `self`: it was our own peer id. */
  readonly state: 'ok' | 'refused' | 'timeout' | 'wrong-torrent' | 'self' | 'error';
  /** Milliseconds from dialling to the peer's handshake (ok), or to the failure. */
  readonly ms: number;
  /** Client named from the peer id (BEP 20) and/or the extended handshake `v` (untrusted). */
  readonly client?: string;
  /** BEP 10 `yourip`: our address as the peer saw it. */
  readonly yourip?: string;
  readonly message?: string;
}

/** Most peers we dial: the issue's "up to N", bounded so a netcheck never looks like a scan. */
export const MAX_PEERS_TRIED = 50;
export const DEFAULT_PEERS_TRIED = 10;

/**
 * Unique peers from all announces, in the order they came, at most `n`, leaving out ourselves
 * (trackers hand us our own address back: one of our addresses with our listen port).
 */
export function pickPeers(
  announces: readonly AnnounceOutcome[],
  n: number,
  isSelf: (p: { ip: string; port: number }) => boolean = () => false,
): { ip: string; port: number }[] {
  const seen = new Set<string>();
  const out: { ip: string; port: number }[] = [];
  for (const a of announces) {
    for (const p of a.peers) {
      const key = `${p.ip}|${p.port}`;
      if (seen.has(key) || isSelf(p)) continue;
      seen.add(key);
      if (out.length < n) out.push({ ip: p.ip, port: p.port });
    }
  }
  return out;
}

function median(xs: readonly number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * Check 5: announce, then handshake with up to N returned peers; how many answered, how fast, and
 * what clients they run. Peers that answered mean downloads can start; none answering is a failure
 * (the swarm is unreachable from here), while an empty swarm is only a warning (not a network fault).
 */
export function peersResult(
  announces: readonly AnnounceOutcome[],
  probes: readonly PeerProbeOutcome[],
  totalPeers: number,
  clock: Clock,
  started: number,
): CheckResult {
  const detail: string[] = [];
  for (const a of announces) {
    detail.push(
      a.ok
        ? `announce ${a.url}: ${a.peers.length} peer(s)${a.seeders !== undefined ? `, ${a.seeders} seeder(s), ${a.leechers ?? 0} leecher(s)` : ''} (${a.ms} ms)`
        : `announce ${a.url}: failed: ${a.message ?? a.code ?? '?'} (${a.ms} ms)`,
    );
  }
  const answered = probes.filter((p) => p.state === 'ok');
  for (const p of probes) {
    const where = hostPort(p.ip, p.port);
    detail.push(
      p.state === 'ok'
        ? `✓ ${where}: ${p.client ?? 'unknown client'} (${p.ms} ms)`
        : p.state === 'self'
          ? `- ${where}: ourselves`
          : `✗ ${where}: ${p.message ?? p.state} (${p.ms} ms)`,
    );
  }
  const clients = new Map<string, number>();
  for (const p of answered) clients.set(p.client ?? 'unknown', (clients.get(p.client ?? 'unknown') ?? 0) + 1);
  const med = median(answered.map((p) => p.ms));
  const data = {
    announces,
    peersReturned: totalPeers,
    tried: probes.length,
    answered: answered.length,
    medianHandshakeMs: med ?? null,
    clients: Object.fromEntries(clients),
    peers: probes,
  };
  const okAnnounces = announces.filter((a) => a.ok);
  if (announces.length === 0 || okAnnounces.length === 0) {
    return result('peers', clock, started, {
      status: 'fail',
      summary: announces.length === 0 ? 'no live tracker to announce to' : 'every announce failed',
      detail,
      advice: 'without a tracker answering, peers can only come from DHT or PEX; fix the tracker problems above first',
      data,
    });
  }
  const tried = probes.filter((p) => p.state !== 'self');
  if (tried.length === 0) {
    return result('peers', clock, started, {
      status: 'warn',
      summary: 'the trackers know no other peer for this torrent',
      detail,
      advice: 'the swarm looks empty: wait and retry, or find a better-seeded source',
      data,
    });
  }
  const clientList = [...clients.entries()].map(([c, n]) => (n > 1 ? `${c} ×${n}` : c)).join(', ');
  const summary = `${answered.length} of ${tried.length} peers answered${med !== undefined ? `, median ${med} ms` : ''}${clientList ? `: ${clientList}` : ''}`;
  if (answered.length === 0) {
    const timeouts = tried.filter((p) => p.state === 'timeout').length;
    return result('peers', clock, started, {
      status: 'fail',
      summary,
      detail,
      advice:
        timeouts === tried.length
          ? 'no peer answered in time: a firewall may block outgoing TCP to peer ports; allow it'
          : 'no peer completed a handshake: the peers may be gone; retry later or try another source',
      data,
    });
  }
  // Some silent peers are normal (they left, or sit behind NAT); fewer than half answering is worth a note.
  const few = answered.length * 2 < tried.length;
  return result('peers', clock, started, {
    status: few ? 'warn' : 'ok',
    summary,
    detail,
    ...(few ? { advice: 'most peers did not answer; downloads can start, but slowly: check that outgoing TCP is not filtered' } : {}),
    data,
  });
}
