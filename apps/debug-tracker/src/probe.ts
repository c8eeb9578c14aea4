import { lookup } from 'node:dns/promises';
import { connect } from 'node:net';
import { isIP } from 'node:net';
import {
  TrackerError,
  httpAnnounce,
  httpScrape,
  scrapeUrlFor,
  schemeOf,
  type AnnounceRequest,
  type AnnounceResult,
  type HttpDispatcher,
  type HttpExchange,
  type ScrapeEntry,
  type UdpTrackerClient,
} from '@tc/tracker';
import { probeHandshake, round, type HandshakeProbe } from './handshake.js';

/** Peers listed per tracker in the human output (all are in --json). */
export const PEERS_SHOWN = 5;

export interface ProbeError {
  readonly code: string;
  readonly message: string;
  /** A short, plain guess at the cause. */
  readonly cause: string;
  readonly trackerMessage?: string;
  readonly status?: number;
}

export interface RawExchange {
  readonly direction: 'request' | 'response';
  readonly text: string;
}

export interface TrackerProbe {
  readonly url: string;
  readonly tier: number;
  /** Addresses the host resolved to (or the literal). */
  addresses?: string[];
  resolveMs?: number;
  /** TCP connect time for HTTP(S); the first UDP reply (BEP 15 connect) for UDP. */
  connectMs?: number;
  announce?: { ms: number; result: AnnounceResult } | { ms: number; error: ProbeError };
  scrape?: { ms: number; entry: ScrapeEntry | undefined } | { ms: number; error: ProbeError };
  handshakes?: HandshakeProbe[];
  /** The step that failed first, with its cause: resolve, connect, announce; `ms`: how long until it failed. */
  failure?: { step: 'resolve' | 'connect' | 'announce'; error: ProbeError; ms?: number };
  raw: RawExchange[];
}

export interface ProbeContext {
  readonly infoHash: Buffer;
  readonly peerId: Buffer;
  readonly port: number;
  /** Our interface addresses: a returned peer at one of these with our port is this probe itself. */
  readonly selfAddresses: ReadonlySet<string>;
  readonly key: number;
  readonly userAgent: string;
  readonly dispatcher: HttpDispatcher;
  readonly udp: UdpTrackerClient;
  /** Raw UDP packets seen, keyed by the tracker endpoint, for --verbose. */
  readonly udpPackets: Map<string, { direction: 'sent' | 'received'; bytes: Buffer; at: number }[]>;
  readonly signal: AbortSignal;
  readonly totalTimeoutMs: number;
  readonly handshakes: number;
  readonly verbose: boolean;
}

const CAUSES: Record<string, string> = {
  TRACKER_DNS: 'DNS: the host name does not resolve',
  TRACKER_REFUSED: 'refused: nothing listens on that port (tracker down or wrong port)',
  TRACKER_TIMEOUT: 'timeout: no answer (host down, packets dropped by a firewall, or UDP blocked)',
  TRACKER_HTTP_STATUS: 'HTTP status: the web server answered, but not as a tracker',
  TRACKER_FAILURE: 'tracker error: the tracker refused the request',
  TRACKER_BAD_RESPONSE: 'bad reply: the answer is not a valid tracker response',
  TRACKER_TOO_LARGE: 'reply too large: the tracker sent more than the size cap',
  TRACKER_REDIRECT: 'redirect refused or looping',
  TRACKER_UNSUPPORTED: 'unsupported: tc does not speak this tracker protocol',
  TRACKER_BAD_URL: 'bad URL: the tracker URL is malformed',
  TRACKER_NETWORK: 'network error: the host is unreachable or the connection failed',
  TRACKER_ABORTED: 'interrupted',
};

export function probeError(e: unknown, totalTimeoutMs?: number): ProbeError {
  if (e instanceof TrackerError) {
    // The overall deadline aborts every probe: for the user that is a timeout.
    const code = e.code === 'TRACKER_ABORTED' && totalTimeoutMs !== undefined ? 'TRACKER_TIMEOUT' : e.code;
    const message = code !== e.code ? `no answer within the total time limit of ${(totalTimeoutMs ?? 0) / 1000} s` : e.message;
    const status = e.code === 'TRACKER_HTTP_STATUS' && e.status !== undefined ? e.status : undefined;
    return {
      code,
      message,
      cause: status !== undefined ? `HTTP status ${status}: the web server answered, but not as a tracker` : (CAUSES[code] ?? code),
      ...(e.trackerMessage !== undefined ? { trackerMessage: e.trackerMessage } : {}),
      ...(status !== undefined ? { status } : {}),
    };
  }
  const code = (e as { code?: unknown })?.code;
  return { code: typeof code === 'string' ? code : 'ERROR', message: (e as Error)?.message ?? String(e), cause: 'unexpected error' };
}

