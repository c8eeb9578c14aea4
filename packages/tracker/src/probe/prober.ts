import { lookup as dnsLookup } from 'node:dns/promises';
import { systemClock, type Clock } from '@tc/clock';
import { Agent, type Dispatcher } from 'undici';
import { TrackerError } from '../errors.js';
import { httpAnnounce, httpGet, httpScrape, HTTP_TIMEOUT_MS, type HttpExchange, type HttpTrackerOptions } from '../http/client.js';
import { scrapeUrlFor } from '../http/protocol.js';
import { schemeOf } from '../transport.js';
import type { AnnounceRequest, AnnounceResult, ScrapeEntry } from '../types.js';
import { UdpTrackerClient, type Lookup } from '../udp/client.js';
import { endpointKey } from '../udp/transactions.js';
import { answeredCode, printable, probeError, roundMs, type ProbeError } from './explain.js';

/**
 * Tracker probes for diagnostic commands (tc-debug-tracker, tc-netcheck): each step (announce,
 * scrape, "is it up") is timed, never rejects, and says what failed in a form a person can act on.
 * The prober owns its HTTP connection pool and a UDP client with one connected socket per tracker,
 * so a closed UDP port is seen at once (ICMP port unreachable) rather than as a long silence.
 */

/** Datagrams kept per tracker endpoint (for timings and --verbose): a probe sends a handful. */
const MAX_PACKETS_PER_ENDPOINT = 64;
/** Idle keep-alive of the prober's HTTP connections: long enough for announce, scrape and `stopped`. */
const PROBE_KEEP_ALIVE_MS = 1_000;

export interface TrackerProberOptions {
  /** Sent as `User-Agent` on HTTP requests (the caller's identity module has it). */
  readonly userAgent: string;
  /** Bound on one HTTP exchange (connect, redirects, body). Default HTTP_TIMEOUT_MS. */
  readonly timeoutMs?: number;
  /** Bound on an HTTP connect. Default `timeoutMs`. */
  readonly connectTimeoutMs?: number;
  /** UDP: the first wait before a retransmission, and how many: BEP 15's 15 s would use up a probe. */
  readonly udpRetransmitBaseMs: number;
  readonly udpMaxRetransmits: number;
  /** Resolves tracker host names for HTTP and UDP alike. Default the system resolver. */
  readonly lookup?: Lookup;
  /** Times the steps. Default the system clock. */
  readonly clock?: Clock;
  /** Wall time (ms since the epoch), stamped on an HTTP `Date` header when it is seen. Default Date.now. */
  readonly wallNow?: () => number;
  /** An abort of the steps' signal means this overall limit (ms) ran out: reported as a timeout. */
  readonly deadlineMs?: number;
  /** Keep each step's raw exchanges (HTTP request and reply, UDP datagrams in hex), for --verbose. */
  readonly keepRaw?: boolean;
}

export interface RawExchange {
  readonly direction: 'request' | 'response';
  readonly text: string;
}

/** An HTTP `Date` header and the wall time it was seen at (ms since the epoch), for clock checks. */
export interface DateSeen {
  readonly header: string;
  readonly seenAtMs: number;
}

interface StepInfo {
  /** How long the step took, ms. */
  readonly ms: number;
  /** UDP: the first round trip of the step (BEP 15 connect, unless a connection id was cached), ms. */
  readonly connectMs?: number;
  /** The HTTP `Date` header of the first reply. */
  readonly date?: DateSeen;
  readonly raw: readonly RawExchange[];
}

/** What one step found: its value, or why it failed. */
export type ProbeStep<T> = (StepInfo & { readonly ok: true; readonly value: T }) | (StepInfo & { readonly ok: false; readonly error: ProbeError });

/**
 * Whether a tracker is up. `alive`: it answered in its protocol. `answered`: a server answered but
 * refused the request (HTTP status, tracker failure): up, but maybe not for this torrent. `dead`:
 * refused, timed out, or unresolvable. `unsupported`: a scheme tc does not speak.
 */
export type TrackerReach = 'alive' | 'answered' | 'dead' | 'unsupported';

export interface ReachProbe {
  readonly url: string;
  readonly state: TrackerReach;
  readonly ms: number;
  readonly connectMs?: number;
  /** TRACKER_* code or system errno when not alive. */
  readonly code?: string;
  /** Short reason; untrusted text from the tracker included (sanitize before printing). */
  readonly message?: string;
  readonly date?: DateSeen;
}

