import { connect, isIP } from 'node:net';
import { TrackerError } from '../errors.js';
import { scrapeUrlFor } from '../http/protocol.js';
import { schemeOf } from '../transport.js';
import type { AnnounceRequest, AnnounceResult, Peer, ScrapeEntry } from '../types.js';
import { probeError, roundMs, type ProbeError } from './explain.js';
import { trackerHostPort, type RawExchange, type TrackerProber } from './prober.js';

/** The step at which a tracker diagnosis failed first. */
export type DiagnosisStep = 'resolve' | 'connect' | 'announce';

/** Everything one tracker's diagnosis found, step by step (what tc-debug-tracker shows). */
export interface TrackerDiagnosis {
  readonly url: string;
  /** Addresses the host resolved to (or the literal). */
  readonly addresses?: readonly string[];
  readonly resolveMs?: number;
  /** TCP connect time for HTTP(S); the first UDP round trip (BEP 15 connect) for UDP. */
  readonly connectMs?: number;
  readonly announce?: { readonly ms: number; readonly result: AnnounceResult } | { readonly ms: number; readonly error: ProbeError };
  readonly scrape?: { readonly ms: number; readonly entry: ScrapeEntry | undefined } | { readonly ms: number; readonly error: ProbeError };
  /** The step that failed first, with its cause; `ms`: how long until it failed. */
  readonly failure?: { readonly step: DiagnosisStep; readonly error: ProbeError; readonly ms?: number };
  /** Raw exchanges, when the prober keeps them. */
  readonly raw: readonly RawExchange[];
}

export interface DiagnoseOptions {
  /** Leaves out of the result the peers for which this holds (trackers hand our own announce back). */
  readonly isSelf?: (peer: Peer) => boolean;
}

/**
 * Diagnoses one tracker as a person would, step by step: resolve the host, connect (TCP for HTTP;
 * BEP 15 connect for UDP, timed inside the announce), announce `req` (`started`), scrape, then a
 * polite `stopped` so the probe does not linger in the swarm. Stops at the first step that fails
 * and names it. Never rejects.
 */
export async function diagnoseTracker(
  prober: TrackerProber,
  url: string,
  req: AnnounceRequest,
  signal: AbortSignal,
  opts: DiagnoseOptions = {},
): Promise<TrackerDiagnosis> {
  const scheme = schemeOf(url);
  if (scheme !== 'http' && scheme !== 'https' && scheme !== 'udp') {
    return { url, raw: [], failure: { step: 'announce', error: probeError(new TrackerError('TRACKER_UNSUPPORTED', `${scheme}: trackers are not supported`)) } };
  }
  const hp = trackerHostPort(url);
  if (hp === undefined) {
    return { url, raw: [], failure: { step: 'announce', error: probeError(new TrackerError('TRACKER_BAD_URL', 'cannot read host and port from the URL')) } };
  }
  const now = (): number => prober.clock.now();

  // 1. Resolve.
  let addresses: string[];
  let resolveMs: number | undefined;
  if (isIP(hp.host)) addresses = [hp.host];
  else {
    const t = now();
    try {
      addresses = (await prober.lookup(hp.host)).map((a) => a.address);
      resolveMs = roundMs(now() - t);
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'unknown';
      return {
        url,
        raw: [],
        failure: { step: 'resolve', error: probeError(new TrackerError('TRACKER_DNS', `${hp.host} did not resolve (${code})`, { cause: e })) },
      };
    }
  }
  const address = addresses[0] ?? hp.host;
  const found = { url, addresses, ...(resolveMs !== undefined ? { resolveMs } : {}) };

  // 2. Connect: TCP for HTTP (for UDP the BEP 15 connect exchange is timed inside the announce).
  let tcpMs: number | undefined;
  if (scheme !== 'udp') {
    const t = now();
    try {
      await tcpConnect(address, hp.port, signal);
      tcpMs = roundMs(now() - t);
    } catch (e) {
      return { ...found, raw: [], failure: { step: 'connect', error: probeError(e, prober.deadlineMs), ms: roundMs(now() - t) } };
    }
  }

  // 3. Announce.
  const a = await prober.announce(url, req, signal);
  const raw: RawExchange[] = [...a.raw];
  const connectMs = tcpMs ?? a.connectMs;
  const base = { ...found, ...(connectMs !== undefined ? { connectMs } : {}) };
  if (!a.ok) {
    // A UDP tracker that never replied (refused, or silent) failed at BEP 15's connect step, as a
    // dead HTTP tracker fails at TCP connect; anything else failed at the announce.
    const silent = scheme === 'udp' && a.connectMs === undefined && (a.error.code === 'TRACKER_REFUSED' || a.error.code === 'TRACKER_TIMEOUT');
    return { ...base, raw, announce: { ms: a.ms, error: a.error }, failure: { step: silent ? 'connect' : 'announce', error: a.error, ms: a.ms } };
  }
  const result = opts.isSelf ? { ...a.value, peers: a.value.peers.filter((p) => !opts.isSelf!(p)) } : a.value;

  // 4. Scrape (BEP 48 needs a path ending in /announce for HTTP), then `stopped`; both best effort.
  let scrape: TrackerDiagnosis['scrape'];
  if (scheme === 'udp' || scrapeUrlFor(url) !== undefined) {
    const s = await prober.scrape(url, req.infoHash, signal);
    raw.push(...s.raw);
    scrape = s.ok ? { ms: s.ms, entry: s.value } : { ms: s.ms, error: s.error };
  } else {
    scrape = { ms: 0, error: probeError(new TrackerError('TRACKER_UNSUPPORTED', 'no scrape URL (BEP 48: the path does not end in /announce)')) };
  }
  await prober.announce(url, { ...req, event: 'stopped' }, signal);
  return { ...base, raw, announce: { ms: a.ms, result }, scrape };
}

/** Times a TCP connect to the tracker, then closes it. */
function tcpConnect(host: string, port: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    const onAbort = (): void => {
      s.destroy();
      reject(new TrackerError('TRACKER_ABORTED', 'aborted'));
    };
    if (signal.aborted) return onAbort();
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