function hostPort(url: string): { host: string; port: number } | undefined {
  try {
    const u = new URL(url);
    const scheme = u.protocol.slice(0, -1);
    const port = u.port ? Number(u.port) : scheme === 'https' ? 443 : scheme === 'http' ? 80 : NaN;
    const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
    return Number.isInteger(port) && host ? { host, port } : undefined;
  } catch {
    return undefined;
  }
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: round(performance.now() - t), value };
}

function tcpConnect(host: string, port: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    const onAbort = (): void => {
      s.destroy();
      reject(new TrackerError('TRACKER_ABORTED', 'aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    s.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      s.destroy();
      resolve();
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      signal.removeEventListener('abort', onAbort);
      const code = e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET' ? 'TRACKER_REFUSED' : e.code === 'ETIMEDOUT' ? 'TRACKER_TIMEOUT' : 'TRACKER_NETWORK';
      reject(new TrackerError(code, `TCP connect to ${host}:${port} failed (${e.code ?? e.message})`, { cause: e }));
    });
  });
}

/** Shows bytes as text with non-printables escaped (tracker bodies are mostly ASCII bencode). */
export function printable(b: Buffer, max = 2048): string {
  const s = b.subarray(0, max).toString('latin1').replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return b.length > max ? `${s}… (${b.length} bytes)` : s;
}

