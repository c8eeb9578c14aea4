import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import type { Clock, TimerHandle } from '../clock.js';
import type { PeerAddress } from '../peer/connection.js';

/**
 * Local service discovery (BEP 14): a `BT-SEARCH` datagram to a multicast group on the local
 * network for each public torrent, and the same heard from others feeding the candidate list
 * with source 'lsd'. Our own announces come back to us (multicast loopback): the cookie tells them.
 */

export const LSD_GROUP4 = '239.192.152.143';
export const LSD_GROUP6 = 'ff15::efc0:988f';
export const LSD_PORT = 6771;
/** A torrent is announced again this often (libtorrent's local_service_announce_interval: 5 min). */
export const LSD_REANNOUNCE_MS = 5 * 60_000;
/** Never more often than this per torrent (the issue: at most once a minute), whatever asks. */
export const LSD_MIN_INTERVAL_MS = 60_000;
/** A BT-SEARCH larger than this is not one (one info-hash is ~150 bytes; BEP 14 allows several). */
export const MAX_LSD_DATAGRAM = 1_400;
/** Info-hashes read from one announce. */
export const MAX_LSD_INFO_HASHES = 16;
/** Announces taken from one address per minute; more are dropped (a flood on the LAN). */
export const MAX_LSD_PER_SOURCE_PER_MINUTE = 20;
/** Source addresses remembered for that limit (the map is cleared each minute, and never grows past this). */
const MAX_LSD_SOURCES = 1_024;

export interface LsdAnnounce {
  readonly port: number;
  /** Lower-case hex. */
  readonly infoHashes: readonly string[];
  readonly cookie: string | undefined;
}

/** A BT-SEARCH announce (BEP 14). */
export function encodeLsdAnnounce(a: { host: string; port: number; infoHashes: readonly string[]; cookie: string }): Buffer {
  const lines = ['BT-SEARCH * HTTP/1.1', `Host: ${a.host}`, `Port: ${a.port}`, ...a.infoHashes.map((h) => `Infohash: ${h}`), `cookie: ${a.cookie}`, '', ''];
  return Buffer.from(lines.join('\r\n') + '\r\n', 'latin1');
}

/** Reads a BT-SEARCH; anything else (or anything out of bounds) is `{ ok: false, reason }`. */
export function decodeLsdAnnounce(d: Uint8Array): { ok: true; announce: LsdAnnounce } | { ok: false; reason: string } {
  if (d.length > MAX_LSD_DATAGRAM) return { ok: false, reason: `${d.length} bytes, more than ${MAX_LSD_DATAGRAM}` };
  const text = Buffer.from(d).toString('latin1');
  const lines = text.split('\r\n');
  if (lines[0] !== 'BT-SEARCH * HTTP/1.1') return { ok: false, reason: 'not a BT-SEARCH request line' };
  let port: number | undefined;
  let cookie: string | undefined;
  const infoHashes: string[] = [];
  for (const line of lines.slice(1, 40)) {
    if (line === '') continue;
    const m = /^([A-Za-z-]{1,32}):[ \t]*(.{0,200})$/.exec(line);
    if (m === null) return { ok: false, reason: 'a header line that is not NAME: VALUE' };
    const name = m[1]!.toLowerCase();
    const value = m[2]!.trim();
    if (name === 'port') {
      if (!/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) return { ok: false, reason: `port ${JSON.stringify(value)}` };
      port = Number(value);
    } else if (name === 'infohash') {
      if (!/^[0-9a-fA-F]{40}$/.test(value)) return { ok: false, reason: 'an info-hash that is not 40 hex digits' };
      if (infoHashes.length < MAX_LSD_INFO_HASHES) infoHashes.push(value.toLowerCase());
    } else if (name === 'cookie') cookie = value;
  }
  if (port === undefined) return { ok: false, reason: 'no Port header' };
  if (infoHashes.length === 0) return { ok: false, reason: 'no Infohash header' };
  return { ok: true, announce: { port, infoHashes, cookie } };
}

export interface SessionLsdOptions {
  readonly clock: Clock;
  /** Our TCP listen port, announced. */
  readonly listenPort: number;
  /** The group's UDP port: LSD_PORT unless a test confines it. */
  readonly port?: number;
  /** The interface address to send and join on (tests: 127.0.0.1); default the system's choice. */
  readonly interface?: string;
  readonly warn?: (message: string, cause?: unknown) => void;
}

