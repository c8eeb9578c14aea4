import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Magnet, Metainfo } from '@tc/codec';
import { TrackerClient, TrackerSet, type TrackerTransport } from '@tc/tracker';
import { generatePeerId, mseReq2Hash, USER_AGENT, type Handshake, type Message } from '@tc/wire';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import { EngineError } from './errors.js';
import { makeLayout, type TorrentLayout } from './layout.js';
import { v2PiecesOf } from './v2/verify-piece.js';
import { PeerConnection, type ConnectionHandler, type PeerAddress } from './peer/connection.js';
import { fsStorage } from './storage/fs.js';
import type { StorageFactory } from './storage/types.js';
import { DEFAULT_MAX_PEERS, Torrent, type TorrentOptions } from './torrent/torrent.js';
import { MetadataFetcher } from './magnet/fetcher.js';
import { UdpPort } from './net/udp-port.js';
import type { SessionDhtStats } from './discovery/dht.js';
import type { LsdStats } from './discovery/lsd.js';
import { SessionDiscovery } from './session-discovery.js';
import type { EncryptionMode, TransportMode } from './net/policy.js';
import { PeerTransports, type TransportLink, type TransportStats } from './net/transport.js';
import type { Verifier } from './verify.js';
import { RateLimiter } from './ratelimit/limiter.js';
import { resolveAddInput, type AddInput } from './add.js';
import { abortable, TorrentHandle, type HandleOptions } from './handle.js';

export { MAX_PEER_NODE_PINGS } from './session-discovery.js';

/** Incoming connections waiting for their handshake, at most: bounds what a port scan or flood can hold. */
export const MAX_PENDING_INCOMING = 200;

export interface SessionOptions {
  /** TCP port to listen on; 0 picks a free one. Default 0. */
  readonly port?: number;
  /** IPv4 listen address; default 0.0.0.0. `null` disables IPv4. */
  readonly listenHost4?: string | null;
  /** IPv6 listen address; default `::`. `null` disables IPv6. A failure to bind IPv6 is a warning. */
  readonly listenHost6?: string | null;
  /** Set false for a session that only dials out (no listening socket). */
  readonly listen?: boolean;
  /**
   * Also bind UDP on the listen port's number (net/udp-port.ts: the DHT and uTP share it). Default
   * true when listening. A UDP port that cannot be bound is a warning, not an error.
   */
  readonly udp?: boolean;
  /** Transports we dial (`--transport`, issue 12): uTP first then TCP (default `both`), or one. We listen on both. */
  readonly transport?: TransportMode;
  /** MSE/PE (`--encryption`): default `prefer` (dial encrypted, retry plaintext once; accept both). */
  readonly encryption?: EncryptionMode;
  readonly peerId?: Buffer;
  readonly clock?: Clock;
  /** Tracker transport (HTTP/UDP); default a TrackerClient owned and closed by the session. */
  readonly trackerTransport?: TrackerTransport;
  readonly random?: () => number;
  readonly verifier?: Verifier;
  /** Per-torrent timeouts, for tests. */
  readonly timeouts?: Pick<TorrentOptions, 'connectTimeoutMs' | 'snubTimeoutMs' | 'handshakeTimeoutMs' | 'idleTimeoutMs' | 'webSeedTimeoutMs'>;
  /** Tracker re-announce floor in seconds (tests lower it). */
  readonly trackerMinIntervalS?: number;
  /** Download limit for all torrents, bytes/s (issue 6). Undefined or 0: unlimited (the default). */
  readonly downloadRateBps?: number;
  /** Upload limit for all torrents, bytes/s. Undefined or 0: unlimited. */
  readonly uploadRateBps?: number;
  /**
   * Local service discovery (BEP 14) on the IPv4 multicast group. Off unless given (the commands turn
   * it on unless --no-lsd or TC_LSD=0). `port` and `interface` confine it (tests: a free port on 127.0.0.1).
   */
  readonly lsd?: { readonly port?: number; readonly interface?: string } | false;
  /** Peer exchange (BEP 11) with peers of public torrents. Off unless true (the commands turn it on unless --no-pex). */
  readonly pex?: boolean;
  /**
   * Run a DHT node (BEP 5) on the UDP port and look up and announce every public torrent and magnet
   * there. Off unless given (tests and embedders opt in; the commands turn it on unless --no-dht).
   * `bootstrap`: HOST:PORT nodes, else the public routers; `stateFile`: the routing table kept between
   * runs (default $XDG_STATE_HOME/tc/dht.state), null to keep none.
   */
  readonly dht?: { readonly bootstrap?: readonly string[] | undefined; readonly stateFile?: string | null | undefined } | false;
}

