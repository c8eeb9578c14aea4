import { probeHandshake, type HandshakeProbe as PeerHandshake } from '@tc/engine';
import { diagnoseTracker, type AnnounceRequest, type TrackerDiagnosis, type TrackerProber } from '@tc/tracker';

export { probeError, type ProbeError, type RawExchange } from '@tc/tracker';

/** Peers listed per tracker in the human output (all are in --json). */
export const PEERS_SHOWN = 5;

/** One handshake as the report shows it (the --json schema 1 shape). */
export interface HandshakeProbe {
  readonly ip: string;
  readonly port: number;
  readonly ok: boolean;
  readonly ms?: number;
  /** Client named by its peer id, when known. */
  readonly client?: string;
  readonly peerIdHex?: string;
  /** Why it failed: refused, timeout, closed, wrong info-hash, not BitTorrent. */
  readonly error?: string;
}

/** A tracker's diagnosis (@tc/tracker), its tier, and the handshakes with the peers it gave. */
export interface TrackerProbe extends TrackerDiagnosis {
  readonly tier: number;
  readonly handshakes?: readonly HandshakeProbe[];
}

export interface ProbeContext {
  readonly prober: TrackerProber;
  /** The `started` announce every tracker gets (a `stopped` follows). */
  readonly request: AnnounceRequest;
  /** Our interface addresses: a returned peer at one of these with our port is this probe itself. */
  readonly selfAddresses: ReadonlySet<string>;
  readonly signal: AbortSignal;
  /** Peers to handshake with per tracker. */
  readonly handshakes: number;
}

const FAILED: Readonly<Partial<Record<PeerHandshake['state'], string>>> = {
  timeout: 'timeout',
  aborted: 'time limit reached',
  refused: 'refused',
  'wrong-torrent': 'answered for another info-hash',
};

function reported(h: PeerHandshake): HandshakeProbe {
  const base = {
    ip: h.ip,
    port: h.port,
    ...(h.client !== undefined ? { client: h.client } : {}),
    ...(h.peerIdHex !== undefined ? { peerIdHex: h.peerIdHex } : {}),
  };
  if (h.state === 'ok') return { ...base, ok: true, ms: h.ms };
  return { ...base, ok: false, error: FAILED[h.state] ?? h.message ?? h.state };
}

/** Diagnoses one tracker (resolve, connect, announce, scrape, `stopped`), then dials the first peers it gave. */
export async function probeTracker(url: string, tier: number, ctx: ProbeContext): Promise<TrackerProbe> {
  const isSelf = (p: { ip: string; port: number }): boolean => p.port === ctx.request.port && ctx.selfAddresses.has(p.ip);
  const d = await diagnoseTracker(ctx.prober, url, ctx.request, ctx.signal, { isSelf });
  const peers = d.announce !== undefined && 'result' in d.announce ? d.announce.result.peers.slice(0, ctx.handshakes) : [];
  if (peers.length === 0) return { ...d, tier };
  const { infoHash, peerId } = ctx.request;
  const handshakes = await Promise.all(peers.map((p) => probeHandshake(p, { infoHash, peerId, signal: ctx.signal })));
  return { ...d, tier, handshakes: handshakes.map(reported) };
}
