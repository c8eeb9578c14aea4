import { BDict, decode } from '@tc/codec';
import {
  httpAnnounce,
  httpGet,
  httpScrape,
  isTrackerError,
  schemeOf,
  scrapeUrlFor,
  UdpTrackerClient,
  type AnnounceRequest,
  type HttpExchange,
} from '@tc/tracker';
import {
  decodeExtendedHandshake,
  describePeerId,
  encodeExtendedHandshake,
  encodeHandshake,
  encodeMessage,
  formatIp,
  EXTENDED_HANDSHAKE_ID,
  MessageDecoder,
  USER_AGENT,
  type Features,
} from '@tc/wire';
import { createSocket } from 'node:dgram';
import { createServer, connect, isIP } from 'node:net';
import { Agent, type Dispatcher } from 'undici';
import type { Transport } from './checks/listen.js';
import type { AnnounceOutcome, PeerProbeOutcome } from './checks/peers.js';
import type { TrackerProbeOutcome } from './checks/trackers.js';
import type { Clock } from './checks/types.js';

/**
 * The network edge of tc-netcheck: binds, tracker probes and peer handshakes, each bounded in time
 * and built on the tracker and wire packages, so a pass here means the client's code paths work.
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

function notResolved(host: string): Error {
  return Object.assign(new Error(`${host} did not resolve (see the DNS check)`), { code: 'ENOTFOUND' });
}

/**
 * An undici Agent whose connections resolve through the address book, so HTTP trackers are dialled
 * at the addresses the DNS check reported (and a test DNS server covers HTTP trackers too).
 */
export function bookAgent(book: AddressBook, connectTimeoutMs: number): Agent {
  return new Agent({
    connectTimeout: connectTimeoutMs,
    connect: {
      lookup: (hostname, options, callback) => {
        const addrs = fromBook(book, hostname);
        const first = addrs[0];
        const all = (options as { all?: boolean }).all === true;
        if (first === undefined) {
          (callback as (err: Error | null, address: string, family: number) => void)(notResolved(hostname), '', 0);
        } else if (all) {
          (callback as unknown as (err: Error | null, addresses: { address: string; family: number }[]) => void)(null, addrs);
        } else {
          (callback as (err: Error | null, address: string, family: number) => void)(null, first.address, first.family);
        }
      },
    },
  });
}

function errCode(e: unknown): string {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : 'ERROR';
}

function errMessage(e: unknown): string {
  if (isTrackerError(e) && e.trackerMessage !== undefined) return `tracker said: ${e.trackerMessage}`;
  return e instanceof Error ? e.message : String(e);
}

/** A TRACKER_* code that still proves a server answered us. */
function answeredCode(code: string): boolean {
  return code === 'TRACKER_FAILURE' || code === 'TRACKER_HTTP_STATUS' || code === 'TRACKER_BAD_RESPONSE';
}

export interface ProbeContext {
  readonly book: AddressBook;
  readonly dispatcher: Dispatcher;
  readonly udp: UdpTrackerClient;
  readonly clock: Clock;
  /** Per-request bound, milliseconds. */
  readonly timeoutMs: number;
  /** A 20-byte info-hash to scrape with (the torrent's, or a fixed harmless one). */
  readonly infoHash: Buffer;
  /** Records when the first UDP datagram went to and came from each endpoint, for connect timings. */
  readonly udpTimes: Map<string, { sent?: number; received?: number }>;
}

/** Options for the UDP client so that a netcheck stays within its deadline (BEP 15's 15 s would not). */
export function udpClientFor(book: AddressBook, clock: Clock, timeoutMs: number, udpTimes: ProbeContext['udpTimes']): UdpTrackerClient {
  return new UdpTrackerClient({
    // A socket connected to each tracker sees the ICMP port unreachable of a closed port: "refused"
    // at once, told apart from a silent tracker (a timeout), and no retransmission budget spent.
    sockets: 'per-tracker',
    lookup: async (host) => {
      const addrs = fromBook(book, host);
      if (addrs.length === 0) throw notResolved(host);
      return addrs;
    },
    // One retransmission inside the probe's budget: a lost datagram on a good path is rare, a dead tracker common.
    retransmitBaseMs: Math.max(200, Math.floor(timeoutMs / 3)),
    maxRetransmits: 1,
    onPacket: (p) => {
      const key = `${p.endpoint.address}|${p.endpoint.port}`;
      const t = udpTimes.get(key) ?? {};
      if (p.direction === 'sent' && t.sent === undefined) t.sent = clock.mono();
      if (p.direction === 'received' && t.received === undefined) t.received = clock.mono();
      udpTimes.set(key, t);
    },
  });
}