/** What `add` needs: a parsed metainfo, or the same fields from a test. */
export interface TorrentSource {
  readonly infoHash: Buffer;
  /** A hybrid's truncated v2 info-hash (BEP 52): incoming peers may name the torrent by it too. */
  readonly infoHashV2?: Buffer;
  readonly name: string;
  readonly layout: TorrentLayout;
  readonly announceTiers: readonly (readonly string[])[];
  /** The raw info dictionary, served to peers with ut_metadata (BEP 9). */
  readonly infoBytes?: Buffer;
  /** BEP 27: peers only from its trackers (no DHT, PEX or LSD). */
  readonly private?: boolean;
  /** BEP 19 web seeds (`url-list`, a magnet's `ws=`). */
  readonly webSeeds?: readonly string[];
  /** Per file, its path as named in the torrent (for web seed URLs); default the layout's. */
  readonly filePaths?: readonly (readonly string[])[];
}

/**
 * `left` announced while a magnet's size is unknown: not 0 (that would say we are a seed and get
 * us no seeds back); libtorrent's torrent.cpp announces `left = 16*1024` while bytes_left() is unknown.
 */
export const UNKNOWN_LEFT_BYTES = 16 * 1024;

/** What `fetchMetadata` needs besides the magnet. */
export interface MagnetOptions {
  readonly maxPeers?: number;
  /** Peers to dial besides the magnet's `x.pe` and the trackers' (`--peer`). */
  readonly peers?: readonly PeerAddress[];
  /** Skip trackers. */
  readonly noTrackers?: boolean;
}

export interface AddOptions {
  /** Download folder (files land under it). Ignored when `storage` is given. */
  readonly dir?: string;
  readonly storage?: StorageFactory;
  readonly maxPeers?: number;
  /** Peers to dial besides the trackers' (`--peer`). */
  readonly peers?: readonly PeerAddress[];
  /** Skip trackers (tests, private swarms reached with `peers`). */
  readonly noTrackers?: boolean;
  /** Pieces already verified (resume, issue 6). */
  readonly have?: Iterable<number>;
  /** Pieces to fetch, one byte per piece (selective download, issue 6). Default: all. */
  readonly wanted?: Uint8Array;
  /** Start pieces in index order instead of rarest first (`--sequential`, issue 14). */
  readonly sequential?: boolean;
  /** Web seeds (BEP 19) besides the torrent's own (`--web-seed`). */
  readonly webSeeds?: readonly string[];
}

export interface SessionEvents {
  torrent: [Torrent];
  /** A torrent's metadata is known: at once for a .torrent, once fetched for a magnet (BEP 9). */
  metadata: [{ infoHash: Buffer; metainfo: Metainfo }];
  /** A magnet's metadata fetch started (`fetchMetadata`). */
  fetch: [MetadataFetcher];
  warning: [{ message: string; cause?: unknown }];
}

/** The engine's view of a codec Metainfo: geometry with the safe on-disk paths. */
export function sourceFromMetainfo(m: Metainfo): TorrentSource {
  return {
    infoHash: m.infoHash,
    ...(m.version === 'hybrid' && m.v2 !== undefined ? { infoHashV2: m.v2.truncatedInfoHash } : {}),
    name: m.name,
    announceTiers: m.announceTiers,
    infoBytes: m.infoBytes,
    private: m.private,
    webSeeds: m.webSeeds,
    filePaths: m.files.map((f) => f.path),
    layout: makeLayout({
      pieceLength: m.pieceLength,
      pieceHashes: m.pieces,
      ...(m.v2 === undefined ? {} : { v2: v2PiecesOf(m) }),
      files: [...m.files.map((f) => ({ path: f.safePath, length: f.length, padding: f.padding })), ...v2TailPad(m)],
    }),
  };
}