interface Packet {
  readonly direction: 'sent' | 'received';
  readonly bytes: Buffer;
  readonly at: number;
}

/** undici's callback-style `lookup` over a promise lookup, answering both the single and the `all` form. */
function agentLookup(lookup: Lookup): NonNullable<Agent.Options['connect']> & object {
  return {
    lookup: (hostname: string, options: unknown, callback: unknown): void => {
      const all = (options as { all?: boolean }).all === true;
      lookup(hostname).then(
        (addrs) => {
          const first = addrs[0];
          if (first === undefined) {
            (callback as (err: Error | null, address: string, family: number) => void)(
              Object.assign(new Error(`${hostname} did not resolve`), { code: 'ENOTFOUND' }),
              '',
              0,
            );
          } else if (all) {
            (callback as (err: Error | null, addresses: { address: string; family: number }[]) => void)(null, addrs);
          } else {
            (callback as (err: Error | null, address: string, family: number) => void)(null, first.address, first.family);
          }
        },
        (e: unknown) => (callback as (err: Error | null, address: string, family: number) => void)(e as Error, '', 0),
      );
    },
  };
}

const systemLookup: Lookup = async (host) => (await dnsLookup(host, { all: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

export class TrackerProber {
  readonly userAgent: string;
  readonly lookup: Lookup;
  readonly clock: Clock;
  private readonly dispatcher: Dispatcher;
  private readonly udp: UdpTrackerClient;
  private readonly packets = new Map<string, Packet[]>();

  constructor(private readonly opts: TrackerProberOptions) {
    this.userAgent = opts.userAgent;
    this.lookup = opts.lookup ?? systemLookup;
    this.clock = opts.clock ?? systemClock;
    const connect = { timeout: opts.connectTimeoutMs ?? opts.timeoutMs ?? HTTP_TIMEOUT_MS, ...(opts.lookup ? agentLookup(opts.lookup) : {}) };
    this.dispatcher = new Agent({ connect, keepAliveTimeout: PROBE_KEEP_ALIVE_MS });
    this.udp = new UdpTrackerClient({
      sockets: 'per-tracker',
      lookup: this.lookup,
      clock: this.clock,
      retransmitBaseMs: opts.udpRetransmitBaseMs,
      maxRetransmits: opts.udpMaxRetransmits,
      onPacket: ({ direction, endpoint, bytes }) => {
        const key = endpointKey(endpoint);
        const list = this.packets.get(key) ?? [];
        if (list.length < MAX_PACKETS_PER_ENDPOINT) list.push({ direction, bytes: Buffer.from(bytes), at: this.clock.now() });
        this.packets.set(key, list);
      },
    });
  }

  /** The overall limit whose abort the steps report as a timeout, if any. */
  get deadlineMs(): number | undefined {
    return this.opts.deadlineMs;
  }

  /** One announce (HTTP or UDP); the result carries BEP 24's `externalIp` when the tracker sent it. */
  announce(url: string, req: AnnounceRequest, signal: AbortSignal): Promise<ProbeStep<AnnounceResult>> {
    return this.step(url, signal, (http) => (schemeOf(url) === 'udp' ? this.udp.announce(url, req, { signal }) : httpAnnounce(url, req, http)));
  }

  /** One scrape for one info-hash: its entry, or undefined when the tracker does not list it. */
  scrape(url: string, infoHash: Buffer, signal: AbortSignal): Promise<ProbeStep<ScrapeEntry | undefined>> {
    return this.step(url, signal, async (http) => {
      const r = schemeOf(url) === 'udp' ? await this.udp.scrape(url, [infoHash], { signal }) : await httpScrape(url, [infoHash], http);
      return r.files.get(infoHash.toString('hex'));
    });
  }

  /**
   * Is the tracker up? UDP: BEP 15 connect and a scrape. HTTP(S): a BEP 48 scrape, or a plain GET
   * of the announce URL when it has no scrape URL (any HTTP answer proves the server is up).
   * `infoHash` is what to scrape for: a torrent's, or any 20 bytes.
   */
  async reach(url: string, infoHash: Buffer, signal: AbortSignal): Promise<ReachProbe> {
    const scheme = schemeOf(url);
    if (scheme !== 'http' && scheme !== 'https' && scheme !== 'udp') {
      return { url, state: 'unsupported', ms: 0, message: `${scheme || 'unknown'}: trackers are not spoken by tc` };
    }
    const step =
      scheme === 'udp' || scrapeUrlFor(url) !== undefined
        ? await this.scrape(url, infoHash, signal)
        : await this.step(url, signal, async (http) => {
            const res = await httpGet(url, http);
            if (res.status !== 200) throw new TrackerError('TRACKER_HTTP_STATUS', `HTTP ${res.status}`, { url, status: res.status });
          });
    const base = { url, ms: step.ms, ...(step.date ? { date: step.date } : {}) };
    if (step.ok) return { ...base, state: 'alive', ...(step.connectMs !== undefined ? { connectMs: step.connectMs } : {}) };
    const { code } = step.error;
    const state = answeredCode(code) ? 'answered' : code === 'TRACKER_UNSUPPORTED' ? 'unsupported' : 'dead';
    return {
      ...base,
      state,
      code,
      message: step.error.message,
      ...(state === 'answered' && step.connectMs !== undefined ? { connectMs: step.connectMs } : {}),
    };
  }

  /** Datagrams exchanged with a UDP tracker's endpoint since `since` (clock ms), as raw exchanges. */
  udpRaw(endpoint: string, since = -Infinity): RawExchange[] {
    return (this.packets.get(endpoint) ?? [])
      .filter((p) => p.at >= since)
      .map((p) => ({ direction: p.direction === 'sent' ? 'request' : 'response', text: p.bytes.toString('hex') }));
  }

  /** Closes the UDP sockets and the HTTP connections. */
  async close(): Promise<void> {
    await this.udp.close();
    await this.dispatcher.close();
  }

  /** Runs one request, timing it and collecting what the report shows; never rejects. */
  private async step<T>(url: string, signal: AbortSignal, run: (http: HttpTrackerOptions) => Promise<T>): Promise<ProbeStep<T>> {
    const started = this.clock.now();
    const raw: RawExchange[] = [];
    let date: DateSeen | undefined;
    const onExchange = (x: HttpExchange): void => {
      const d = x.headers.date;
      const header = Array.isArray(d) ? d[0] : d;
      if (header !== undefined && date === undefined) date = { header, seenAtMs: (this.opts.wallNow ?? Date.now)() };
      if (!this.opts.keepRaw) return;
      raw.push({ direction: 'request', text: `GET ${x.url}` });
      const headers = Object.entries(x.headers)
        .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : (v ?? '')}`)
        .join('\n');
      raw.push({ direction: 'response', text: `HTTP ${x.status}\n${headers}\n\n${printable(x.body)}` });
    };
    const http: HttpTrackerOptions = {
      dispatcher: this.dispatcher,
      userAgent: this.userAgent,
      signal,
      onExchange,
      ...(this.opts.timeoutMs !== undefined ? { timeoutMs: this.opts.timeoutMs } : {}),
    };
    const endpoint = schemeOf(url) === 'udp' ? await this.udp.resolve(url).then(endpointKey, () => undefined) : undefined;
    const info = (): StepInfo => {
      const connectMs = endpoint !== undefined ? this.firstRoundTrip(endpoint, started) : undefined;
      if (endpoint !== undefined && this.opts.keepRaw) raw.push(...this.udpRaw(endpoint, started));
      return { ms: roundMs(this.clock.now() - started), raw, ...(connectMs !== undefined ? { connectMs } : {}), ...(date ? { date } : {}) };
    };
    try {
      const value = await run(http);
      return { ...info(), ok: true, value };
    } catch (e) {
      return { ...info(), ok: false, error: probeError(e, this.opts.deadlineMs) };
    }
  }

  /** First datagram sent to `endpoint` since `since`, to the first one received: the round trip. */
  private firstRoundTrip(endpoint: string, since: number): number | undefined {
    const list = this.packets.get(endpoint) ?? [];
    const sent = list.find((p) => p.direction === 'sent' && p.at >= since);
    const got = sent && list.find((p) => p.direction === 'received' && p.at >= sent.at);
    return sent && got ? roundMs(got.at - sent.at) : undefined;
  }
}

/** Host and port of an HTTP(S) or UDP tracker URL (default ports for HTTP and HTTPS). */
export function trackerHostPort(url: string): { host: string; port: number } | undefined {
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