/**
 * Probes one tracker: HTTP(S) with a BEP 48 scrape (or a plain GET of the announce URL when it has
 * no scrape URL: any HTTP answer proves the server is up); UDP with BEP 15 connect + scrape, the
 * connect round trip timed on its own. Never rejects.
 */
export async function probeTracker(ctx: ProbeContext, url: string, signal: AbortSignal): Promise<TrackerProbeOutcome> {
  const started = ctx.clock.mono();
  const ms = (): number => Math.round(ctx.clock.mono() - started);
  const scheme = schemeOf(url);
  const host = hostOf(url);
  if (scheme !== 'http' && scheme !== 'https' && scheme !== 'udp') {
    return { url, state: 'unsupported', ms: 0, message: `${scheme || 'unknown'}: trackers are not spoken by tc` };
  }
  if (fromBook(ctx.book, host).length === 0) {
    return { url, state: 'dead', ms: 0, code: 'TRACKER_DNS', message: 'not probed: its host did not resolve (see DNS)' };
  }
  let date: TrackerProbeOutcome['date'];
  const onExchange = (x: HttpExchange): void => {
    const d = x.headers.date;
    const header = Array.isArray(d) ? d[0] : d;
    if (header !== undefined && date === undefined) date = { header, seenAtMs: ctx.clock.wall() };
  };
  const http = { dispatcher: ctx.dispatcher, timeoutMs: ctx.timeoutMs, userAgent: USER_AGENT, signal, onExchange };
  try {
    if (scheme === 'udp') {
      await ctx.udp.scrape(url, [ctx.infoHash], { signal });
    } else if (scrapeUrlFor(url) !== undefined) {
      await httpScrape(url, [ctx.infoHash], http);
    } else {
      const res = await httpGet(url, http);
      if (res.status !== 200) {
        return { url, state: 'answered', ms: ms(), code: 'TRACKER_HTTP_STATUS', message: `HTTP ${res.status}`, ...(date ? { date } : {}) };
      }
    }
    return { url, state: 'alive', ms: ms(), ...udpConnectMs(ctx, url), ...(date ? { date } : {}) };
  } catch (e) {
    const code = errCode(e);
    const state = answeredCode(code) ? 'answered' : code === 'TRACKER_UNSUPPORTED' ? 'unsupported' : 'dead';
    return { url, state, ms: ms(), code, message: errMessage(e), ...(state === 'answered' ? udpConnectMs(ctx, url) : {}), ...(date ? { date } : {}) };
  }
}

function udpConnectMs(ctx: ProbeContext, url: string): { connectMs?: number } {
  if (schemeOf(url) !== 'udp') return {};
  let port = 0;
  try {
    port = Number(new URL(url).port);
  } catch {
    return {};
  }
  for (const a of fromBook(ctx.book, hostOf(url))) {
    const t = ctx.udpTimes.get(`${a.address}|${port}`);
    if (t?.sent !== undefined && t.received !== undefined) return { connectMs: Math.round(t.received - t.sent) };
  }
  return {};
}

/** BEP 24: `external ip` in an HTTP announce reply, 4 or 16 raw bytes. */
export function externalIpOf(body: Buffer): string | undefined {
  try {
    const v = decode(body, { mode: 'lenient', maxDepth: 8, maxTokens: 100_000 });
    if (!(v instanceof BDict)) return undefined;
    const ip = v.get('external ip');
    return Buffer.isBuffer(ip) ? formatIp(ip) : undefined;
  } catch {
    // A body that does not decode is the announce's problem, reported there.
  }
  return undefined;
}

/** One announce through the client's tracker code; never rejects. */
export async function announceTo(ctx: ProbeContext, url: string, req: AnnounceRequest, signal: AbortSignal): Promise<AnnounceOutcome> {
  const started = ctx.clock.mono();
  const ms = (): number => Math.round(ctx.clock.mono() - started);
  let externalIp: string | undefined;
  const onExchange = (x: HttpExchange): void => {
    if (x.status === 200) externalIp ??= externalIpOf(x.body);
  };
  try {
    const scheme = schemeOf(url);
    const r =
      scheme === 'udp'
        ? await ctx.udp.announce(url, req, { signal })
        : await httpAnnounce(url, req, { dispatcher: ctx.dispatcher, timeoutMs: ctx.timeoutMs, userAgent: USER_AGENT, signal, onExchange });
    return {
      url,
      ok: true,
      ms: ms(),
      peers: r.peers.map((p) => ({ ip: p.ip, port: p.port })),
      ...(r.complete !== undefined ? { seeders: r.complete } : {}),
      ...(r.incomplete !== undefined ? { leechers: r.incomplete } : {}),
      ...(externalIp !== undefined ? { externalIp } : {}),
    };
  } catch (e) {
    return { url, ok: false, ms: ms(), peers: [], code: errCode(e), message: errMessage(e) };
  }
}