export interface LsdStats {
  readonly sent: number;
  readonly received: number;
  readonly ours: number;
  readonly invalid: number;
  readonly limited: number;
  readonly peersFound: number;
}

/** One session's LSD: one IPv4 multicast socket; torrents `track` their info-hash. */
export class SessionLsd {
  private readonly cookie = randomBytes(8).toString('hex');
  private readonly tracked = new Map<string, { sink: (peers: PeerAddress[]) => void; lastSent: number; timer: TimerHandle | undefined }>();
  private readonly perSource = new Map<string, number>();
  private readonly sweep: TimerHandle;
  private counts = { sent: 0, received: 0, ours: 0, invalid: 0, limited: 0, peersFound: 0 };
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    private readonly opts: SessionLsdOptions,
  ) {
    socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo.address));
    socket.on('error', (e) => opts.warn?.(`LSD: ${e.message}`, e));
    this.sweep = opts.clock.setInterval(() => this.perSource.clear(), 60_000);
  }

  static async start(opts: SessionLsdOptions): Promise<SessionLsd> {
    const socket = createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(opts.port ?? LSD_PORT, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    try {
      socket.addMembership(LSD_GROUP4, opts.interface);
      if (opts.interface !== undefined) socket.setMulticastInterface(opts.interface);
      socket.setMulticastLoopback(true);
      socket.setMulticastTTL(1);
    } catch (e) {
      socket.close();
      throw e;
    }
    return new SessionLsd(socket, opts);
  }

  private onMessage(msg: Buffer, from: string): void {
    if (this.closed) return;
    this.counts.received++;
    const n = this.perSource.get(from) ?? 0;
    if (n >= MAX_LSD_PER_SOURCE_PER_MINUTE || (n === 0 && this.perSource.size >= MAX_LSD_SOURCES)) {
      this.counts.limited++;
      return;
    }
    this.perSource.set(from, n + 1);
    const r = decodeLsdAnnounce(msg);
    if (!r.ok) {
      this.counts.invalid++;
      return;
    }
    if (r.announce.cookie === this.cookie) {
      this.counts.ours++;
      return;
    }
    for (const h of r.announce.infoHashes) {
      const t = this.tracked.get(h);
      if (t === undefined) continue;
      this.counts.peersFound++;
      t.sink([{ host: from, port: r.announce.port }]);
    }
  }

  private announce(hex: string): void {
    const t = this.tracked.get(hex);
    if (t === undefined || this.closed) return;
    t.timer?.cancel();
    const now = this.opts.clock.now();
    const wait = t.lastSent + LSD_MIN_INTERVAL_MS - now;
    if (wait > 0) {
      t.timer = this.opts.clock.setTimeout(() => this.announce(hex), wait);
      return;
    }
    t.lastSent = now;
    const port = this.opts.port ?? LSD_PORT;
    const d = encodeLsdAnnounce({ host: `${LSD_GROUP4}:${port}`, port: this.opts.listenPort, infoHashes: [hex], cookie: this.cookie });
    this.socket.send(d, port, LSD_GROUP4, (e) => {
      if (e) this.opts.warn?.(`LSD announce: ${e.message}`, e);
    });
    this.counts.sent++;
    t.timer = this.opts.clock.setTimeout(() => this.announce(hex), LSD_REANNOUNCE_MS);
  }

  /** Announces `infoHash` now and every LSD_REANNOUNCE_MS; peers heard for it go to `sink`. Returns the stop. */
  track(infoHash: Buffer, sink: (peers: PeerAddress[]) => void): { stop(): void } {
    const hex = infoHash.toString('hex');
    const existing = this.tracked.get(hex);
    if (existing !== undefined) existing.sink = sink;
    else {
      this.tracked.set(hex, { sink, lastSent: -Infinity, timer: undefined });
      this.announce(hex);
    }
    return {
      stop: () => {
        this.tracked.get(hex)?.timer?.cancel();
        this.tracked.delete(hex);
      },
    };
  }

  stats(): LsdStats {
    return { ...this.counts };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sweep.cancel();
    for (const t of this.tracked.values()) t.timer?.cancel();
    this.tracked.clear();
    await new Promise<void>((r) => this.socket.close(() => r()));
  }
}