/** The torrent's web seeds and the caller's, when there are any. */
function webSeedOption(src: TorrentSource, options: AddOptions): Pick<TorrentOptions, 'webSeeds'> {
  const urls = [...(src.webSeeds ?? []), ...(options.webSeeds ?? [])];
  if (urls.length === 0) return {};
  return { webSeeds: { urls, ...(src.filePaths !== undefined ? { paths: src.filePaths } : {}) } };
}

/**
 * libtorrent pads a v2-only torrent's last file to a whole piece too (its last piece is a full piece
 * whose tail is padding): the same geometry, or its requests past our last piece's end are refused.
 */
function v2TailPad(m: Metainfo): { path: string[]; length: number; padding: true }[] {
  const rest = m.totalLength % m.pieceLength;
  return m.version === 'v2' && rest !== 0 ? [{ path: ['.pad', 'tail'], length: m.pieceLength - rest, padding: true }] : [];
}

function isLocalHost(host: string, locals: ReadonlySet<string>): boolean {
  const h = host.toLowerCase().replace(/^::ffff:/, '');
  return h.startsWith('127.') || h === '::1' || h === '0.0.0.0' || h === '::' || h === 'localhost' || locals.has(h);
}

/**
 * Owns the listening sockets, the tracker transport and the torrents. Routes incoming connections
 * to torrents by info-hash. `close()` resolves when no socket, timer or file handle is left.
 */
export class Session extends EventEmitter<SessionEvents> implements ConnectionHandler {
  readonly peerId: Buffer;
  private readonly clock: Clock;
  private readonly servers: Server[] = [];
  private readonly torrents = new Map<string, Torrent>();
  /** A hybrid's truncated v2 info-hash (hex) → its torrent's key (BEP 52: peers may use either). */
  private readonly v2Aliases = new Map<string, string>();
  /** Magnets whose metadata is being fetched, with the torrent that will take over their trackers' stats. */
  private readonly fetchers = new Map<string, { fetcher: MetadataFetcher; ref: { torrent?: Torrent } }>();
  private readonly incoming = new Set<PeerConnection>();
  private readonly localAddresses: ReadonlySet<string>;
  private transport: TrackerTransport | undefined;
  private ownsTransport = false;
  private timer: TimerHandle | undefined;
  private portValue = 0;
  private udpPort: UdpPort | undefined;
  /** The DHT and LSD, and which torrent or magnet fetch their peers go to (session-discovery.ts). */
  private discovery = SessionDiscovery.none();
  private transports: PeerTransports | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Session-wide rate limits (token buckets, off unless set), shared round-robin by every peer of every torrent. */
  readonly downLimiter: RateLimiter;
  readonly upLimiter: RateLimiter;