/** Bytes we read from one peer at most: the handshake, a bitfield and the extended handshake fit easily. */
const MAX_PEER_BYTES = 256 * 1024;
/** Messages we read at most while waiting for the extended handshake. */
const MAX_PEER_MESSAGES = 64;
/** After the handshake, how long we wait for the BEP 10 handshake (libtorrent sends it at once). */
const EXTENDED_WAIT_MS = 1_000;

const LOCAL_FEATURES: Features = { extended: true, fast: true };

/**
 * Dials a peer, sends the BEP 3 handshake (and our BEP 10 handshake carrying `yourip`), and reads
 * back its handshake and, briefly, its extended handshake. Sends no requests; never rejects.
 */
export function handshakePeer(
  peer: { ip: string; port: number },
  infoHash: Buffer,
  peerId: Buffer,
  clock: Clock,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<PeerProbeOutcome> {
  const started = clock.mono();
  const ms = (): number => Math.round(clock.mono() - started);
  return new Promise((resolve) => {
    let settled = false;
    let client: string | undefined;
    let handshakeMs: number | undefined;
    let extTimer: NodeJS.Timeout | undefined;
    const socket = connect({ host: peer.ip, port: peer.port });
    const finish = (o: Omit<PeerProbeOutcome, 'ip' | 'port'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(extTimer);
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve({ ip: peer.ip, port: peer.port, ...o });
    };
    const handshaken = (extra: { yourip?: string; v?: string } = {}): void => {
      // The peer id names the client by convention (BEP 20); the BEP 10 `v` string stands in when it does not.
      const name = client ?? (extra.v !== undefined ? `"${extra.v}"` : undefined);
      finish({
        state: 'ok',
        ms: handshakeMs ?? ms(),
        ...(name !== undefined ? { client: name } : {}),
        ...(extra.yourip !== undefined ? { yourip: extra.yourip } : {}),
      });
    };
    const timer = setTimeout(() => {
      if (handshakeMs !== undefined) handshaken();
      else finish({ state: 'timeout', ms: ms(), message: `no handshake within ${timeoutMs} ms` });
    }, timeoutMs);
    const onAbort = (): void => finish({ state: 'timeout', ms: ms(), message: 'stopped by the overall --timeout' });
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) return onAbort();
    const decoder = new MessageDecoder({ features: LOCAL_FEATURES });
    let bytes = 0;
    let messages = 0;
    socket.on('connect', () => {
      const ext = encodeMessage({ type: 'extended', id: EXTENDED_HANDSHAKE_ID, payload: encodeExtendedHandshake({ m: {}, yourip: peer.ip }) });
      socket.write(Buffer.concat([encodeHandshake({ infoHash, peerId, features: LOCAL_FEATURES }), ext]));
    });
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > MAX_PEER_BYTES) return handshakeMs !== undefined ? handshaken() : finish({ state: 'error', ms: ms(), message: 'too many bytes before a handshake' });
      let events;
      try {
        events = decoder.push(chunk);
      } catch (e) {
        return handshakeMs !== undefined ? handshaken() : finish({ state: 'error', ms: ms(), message: errMessage(e) });
      }
      for (const ev of events) {
        if (ev.type === 'handshake') {
          if (!ev.infoHash.equals(infoHash)) return finish({ state: 'wrong-torrent', ms: ms(), message: 'answered for another torrent' });
          if (ev.peerId.equals(peerId)) return finish({ state: 'self', ms: ms(), message: 'this is us' });
          handshakeMs = ms();
          client = describePeerId(ev.peerId);
          if (decoder.features?.extended !== true) return handshaken();
          extTimer = setTimeout(() => handshaken(), EXTENDED_WAIT_MS);
        } else if (ev.type === 'extended' && ev.id === EXTENDED_HANDSHAKE_ID) {
          try {
            const h = decodeExtendedHandshake(ev.payload);
            return handshaken({ ...(h.yourip !== undefined ? { yourip: h.yourip } : {}), ...(h.v !== undefined ? { v: h.v } : {}) });
          } catch {
            return handshaken();
          }
        } else if (++messages > MAX_PEER_MESSAGES) {
          return handshaken();
        }
      }
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (handshakeMs !== undefined) return handshaken();
      const code = e.code ?? 'ERROR';
      finish({ state: code === 'ECONNREFUSED' ? 'refused' : 'error', ms: ms(), message: code === 'ECONNREFUSED' ? 'connection refused' : `${code}` });
    });
    socket.on('close', () => {
      if (handshakeMs !== undefined) return handshaken();
      finish({ state: 'error', ms: ms(), message: 'closed the connection before its handshake' });
    });
  });
}
