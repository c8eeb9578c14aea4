import { createSocket } from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { systemClock, type Clock, type TimerHandle } from '@tc/clock';
import { TrackerError } from '../errors.js';
import type { AnnounceRequest, AnnounceResult, ScrapeEntry, ScrapeResult } from '../types.js';
import { buildAnnounceRequest, buildConnectRequest, buildScrapeRequest, type UdpReply } from './protocol.js';
import { ConnectionIdCache, CONNECTION_ID_LIFETIME_MS, TransactionTable, endpointKey, type Endpoint } from './transactions.js';

/** BEP 15: wait 15 · 2ⁿ seconds before retransmitting. */
export const UDP_RETRANSMIT_BASE_MS = 15_000;
/**
 * Retransmissions after the first send. BEP 15 allows n up to 8 (over an hour); tc stops after
 * 15 + 30 + 60 s so that tier fall-through happens in reasonable time, as libtorrent and others do.
 */
export const UDP_MAX_RETRANSMITS = 2;

/** The part of a dgram socket the client uses; tests pass fakes. */
export interface UdpSocketLike {
  send(msg: Buffer, port: number, address: string, callback?: (err: Error | null) => void): void;
  on(event: 'message', listener: (msg: Buffer, rinfo: { address: string; port: number }) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  close(callback?: () => void): void;
}

export type UdpSocketFactory = (family: 4 | 6) => UdpSocketLike;

/**
 * A socket connected (dgram `connect`) to one tracker address. Linux reports an ICMP port unreachable
 * to a connected UDP socket only, as an `ECONNREFUSED` error event: an unconnected, shared socket
 * never sees it, and a closed port looks like a silent tracker.
 */
export interface ConnectedUdpSocketLike {
  send(msg: Buffer, callback?: (err: Error | null) => void): void;
  on(event: 'message', listener: (msg: Buffer, rinfo: { address: string; port: number }) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  close(callback?: () => void): void;
}

/** Opens a socket connected to `to`; resolves once `connect` completed (dgram refuses address-less sends before). */
export type ConnectedUdpSocketFactory = (to: Endpoint) => Promise<ConnectedUdpSocketLike>;

/**
 * Sockets a client in `per-tracker` mode keeps connected at most: each is a file descriptor, a
 * process-wide budget. Trackers past this many share the unconnected socket (a closed port there
 * shows as a timeout, as in `shared` mode).
 */
export const MAX_CONNECTED_UDP_SOCKETS = 128;

export type Lookup = (host: string) => Promise<{ address: string; family: 4 | 6 }[]>;

export interface UdpTrackerClientOptions {
  readonly socketFactory?: UdpSocketFactory;
  readonly lookup?: Lookup;
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly retransmitBaseMs?: number;
  readonly maxRetransmits?: number;
  readonly connectionIdLifetimeMs?: number;
  /**
   * `shared` (the default, for the engine): one unconnected socket per address family for every
   * tracker. `per-tracker` (for diagnostics): one socket connected to each tracker address, so that
   * an ICMP port unreachable fails the request at once with TRACKER_REFUSED (and host or network
   * unreachable with TRACKER_NETWORK) instead of running out the retransmission schedule.
   */
  readonly sockets?: 'shared' | 'per-tracker';
  /** Opens the connected sockets of `per-tracker` mode; tests pass fakes. */
  readonly connectedSocketFactory?: ConnectedUdpSocketFactory;
  /** Called for each datagram sent and received, for `--verbose` displays. */
  readonly onPacket?: (p: { direction: 'sent' | 'received'; endpoint: Endpoint; bytes: Buffer }) => void;
}

export interface UdpRequestOptions {
  readonly signal?: AbortSignal;
}

const defaultFactory: UdpSocketFactory = (family) => createSocket({ type: family === 6 ? 'udp6' : 'udp4' });

/** The real connected socket: a dgram socket of the endpoint's family, `connect`ed to it. */
export const connectUdpSocket: ConnectedUdpSocketFactory = (to) =>
  new Promise((resolve, reject) => {
    const s = createSocket({ type: to.family === 6 ? 'udp6' : 'udp4' });
    const onError = (e: Error): void => {
      s.close();
      reject(e);
    };
    s.once('error', onError);
    s.connect(to.port, to.address, () => {
      s.off('error', onError);
      resolve(s);
    });
  });

/**
 * Errors a connected socket reports for its tracker (ICMP, through the kernel), as tracker codes.
 * Others (ENOBUFS, …) say nothing about the tracker: the waiters time out as usual.
 */
const UNREACHABLE: Readonly<Record<string, { code: 'TRACKER_REFUSED' | 'TRACKER_NETWORK'; what: string }>> = {
  ECONNREFUSED: { code: 'TRACKER_REFUSED', what: 'port unreachable: nothing listens on UDP' },
  EHOSTUNREACH: { code: 'TRACKER_NETWORK', what: 'host unreachable: no route to' },
  ENETUNREACH: { code: 'TRACKER_NETWORK', what: 'network unreachable: no route to' },
};

function unreachable(err: Error, to: Endpoint, url?: string): TrackerError | undefined {
  const sys = (err as { code?: unknown }).code;
  const u = typeof sys === 'string' ? UNREACHABLE[sys] : undefined;
  if (u === undefined) return undefined;
  return new TrackerError(u.code, `${u.what} ${endpointKey(to)} (${String(sys)})`, { cause: err, ...(url !== undefined ? { url } : {}) });
}

const defaultLookup: Lookup = async (host) => {
  const all = await dnsLookup(host, { all: true });
  return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/** Host and port of a `udp://host:port/…` URL. */
export function parseUdpUrl(url: string): { host: string; port: number } {
  let u: URL;
  try {
    u = new URL(url);
  } catch (e) {
    throw new TrackerError('TRACKER_BAD_URL', `not a valid URL: ${url}`, { cause: e });
  }
  if (u.protocol !== 'udp:') throw new TrackerError('TRACKER_UNSUPPORTED', `not a UDP tracker: ${u.protocol}`, { url });
  const port = Number(u.port);
  if (!u.hostname || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TrackerError('TRACKER_BAD_URL', 'UDP tracker URL needs a host and a port', { url });
  }
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  return { host, port };
}

/**
 * BEP 15 client. One socket per address family, shared by every tracker this client talks to;
 * replies are routed by transaction id. Created lazily, closed by `close()`. In `per-tracker` mode
 * each tracker address gets its own connected socket instead (see the option); the protocol
 * (transaction ids, connection ids, the retransmission schedule) is the same in both.
 */
export class UdpTrackerClient {
  private readonly sockets = new Map<4 | 6, UdpSocketLike>();
  /** `per-tracker` mode: connected sockets by endpoint key, as promises since `connect` completes later. */
  private readonly connected = new Map<string, Promise<ConnectedUdpSocketLike>>();
  private readonly table: TransactionTable;
  private readonly ids: ConnectionIdCache;
  private readonly clock: Clock;
  private readonly factory: UdpSocketFactory;
  private readonly connectFactory: ConnectedUdpSocketFactory | undefined;
  private readonly lookup: Lookup;
  private readonly base: number;
  private readonly retransmits: number;
  private closed = false;

  constructor(private readonly opts: UdpTrackerClientOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.table = new TransactionTable(opts.random ?? Math.random);
    this.ids = new ConnectionIdCache(() => this.clock.now(), opts.connectionIdLifetimeMs ?? CONNECTION_ID_LIFETIME_MS);
    this.factory = opts.socketFactory ?? defaultFactory;
    this.connectFactory = opts.sockets === 'per-tracker' ? (opts.connectedSocketFactory ?? connectUdpSocket) : undefined;
    this.lookup = opts.lookup ?? defaultLookup;
    this.base = opts.retransmitBaseMs ?? UDP_RETRANSMIT_BASE_MS;
    this.retransmits = opts.maxRetransmits ?? UDP_MAX_RETRANSMITS;
  }

  /** Replies dropped because their transaction id or sender matched nothing. */
  get ignoredReplies(): number {
    return this.table.ignored;
  }

  /** Resolves the tracker's host; the first address wins (the resolver's order). */
  async resolve(url: string): Promise<Endpoint> {
    const { host, port } = parseUdpUrl(url);
    const fam = isIP(host);
    if (fam === 4 || fam === 6) return { address: host, port, family: fam };
    let addrs: { address: string; family: 4 | 6 }[];
    try {
      addrs = await this.lookup(host);
    } catch (e) {
      throw new TrackerError('TRACKER_DNS', `host ${host} did not resolve (${(e as { code?: string }).code ?? (e as Error).message})`, { url, cause: e });
    }
    const first = addrs[0];
    if (first === undefined) throw new TrackerError('TRACKER_DNS', `host ${host} has no address`, { url });
    return { address: first.address, port, family: first.family };
  }

  async announce(url: string, req: AnnounceRequest, o: UdpRequestOptions = {}): Promise<AnnounceResult> {
    const to = await this.resolve(url);
    const reply = await this.exchange(to, url, (cid, tid) => buildAnnounceRequest(cid, tid, req), o.signal);
    if (reply.action !== 'announce') throw new TrackerError('TRACKER_BAD_RESPONSE', `expected an announce reply, got ${reply.action}`, { url });
    return reply.result;
  }

  async scrape(url: string, infoHashes: readonly Buffer[], o: UdpRequestOptions = {}): Promise<ScrapeResult> {
    const to = await this.resolve(url);
    const reply = await this.exchange(to, url, (cid, tid) => buildScrapeRequest(cid, tid, infoHashes), o.signal);
    if (reply.action !== 'scrape') throw new TrackerError('TRACKER_BAD_RESPONSE', `expected a scrape reply, got ${reply.action}`, { url });
    const files = new Map<string, ScrapeEntry>();
    // BEP 15: entries come in request order; a short reply covers only the first hashes.
    reply.entries.forEach((e, i) => {
      const h = infoHashes[i];
      if (h !== undefined) files.set(h.toString('hex'), { infoHash: h, ...e });
    });
    return { files };
  }

  /** Rejects every pending request and closes the sockets. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.table.failAll(new TrackerError('TRACKER_ABORTED', 'UDP tracker client closed'));
    const socks: { close(callback?: () => void): void }[] = [...this.sockets.values()];
    this.sockets.clear();
    const connecting = [...this.connected.values()];
    this.connected.clear();
    for (const r of await Promise.allSettled(connecting)) if (r.status === 'fulfilled') socks.push(r.value);
    await Promise.all(socks.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }

  /**
   * Connect (when no live connection id) then the action, both on the 15·2ⁿ schedule; n grows with
   * each silence and is shared by the two steps, so a dead tracker costs the same bounded time.
   */
  private async exchange(
    to: Endpoint,
    url: string,
    build: (connectionId: bigint, transactionId: number) => Buffer,
    signal: AbortSignal | undefined,
  ): Promise<Exclude<UdpReply, { action: 'connect' } | { action: 'error' }>> {
    const key = endpointKey(to);
    for (let n = 0; n <= this.retransmits; n++) {
      const wait = this.base * 2 ** n;
      let cid = this.ids.get(key);
      if (cid === undefined) {
        const r = await this.roundTrip(to, (tid) => buildConnectRequest(tid), wait, signal, url);
        if (r === undefined) continue;
        if (r.action !== 'connect') throw unexpected(r, 'connect', url);
        this.ids.set(key, r.connectionId);
        cid = r.connectionId;
      }
      const id = cid;
      let r: UdpReply | undefined;
      try {
        r = await this.roundTrip(to, (tid) => build(id, tid), wait, signal, url);
      } catch (e) {
        // An error reply may mean the tracker no longer accepts this connection id: get a new one next time.
        if (e instanceof TrackerError && e.code === 'TRACKER_FAILURE') this.ids.delete(key);
        throw e;
      }
      if (r === undefined) continue;
      if (r.action === 'connect' || r.action === 'error') throw unexpected(r, 'announce or scrape', url);
      return r;
    }
    const total = Array.from({ length: this.retransmits + 1 }, (_, n) => this.base * 2 ** n).reduce((a, b) => a + b, 0);
    throw new TrackerError('TRACKER_TIMEOUT', `no UDP reply after ${this.retransmits + 1} tries (${total} ms)`, { url });
  }

  /** One send and wait: the reply, or undefined on silence. */
  private roundTrip(to: Endpoint, build: (tid: number) => Buffer, waitMs: number, signal: AbortSignal | undefined, url: string): Promise<UdpReply | undefined> {
    if (this.closed) return Promise.reject(new TrackerError('TRACKER_ABORTED', 'UDP tracker client closed', { url }));
    if (signal?.aborted) return Promise.reject(new TrackerError('TRACKER_ABORTED', 'aborted', { url }));
    return new Promise((resolve, reject) => {
      const tid = this.table.allocate();
      let timer: TimerHandle | undefined;
      const done = (): void => {
        timer?.cancel();
        this.table.cancel(tid);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        done();
        reject(new TrackerError('TRACKER_ABORTED', 'aborted', { url }));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.table.register(tid, to, (reply) => {
        done();
        if (reply instanceof TrackerError) reject(new TrackerError(reply.code, reply.message, { url, cause: reply }));
        else if (reply.action === 'error') {
          reject(new TrackerError('TRACKER_FAILURE', `tracker said: ${reply.message}`, { url, trackerMessage: reply.message }));
        } else resolve(reply);
      });
      timer = this.clock.setTimeout(() => {
        done();
        resolve(undefined);
      }, waitMs);
      let packet: Buffer;
      try {
        packet = build(tid);
      } catch (e) {
        done();
        reject(e instanceof Error ? e : new Error(String(e)));
        return;
      }
      this.opts.onPacket?.({ direction: 'sent', endpoint: to, bytes: packet });
      this.send(to, packet, (err) => {
        if (!err) return;
        done();
        if (err instanceof TrackerError) return reject(new TrackerError(err.code, err.message, { url, cause: err }));
        const code = (err as { code?: string }).code;
        reject(unreachable(err, to, url) ?? new TrackerError('TRACKER_NETWORK', `UDP send failed (${code ?? err.message})`, { url, cause: err }));
      });
    });
  }

  /** Sends one datagram to `to`: on the shared socket, or on `to`'s connected one in `per-tracker` mode. */
  private send(to: Endpoint, packet: Buffer, callback: (err: Error | null) => void): void {
    const key = endpointKey(to);
    if (this.connectFactory === undefined || (!this.connected.has(key) && this.connected.size >= MAX_CONNECTED_UDP_SOCKETS)) {
      this.socket(to.family).send(packet, to.port, to.address, callback);
      return;
    }
    this.connectedSocket(to, key, this.connectFactory).then(
      (s) => {
        if (this.closed) return callback(new TrackerError('TRACKER_ABORTED', 'UDP tracker client closed'));
        try {
          s.send(packet, callback);
        } catch (e) {
          callback(e as Error);
        }
      },
      (e: unknown) => callback(e as Error),
    );
  }

  private received(msg: Buffer, from: Endpoint): void {
    this.opts.onPacket?.({ direction: 'received', endpoint: from, bytes: msg });
    this.table.route(msg, from);
  }

  private socket(family: 4 | 6): UdpSocketLike {
    let s = this.sockets.get(family);
    if (s !== undefined) return s;
    s = this.factory(family);
    s.on('message', (msg, rinfo) => this.received(msg, { address: rinfo.address, port: rinfo.port, family }));
    // A socket error (ICMP noise on some systems) must not crash the process; waiters time out.
    s.on('error', () => undefined);
    this.sockets.set(family, s);
    return s;
  }

  private connectedSocket(to: Endpoint, key: string, factory: ConnectedUdpSocketFactory): Promise<ConnectedUdpSocketLike> {
    let p = this.connected.get(key);
    if (p !== undefined) return p;
    p = factory(to).then((s) => {
      s.on('message', (msg, rinfo) => this.received(msg, { address: rinfo.address, port: rinfo.port, family: to.family }));
      // The kernel's verdict on this tracker (ICMP): fail its waiters now rather than at the timeout.
      // Other errors must not crash the process; the waiters time out.
      s.on('error', (err) => {
        const e = unreachable(err, to);
        if (e !== undefined) this.table.failFrom(to, e);
      });
      return s;
    });
    // A socket that could not connect is forgotten, so the next request tries again.
    p.catch(() => this.connected.delete(key));
    this.connected.set(key, p);
    return p;
  }
}

function unexpected(r: UdpReply, wanted: string, url: string): TrackerError {
  return new TrackerError('TRACKER_BAD_RESPONSE', `expected a ${wanted} reply, got ${r.action}`, { url });
}