  private constructor(private readonly opts: SessionOptions) {
    super();
    this.peerId = opts.peerId ?? generatePeerId();
    this.clock = opts.clock ?? systemClock;
    this.downLimiter = new RateLimiter({ rateBps: opts.downloadRateBps, clock: this.clock });
    this.upLimiter = new RateLimiter({ rateBps: opts.uploadRateBps, clock: this.clock });
    const locals = new Set<string>();
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) locals.add(a.address.toLowerCase());
    this.localAddresses = locals;
  }

  /** Creates a session and starts listening. */
  static async create(opts: SessionOptions = {}): Promise<Session> {
    const s = new Session(opts);
    try {
      if (opts.listen !== false) await s.listen();
      s.startTransports();
    } catch (e) {
      await s.close();
      throw e;
    }
    s.timer = s.clock.setInterval(() => {
      const now = s.clock.now();
      for (const c of [...s.incoming]) c.tick(now);
    }, 1_000);
    return s;
  }

  /** The TCP port we listen on (0 when not listening). */
  get port(): number {
    return this.portValue;
  }

  private async listen(): Promise<void> {
    const host4 = this.opts.listenHost4 === undefined ? '0.0.0.0' : this.opts.listenHost4;
    const host6 = this.opts.listenHost6 === undefined ? '::' : this.opts.listenHost6;
    let port = this.opts.port ?? 0;
    if (host4 !== null) {
      port = await this.bind(host4, port, false);
    }
    if (host6 !== null) {
      try {
        port = await this.bind(host6, port, true);
      } catch (e) {
        if (host4 === null) throw e;
        this.emit('warning', { message: `not listening on IPv6 (${host6}): ${(e as Error).message}`, cause: e });
      }
    }
    this.portValue = port;
    if (this.opts.udp !== false) {
      try {
        this.udpPort = await UdpPort.bind({ port, host4, host6 });
      } catch (e) {
        this.emit('warning', { message: `no UDP on port ${port} (no DHT or uTP): ${(e as Error).message}`, cause: e });
      }
    }
    this.discovery = await SessionDiscovery.start({
      clock: this.clock,
      udp: this.udpPort,
      listenPort: port,
      dht: this.opts.dht,
      lsd: this.opts.lsd,
      warn: (message, cause) => this.emit('warning', { message, cause }),
    });
  }

  /** The DHT node's counters (nodes, lookups, peers found); undefined when the DHT is off. */
  get dht(): SessionDhtStats | undefined {
    return this.discovery.dhtStats;
  }

  /** LSD's counters; undefined when LSD is off. */
  get lsd(): LsdStats | undefined {
    return this.discovery.lsdStats;
  }

  /** Dials and accepts over uTP and TCP with MSE per the options; incoming MSE finds its torrent by req2 hash. */
  private startTransports(): void {
    const t = new PeerTransports({
      clock: this.clock,
      udp: this.udpPort,
      ...(this.opts.transport !== undefined ? { transport: this.opts.transport } : {}),
      ...(this.opts.encryption !== undefined ? { encryption: this.opts.encryption } : {}),
      ...(this.opts.timeouts?.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: this.opts.timeouts.handshakeTimeoutMs } : {}),
      lookup: (req2) => this.findByReq2(req2),
    });
    t.onIncoming((l) => this.acceptLink(l));
    // Said once per kind: a swarm of refused peers must not flood the log (counts in transportStats).
    const told = new Set<string>();
    t.onRefused((why, remote) => {
      if (told.has(why)) return;
      told.add(why);
      const what =
        why === 'plaintext-required' ? 'refusing plaintext connections (--encryption require)' : 'refusing encrypted (MSE) connections (--encryption off)';
      this.emit('warning', { message: `${what}: the first from ${remote.host}:${remote.port}; more are counted, not reported` });
    });
    this.transports = t;
  }

  /** The active torrent (or magnet fetch) whose MSE req2 hash is `req2`: one SHA-1 per torrent, per incoming MSE handshake. */
  private findByReq2(req2: Buffer): Buffer | undefined {
    for (const hex of [...this.torrents.keys(), ...this.fetchers.keys()]) {
      const ih = Buffer.from(hex, 'hex');
      if (mseReq2Hash(ih).equals(req2)) return ih;
    }
    return undefined;
  }

  /** What the transports refused or retried (encryption policy), since the session began. */
  get transportStats(): Readonly<TransportStats> | undefined {
    return this.transports?.stats;
  }

  /** The UDP port shared by the DHT and uTP (undefined when not listening or not bound). */
  get udp(): UdpPort | undefined {
    return this.udpPort;
  }

  private bind(host: string, port: number, ipv6Only: boolean): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = createServer({ noDelay: true }, (socket) => this.accept(socket));
      const onError = (e: Error): void => {
        server.close();
        reject(new EngineError('ENGINE_DISK', `cannot listen on ${host}:${port}: ${e.message}`, { cause: e }));
      };
      server.once('error', onError);
      server.listen({ host, port, ipv6Only }, () => {
        server.removeListener('error', onError);
        server.on('error', (e) => this.emit('warning', { message: `listener: ${e.message}`, cause: e }));
        this.servers.push(server);
        const addr = server.address();
        resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
      });
    });
  }

  private accept(socket: Socket): void {
    if (this.closed || this.incoming.size >= MAX_PENDING_INCOMING || this.transports === undefined) {
      socket.destroy();
      return;
    }
    if (socket.remoteAddress === undefined || socket.remotePort === undefined) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    this.transports.accept(socket, 'tcp');
  }

  /** An incoming TCP or uTP connection, its first bytes allowed by the encryption policy: the handshake routes it. */
  private acceptLink({ stream, link, remote }: TransportLink): void {
    if (this.closed || this.incoming.size >= MAX_PENDING_INCOMING || remote === undefined) {
      stream.destroy();
      return;
    }
    const conn = new PeerConnection(stream, this, {
      address: remote,
      outgoing: false,
      link,
      features: { fast: true, extended: true, dht: this.discovery.hasDht },
      now: this.clock.now(),
      ...(this.opts.timeouts?.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: this.opts.timeouts.handshakeTimeoutMs } : {}),
    });
    this.incoming.add(conn);
  }

  // ConnectionHandler for incoming connections before they belong to a torrent.
  onHandshake(conn: PeerConnection, h: Handshake): boolean {
    this.incoming.delete(conn);
    if (h.peerId.equals(this.peerId)) return false;
    const hex = h.infoHash.toString('hex');
    const alias = this.v2Aliases.get(hex);
    const t = this.torrents.get(alias ?? hex);
    if (t === undefined) return this.fetchers.get(hex)?.fetcher.adopt(conn, h) ?? false;
    return t.adopt(conn, h);
  }

  onMessage(_conn: PeerConnection, _m: Message): void {
    // Nothing reaches here: a connection belongs to a torrent once its handshake is read.
  }

  onBatchEnd(_conn: PeerConnection): void {}

  onClose(conn: PeerConnection): void {
    this.incoming.delete(conn);
  }

  isSelf(a: PeerAddress): boolean {
    return this.portValue !== 0 && a.port === this.portValue && isLocalHost(a.host, this.localAddresses);
  }

  /**
   * Adds a torrent from .torrent bytes, a metainfo, a magnet link or an info-hash, and returns its
   * handle at once (handle.ts): the metadata is fetched behind it (BEP 9), `ready` resolves with the
   * running Torrent, and `await session.add(…)` gives the same. Throws ENGINE_BAD_TORRENT at once
   * for an input it cannot read; every later failure rejects `ready` (and is emitted as `error`).
   */
  add(input: AddInput, options: HandleOptions = {}): TorrentHandle {
    const resolved = resolveAddInput(input);
    return new TorrentHandle(
      {
        clock: this.clock,
        addTorrent: (source, o) => this.addTorrent(source, o),
        fetchMetadata: (magnet, o) => this.fetchMetadata(magnet, o),
        remove: (infoHash) => this.remove(infoHash),
        get: (infoHash) => this.get(infoHash),
        toSource: sourceFromMetainfo,
      },
      resolved,
      options,
    );
  }

  /**
   * The lower-level add: resolves with the started torrent once its storage is open. Adding the same
   * info-hash again returns the existing torrent (with `peers` added to it).
   */
  async addTorrent(source: TorrentSource | Metainfo, options: AddOptions = {}): Promise<Torrent> {
    if (this.closed) throw new EngineError('ENGINE_CLOSED', 'session closed');
    const src: TorrentSource = 'layout' in source ? source : sourceFromMetainfo(source);
    if (src.layout.v2 !== undefined && !src.layout.v2.complete && src.layout.pieceHashes.length === 0) {
      throw new EngineError('ENGINE_BAD_TORRENT', 'the v2 torrent lacks piece layers for some files, and they cannot be fetched from peers yet');
    }
    const hex = src.infoHash.toString('hex');
    const existing = this.torrents.get(hex);
    if (existing !== undefined) {
      if (options.peers !== undefined) existing.addPeers(options.peers, 'manual');
      return existing;
    }
    const factory = options.storage ?? fsStorage({ dir: options.dir ?? process.cwd() });
    const storage = await factory.open(src.layout);
    if (this.closed) {
      await storage.close();
      throw new EngineError('ENGINE_CLOSED', 'session closed');
    }
    const fetch = this.fetchers.get(hex);
    const fetched = fetch !== undefined && fetch.fetcher.done ? fetch.fetcher.handOver() : undefined;
    if (fetch !== undefined) this.fetchers.delete(hex);
    // A fetch still running (added by .torrent meanwhile) is simply stopped.
    if (fetch !== undefined && fetched === undefined) await fetch.fetcher.close();
    const ref: { torrent?: Torrent } = fetch?.ref ?? {};
    const trackers =
      fetched !== undefined
        ? fetched.trackers
        : options.noTrackers === true
          ? undefined
          : this.makeTrackers(src.infoHash, src.announceTiers, ref, src.layout.totalLength);
    const torrent = new Torrent({
      infoHash: src.infoHash,
      ...(src.infoHashV2 !== undefined ? { infoHashV2: src.infoHashV2 } : {}),
      name: src.name,
      layout: src.layout,
      storage,
      peerId: this.peerId,
      clock: this.clock,
      listenPort: this.portValue,
      isSelf: (a) => this.isSelf(a),
      ...(options.maxPeers !== undefined ? { maxPeers: options.maxPeers } : {}),
      ...(this.opts.verifier !== undefined ? { verifier: this.opts.verifier } : {}),
      ...(this.opts.random !== undefined ? { random: this.opts.random } : {}),
      ...(trackers !== undefined ? { trackers } : {}),
      ...(options.have !== undefined ? { have: options.have } : {}),
      ...(options.wanted !== undefined ? { wanted: options.wanted } : {}),
      ...(options.sequential === true ? { sequential: true } : {}),
      ...(src.infoBytes !== undefined ? { infoBytes: src.infoBytes } : {}),
      ...webSeedOption(src, options),
      transports: this.transports,
      downLimiter: this.downLimiter,
      upLimiter: this.upLimiter,
      pex: this.opts.pex === true && src.private !== true,
      ...(this.discovery.hasDht && this.udpPort !== undefined && src.private !== true
        ? { dhtPort: { port: this.udpPort.port, onNode: (host: string, port: number) => this.discovery.nodeFromPeer(host, port) } }
        : {}),
      ...this.opts.timeouts,
    });
    ref.torrent = torrent;
    this.torrents.set(hex, torrent);
    if (src.infoHashV2 !== undefined) this.v2Aliases.set(src.infoHashV2.toString('hex'), hex);
    this.emit('torrent', torrent);
    if (fetched === undefined && !('layout' in source)) this.emit('metadata', { infoHash: src.infoHash, metainfo: source });
    torrent.start();
    this.discovery.use(src.infoHash, src.private === true, (peers, source) => torrent.addPeers(peers, source));
    if (fetched !== undefined) {
      // The fetch's connections carry on as the torrent's peers (their bitfields replayed).
      for (const p of fetched.peers) if (!torrent.takeOver(p.conn, p.replay)) p.conn.close(undefined);
      // Each with its source (tracker, dht, lsd, manual), so the torrent's counts by source stay true.
      for (const c of fetched.candidates) torrent.addPeers([c.address], c.source);
    }
    if (options.peers !== undefined && options.peers.length > 0) torrent.addPeers(options.peers, 'manual');
    return torrent;
  }

  /** Trackers for a torrent, when it has any and we listen; `ref.torrent` gives the byte counts once it exists. */
  private makeTrackers(
    infoHash: Buffer,
    announceTiers: readonly (readonly string[])[],
    ref: { torrent?: Torrent },
    unknownLeft: number,
  ): TrackerSet | undefined {
    const tiers = announceTiers.filter((t) => t.length > 0);
    if (tiers.length === 0 || this.portValue === 0) return undefined;
    return new TrackerSet({
      tiers,
      infoHash,
      peerId: this.peerId,
      port: this.portValue,
      transport: this.trackerTransport(),
      selfAddresses: [...this.localAddresses, '127.0.0.1', '::1'],
      stats: () => {
        const s = ref.torrent?.stats();
        return { uploaded: s?.uploaded ?? 0, downloaded: s?.downloaded ?? 0, left: s?.left ?? unknownLeft };
      },
      numwant: 200,
      clock: this.clock,
      ...(this.opts.random !== undefined ? { random: this.opts.random } : {}),
      ...(this.opts.trackerMinIntervalS !== undefined ? { minIntervalS: this.opts.trackerMinIntervalS } : {}),
    });
  }

  /**
   * Starts fetching a magnet's metadata (BEP 9): its trackers are announced to (left unknown:
   * UNKNOWN_LEFT_BYTES), its `x.pe` and `peers` dialled. Await `fetcher.metadata`, then `add()` the
   * metainfo: the torrent takes over the fetch's connections and trackers. A second call for the
   * same info-hash returns the running fetch.
   */
  fetchMetadata(magnet: Magnet, options: MagnetOptions = {}): MetadataFetcher {
    if (this.closed) throw new EngineError('ENGINE_CLOSED', 'session closed');
    const hex = magnet.infoHashHex;
    const running = this.fetchers.get(hex);
    if (running !== undefined) {
      if (options.peers !== undefined) running.fetcher.addPeers(options.peers, 'manual');
      return running.fetcher;
    }
    const infoHash = Buffer.from(magnet.infoHash);
    const announceTiers = magnet.trackers.map((t) => [t]);
    const ref: { torrent?: Torrent } = {};
    const trackers = options.noTrackers === true ? undefined : this.makeTrackers(infoHash, announceTiers, ref, UNKNOWN_LEFT_BYTES);
    const fetcher = new MetadataFetcher({
      infoHash,
      name: magnet.name,
      announceTiers,
      webSeeds: magnet.webSeeds,
      peerId: this.peerId,
      clock: this.clock,
      listenPort: this.portValue,
      isSelf: (a) => this.isSelf(a),
      maxPeers: options.maxPeers ?? DEFAULT_MAX_PEERS,
      transports: this.transports,
      ...(trackers !== undefined ? { trackers } : {}),
      ...(this.opts.random !== undefined ? { random: this.opts.random } : {}),
      ...(this.opts.timeouts?.connectTimeoutMs !== undefined ? { connectTimeoutMs: this.opts.timeouts.connectTimeoutMs } : {}),
      ...(this.opts.timeouts?.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: this.opts.timeouts.handshakeTimeoutMs } : {}),
      ...(this.opts.timeouts?.idleTimeoutMs !== undefined ? { idleTimeoutMs: this.opts.timeouts.idleTimeoutMs } : {}),
    });
    this.fetchers.set(hex, { fetcher, ref });
    fetcher.on('metadata', (metainfo) => this.emit('metadata', { infoHash, metainfo }));
    this.emit('fetch', fetcher);
    fetcher.start();
    this.discovery.use(infoHash, false, (p, source) => fetcher.addPeers(p, source));
    const peers = [...magnet.peers, ...(options.peers ?? [])];
    if (peers.length > 0) fetcher.addPeers(peers, 'manual');
    return fetcher;
  }

  private trackerTransport(): TrackerTransport {
    if (this.transport === undefined) {
      if (this.opts.trackerTransport !== undefined) this.transport = this.opts.trackerTransport;
      else {
        // tc's user agent on HTTP announces (trackers log and sometimes filter by it); the UDP
        // client's retransmissions run on the session's clock like everything else.
        this.transport = new TrackerClient({ http: { userAgent: USER_AGENT }, udp: { clock: this.clock } });
        this.ownsTransport = true;
      }
    }
    return this.transport;
  }

  get(infoHash: Buffer | string): Torrent | undefined {
    return this.torrents.get(typeof infoHash === 'string' ? infoHash.toLowerCase() : infoHash.toString('hex'));
  }

  list(): Torrent[] {
    return [...this.torrents.values()];
  }

  /** Removes a torrent: closes its peers and storage (its files stay on disk). */
  async remove(infoHash: Buffer | string): Promise<void> {
    const hex = typeof infoHash === 'string' ? infoHash.toLowerCase() : infoHash.toString('hex');
    const f = this.fetchers.get(hex);
    this.discovery.stop(hex);
    if (f !== undefined) {
      this.fetchers.delete(hex);
      await f.fetcher.close();
    }
    const t = this.get(infoHash);
    if (t === undefined) return;
    this.torrents.delete(t.infoHash.toString('hex'));
    for (const [a, v1] of this.v2Aliases) if (v1 === t.infoHash.toString('hex')) this.v2Aliases.delete(a);
    await t.close();
  }

  /**
   * Closes every torrent (bounded `stopped` announces), listener and connection. With a `signal`, an
   * abort stops the waiting (ENGINE_ABORTED) while the close finishes in the background.
   */
  close(opts: { readonly signal?: AbortSignal } = {}): Promise<void> {
    if (this.closing === undefined) {
      this.closing = this.closeNow();
      this.closing.catch(() => undefined);
    }
    return abortable(this.closing, opts.signal, 'close');
  }

  private async closeNow(): Promise<void> {
    this.closed = true;
    this.timer?.cancel();
    for (const c of [...this.incoming]) c.close(undefined);
    await Promise.all([...this.torrents.values()].map((t) => t.close()));
    this.torrents.clear();
    await Promise.all([...this.fetchers.values()].map((f) => f.fetcher.close()));
    this.fetchers.clear();
    this.downLimiter.close();
    this.upLimiter.close();
    await this.discovery.close();
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.servers.length = 0;
    this.transports?.close();
    await this.udpPort?.close();
    if (this.ownsTransport) await this.transport?.close();
  }
}
