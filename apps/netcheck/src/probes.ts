import { probeHandshake } from '@tc/engine';
import { TrackerProber, type AnnounceRequest, type Lookup } from '@tc/tracker';
import { USER_AGENT } from '@tc/wire';
import { createSocket } from 'node:dgram';
import { createServer, isIP } from 'node:net';
import type { Transport } from './checks/listen.js';
import type { AnnounceOutcome, PeerProbeOutcome } from './checks/peers.js';
import type { TrackerProbeOutcome } from './checks/trackers.js';

/**
 * The network edge of tc-netcheck: binds, and the tracker and handshake probes of @tc/tracker and
 * @tc/engine (the client's own code paths, so a pass here means they work), each bounded in time and
 * dialling trackers only at the addresses the DNS check found.
 */

/**
 * Binds `port` then releases it at once: TCP on 0.0.0.0, as the engine's Session listens (its IPv6
 * listener is optional), and UDP on 0.0.0.0 for uTP and the DHT.
 */
export function bindProbe(transport: Transport, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (transport === 'tcp') {
      const s = createServer();
      s.once('error', reject);
      s.listen({ port, host: '0.0.0.0', exclusive: true }, () => s.close(() => resolve()));
    } else {
      const u = createSocket('udp4');
      u.once('error', (e) => {
        u.close();
        reject(e);
      });
      u.bind({ port, address: '0.0.0.0', exclusive: true }, () => u.close(() => resolve()));
    }
  });
}

/** Host → addresses, as the DNS check found them: trackers are then dialled at exactly those. */
export type AddressBook = ReadonlyMap<string, readonly string[]>;

function hostOf(url: string): string {
  try {
    const h = new URL(url).hostname;
    return h.startsWith('[') ? h.slice(1, -1) : h;
  } catch {
    return '';
  }
}

/** Looks a host up in the address book; literals pass through. Never falls back to the system resolver. */
function fromBook(book: AddressBook, host: string): { address: string; family: 4 | 6 }[] {
  const fam = isIP(host);
  if (fam === 4 || fam === 6) return [{ address: host, family: fam }];
  const addrs = book.get(host.toLowerCase()) ?? [];
  return addrs.map((a) => ({ address: a, family: isIP(a) === 6 ? 6 : 4 }));
}

/** The address book as the tracker prober's resolver, for HTTP and UDP alike. */
export function bookLookup(book: AddressBook): Lookup {
  return async (host) => {
    const addrs = fromBook(book, host);
    if (addrs.length === 0) throw Object.assign(new Error(`${host} did not resolve (see the DNS check)`), { code: 'ENOTFOUND' });
    return addrs;
  };
}

export interface ProbeContext {
  readonly book: AddressBook;
  readonly prober: TrackerProber;
  /** A 20-byte info-hash to scrape with (the torrent's, or a fixed harmless one). */
  readonly infoHash: Buffer;
}

/** A prober that stays within a netcheck's per-probe bound (BEP 15's 15 s per silence would not). */
export function proberFor(book: AddressBook, timeoutMs: number, wallNow: () => number): TrackerProber {
  return new TrackerProber({
    userAgent: USER_AGENT,
    timeoutMs,
    // One retransmission inside the probe's budget: a lost datagram on a good path is rare, a dead tracker common.
    udpRetransmitBaseMs: Math.max(200, Math.floor(timeoutMs / 3)),
    udpMaxRetransmits: 1,
    lookup: bookLookup(book),
    wallNow,
  });
}

/** Probes one tracker (is it up?) with the shared prober; never rejects. */
export async function probeTracker(ctx: ProbeContext, url: string, signal: AbortSignal): Promise<TrackerProbeOutcome> {
  const host = hostOf(url);
  if (/^(https?|udp):/i.test(url) && fromBook(ctx.book, host).length === 0) {
    return { url, state: 'dead', ms: 0, code: 'TRACKER_DNS', message: 'not probed: its host did not resolve (see DNS)' };
  }
  const r = await ctx.prober.reach(url, ctx.infoHash, signal);
  return { ...r, ms: Math.round(r.ms), ...(r.connectMs !== undefined ? { connectMs: Math.round(r.connectMs) } : {}) };
}

/** One announce with the shared prober; never rejects. BEP 24's external ip comes with the result. */
export async function announceTo(ctx: ProbeContext, url: string, req: AnnounceRequest, signal: AbortSignal): Promise<AnnounceOutcome> {
  const r = await ctx.prober.announce(url, req, signal);
  const ms = Math.round(r.ms);
  if (!r.ok) return { url, ok: false, ms, peers: [], code: r.error.code, message: r.error.message };
  const a = r.value;
  return {
    url,
    ok: true,
    ms,
    peers: a.peers.map((p) => ({ ip: p.ip, port: p.port })),
    ...(a.complete !== undefined ? { seeders: a.complete } : {}),
    ...(a.incomplete !== undefined ? { leechers: a.incomplete } : {}),
    ...(a.externalIp !== undefined ? { externalIp: a.externalIp } : {}),
  };
}

/** One BitTorrent handshake with the engine's probe; never rejects. An abort is the overall --timeout. */
export async function handshakePeer(
  peer: { ip: string; port: number },
  infoHash: Buffer,
  peerId: Buffer,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<PeerProbeOutcome> {
  const h = await probeHandshake(peer, { infoHash, peerId, timeoutMs, signal });
  const ms = Math.round(h.ms);
  if (h.state === 'aborted') return { ip: h.ip, port: h.port, state: 'timeout', ms, message: 'stopped by the overall --timeout' };
  return {
    ip: h.ip,
    port: h.port,
    state: h.state,
    ms,
    ...(h.client !== undefined ? { client: h.client } : {}),
    ...(h.yourip !== undefined ? { yourip: h.yourip } : {}),
    ...(h.message !== undefined ? { message: h.message } : {}),
  };
}