/** Probes one tracker: resolve, connect, announce (then a polite `stopped`), scrape, handshakes. */
export async function probeTracker(url: string, tier: number, ctx: ProbeContext): Promise<TrackerProbe> {
  const p: TrackerProbe = { url, tier, raw: [] };
  const scheme = schemeOf(url);
  if (scheme !== 'http' && scheme !== 'https' && scheme !== 'udp') {
    p.failure = { step: 'announce', error: probeError(new TrackerError('TRACKER_UNSUPPORTED', `${scheme}: trackers are not supported`)) };
    return p;
  }
  const hp = hostPort(url);
  if (hp === undefined) {
    p.failure = { step: 'announce', error: probeError(new TrackerError('TRACKER_BAD_URL', 'cannot read host and port from the URL')) };
    return p;
  }

  // 1. Resolve.
  let address: string;
  if (isIP(hp.host)) {
    p.addresses = [hp.host];
    address = hp.host;
  } else {
    try {
      const r = await timed(() => lookup(hp.host, { all: true }));
      p.resolveMs = r.ms;
      p.addresses = r.value.map((a) => a.address);
      address = r.value[0]?.address ?? hp.host;
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'unknown';
      p.failure = { step: 'resolve', error: probeError(new TrackerError('TRACKER_DNS', `${hp.host} did not resolve (${code})`, { cause: e })) };
      return p;
    }
  }

  // 2. Connect (TCP for HTTP; for UDP the BEP 15 connect exchange is timed inside the announce).
  if (scheme !== 'udp') {
    const connectStart = performance.now();
    try {
      p.connectMs = (await timed(() => tcpConnect(address, hp.port, ctx.signal))).ms;
    } catch (e) {
      p.failure = { step: 'connect', error: probeError(e, ctx.totalTimeoutMs), ms: round(performance.now() - connectStart) };
      return p;
    }
  }

  // 3. Announce.
  const req: AnnounceRequest = {
    infoHash: ctx.infoHash,
    peerId: ctx.peerId,
    port: ctx.port,
    uploaded: 0,
    downloaded: 0,
    left: 1,
    event: 'started',
    key: ctx.key,
    numwant: 50,
  };
  const onExchange = (x: HttpExchange): void => {
    p.raw.push({ direction: 'request', text: `GET ${x.url}` });
    const headers = Object.entries(x.headers)
      .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : (v ?? '')}`)
      .join('\n');
    p.raw.push({ direction: 'response', text: `HTTP ${x.status}\n${headers}\n\n${printable(x.body)}` });
  };
  const http = { dispatcher: ctx.dispatcher, userAgent: ctx.userAgent, signal: ctx.signal, ...(ctx.verbose ? { onExchange } : {}) };
  const started = performance.now();
  let result: AnnounceResult | undefined;
  let failed: ProbeError | undefined;
  try {
    const raw = scheme === 'udp' ? await ctx.udp.announce(url, req, { signal: ctx.signal }) : await httpAnnounce(url, req, http);
    // Trackers hand our own announce back to us (INTEROP.md); it is not a peer worth showing.
    result = { ...raw, peers: raw.peers.filter((x) => !(x.port === ctx.port && ctx.selfAddresses.has(x.ip))) };
    p.announce = { ms: round(performance.now() - started), result };
  } catch (e) {
    failed = probeError(e, ctx.totalTimeoutMs);
    p.announce = { ms: round(performance.now() - started), error: failed };
  }
  if (scheme === 'udp') {
    const key = hp.host.includes(':') ? `[${address}]:${hp.port}` : `${address}:${hp.port}`;
    const packets = ctx.udpPackets.get(key) ?? [];
    const firstReply = packets.find((x) => x.direction === 'received');
    if (firstReply) p.connectMs = round(firstReply.at - started);
  }
  if (failed !== undefined && p.announce !== undefined) p.failure = { step: failedStep(scheme, p.connectMs, failed), error: failed, ms: p.announce.ms };
  if (result === undefined) {
    addUdpRaw(p, ctx, address, hp);
    return p;
  }

  // 4. Scrape, and a `stopped` so the probe does not linger in the swarm; both best effort.
  const hasScrape = scheme === 'udp' || scrapeUrlFor(url) !== undefined;
  const scrapeStart = performance.now();
  if (hasScrape) {
    try {
      const s = scheme === 'udp' ? await ctx.udp.scrape(url, [ctx.infoHash], { signal: ctx.signal }) : await httpScrape(url, [ctx.infoHash], http);
      p.scrape = { ms: round(performance.now() - scrapeStart), entry: s.files.get(ctx.infoHash.toString('hex')) };
    } catch (e) {
      p.scrape = { ms: round(performance.now() - scrapeStart), error: probeError(e, ctx.totalTimeoutMs) };
    }
  } else {
    p.scrape = { ms: 0, error: probeError(new TrackerError('TRACKER_UNSUPPORTED', 'no scrape URL (BEP 48: the path does not end in /announce)')) };
  }

  // 5. Handshakes with the first few peers.
  if (ctx.handshakes > 0) {
    const peers = result.peers.slice(0, ctx.handshakes);
    p.handshakes = await Promise.all(peers.map((peer) => probeHandshake(peer, ctx.infoHash, ctx.peerId, { signal: ctx.signal })));
  }

  const stopped = { ...req, event: 'stopped' as const };
  await (scheme === 'udp' ? ctx.udp.announce(url, stopped, { signal: ctx.signal }) : httpAnnounce(url, stopped, { ...http, onExchange: () => undefined })).catch(
    () => undefined,
  );
  addUdpRaw(p, ctx, address, hp);
  return p;
}

/**
 * A UDP tracker that never replied, refused (ICMP port unreachable, seen through the client's
 * connected socket) or stayed silent, failed at BEP 15's connect step, as a dead HTTP tracker fails
 * at TCP connect; anything else failed at the announce.
 */
function failedStep(scheme: string, connectMs: number | undefined, e: ProbeError): 'connect' | 'announce' {
  return scheme === 'udp' && connectMs === undefined && (e.code === 'TRACKER_REFUSED' || e.code === 'TRACKER_TIMEOUT') ? 'connect' : 'announce';
}

function addUdpRaw(p: TrackerProbe, ctx: ProbeContext, address: string, hp: { host: string; port: number }): void {
  if (!ctx.verbose || schemeOf(p.url) !== 'udp') return;
  const key = address.includes(':') ? `[${address}]:${hp.port}` : `${address}:${hp.port}`;
  for (const x of ctx.udpPackets.get(key) ?? []) {
    p.raw.push({ direction: x.direction === 'sent' ? 'request' : 'response', text: x.bytes.toString('hex') });
  }
}
