import { EventEmitter } from 'node:events';
import { CodecError, parseInfoDict, type Metainfo } from '@tc/codec';
import type { Peer as TrackerPeer, TrackerSet, TrackerStatus } from '@tc/tracker';
import { encodeExtendedHandshake, encodeMetadataMessage, ExtensionRouter, UT_METADATA, WireError, type Features, type Handshake, type Message } from '@tc/wire';
import type { Clock, TimerHandle } from '../clock.js';
import { diagnoseMetadata, type Finding } from '../diagnosis/diagnose.js';
import type { MetadataSnapshot } from '../diagnosis/snapshot.js';
import { EngineError } from '../errors.js';
import { PeerConnection, timeoutOptions, type ConnectionHandler, type PeerAddress } from '../peer/connection.js';
import { Dialer } from '../peer/dial.js';
import { CandidateList, closeIsFailure, type CandidateSource } from '../peer/swarm.js';
import { OUR_REQQ } from '../torrent/metadata-server.js';
import { LOCAL_EXTENSIONS } from '../torrent/peer-state.js';
import { offeredExtensions } from '../torrent/metadata-server.js';
import { TICK_MS } from '../torrent/torrent.js';
import { MetadataExchange } from './exchange.js';
import { PeerReplay } from './replay.js';

export { MAX_REPLAY_BYTES, MAX_REPLAY_MESSAGES } from './replay.js';

const FEATURES: Features = { fast: true, extended: true };

export interface MetadataFetcherOptions {
  readonly infoHash: Buffer;
  /** The magnet's `dn`: a hint, shown until the real name is known. */
  readonly name?: string | undefined;
  /** Tracker tiers for the metainfo (the magnet's `tr`, one tier each). */
  readonly announceTiers: readonly (readonly string[])[];
  readonly webSeeds?: readonly string[];
  readonly peerId: Buffer;
  readonly clock: Clock;
  readonly listenPort: number;
  readonly isSelf: (a: PeerAddress) => boolean;
  readonly maxPeers: number;
  readonly trackers?: TrackerSet;
  readonly connect?: (a: PeerAddress) => import('node:net').Socket;
  readonly connectTimeoutMs?: number;
  /** The session's transports (uTP/TCP, MSE); without them, plain TCP. */
  readonly transports?: import('../net/transport.js').PeerTransports | undefined;
  readonly handshakeTimeoutMs?: number;
  readonly idleTimeoutMs?: number;
  readonly random?: () => number;
}

export interface MetadataFetcherEvents {
  /** The info dictionary arrived, hashed to the info-hash, and parsed. */
  metadata: [Metainfo];
  'peer-connected': [{ address: string; incoming: boolean }];
  'peer-disconnected': [{ address: string; reason: EngineError | undefined }];
  'peer-banned': [{ address: string; reason: string }];
  warning: [{ message: string; peer?: string; cause?: unknown }];
  'tracker-status': [TrackerStatus];
}

export interface MetadataFetchStats {
  /** Connected peers (handshake done). */
  readonly peers: number;
  /** Peers that offer the metadata (ut_metadata with a usable size). */
  readonly sources: number;
  readonly candidates: number;
  /** Metadata pieces received of the current attempt, and their number (0 before a size is known). */
  readonly piecesHave: number;
  readonly pieceCount: number;
}

/** A connection handed over to the torrent once the metadata is known. */
export interface FetchedPeer {
  readonly conn: PeerConnection;
  readonly replay: readonly Message[];
}

interface FetchPeer {
  readonly id: number;
  readonly conn: PeerConnection;
  readonly router: ExtensionRouter;
  /** What it said meanwhile, for the torrent (bounded: magnet/replay.ts). */
  readonly replay: PeerReplay;
}

/**
 * Fetches a magnet's metadata (BEP 9 over BEP 10): announces to the magnet's trackers, dials its
 * peers, exchanges handshakes, and asks peers that offer ut_metadata for the pieces, following
 * MetadataExchange. When the info dictionary hashes right it is parsed (codec's parseInfoDict) and
 * `metadata` fires; the session then hands the live connections, the candidates and the trackers
 * to the torrent it creates (`handOver`). Pure policy lives in MetadataExchange.
 */
export class MetadataFetcher extends EventEmitter<MetadataFetcherEvents> implements ConnectionHandler {
  readonly infoHash: Buffer;
  /** Resolves with the parsed metadata; rejects with ENGINE_BAD_TORRENT (it hashes right but is invalid) or ENGINE_CLOSED. */
  readonly metadata: Promise<Metainfo>;
  private resolveMeta!: (m: Metainfo) => void;
  private rejectMeta!: (e: EngineError) => void;
  private readonly exchange: MetadataExchange;
  private readonly candidates: CandidateList;
  private readonly dialer: Dialer;
  private readonly peers = new Map<PeerConnection, FetchPeer>();
  private readonly byId = new Map<number, FetchPeer>();
  private readonly handshaking = new Set<PeerConnection>();
  private readonly known: { readonly address: PeerAddress; readonly source: CandidateSource }[] = [];
  private nextId = 1;
  /** BEP 9 rejects received, and when the fetch began: for the diagnosis (issue 15). */
  private rejects = 0;
  private readonly startedAt: number;
  private timer: TimerHandle | undefined;
  private result: Metainfo | undefined;
  private state: 'fetching' | 'done' | 'handed-over' | 'closed' = 'fetching';
  private readonly trackerListeners: (() => void)[] = [];

  constructor(private readonly opts: MetadataFetcherOptions) {
    super();
    this.infoHash = opts.infoHash;
    this.startedAt = opts.clock.now();
    this.exchange = new MetadataExchange(opts.infoHash);
    this.candidates = new CandidateList(opts.isSelf, opts.random);
    this.dialer = new Dialer({
      clock: opts.clock,
      ...(opts.connect !== undefined ? { connect: opts.connect } : {}),
      ...(opts.connectTimeoutMs !== undefined ? { connectTimeoutMs: opts.connectTimeoutMs } : {}),
      transports: opts.transports,
      infoHash: opts.infoHash,
    });
    this.metadata = new Promise<Metainfo>((res, rej) => {
      this.resolveMeta = res;
      this.rejectMeta = rej;
    });
    this.metadata.catch(() => undefined);
    const t = opts.trackers;
    if (t !== undefined) {
      const onPeers = ({ peers }: { peers: readonly TrackerPeer[] }): void =>
        this.addPeers(
          peers.map((p) => ({ host: p.ip, port: p.port })),
          'tracker',
        );
      const onStatus = (s: TrackerStatus): void => {
        this.emit('tracker-status', s);
      };
      const onWarning = ({ url, message }: { url: string; message: string }): void => {
        this.emit('warning', { message: `tracker ${url}: ${message}` });
      };
      t.on('peers', onPeers);
      t.on('status', onStatus);
      t.on('warning', onWarning);
      this.trackerListeners.push(
        () => t.off('peers', onPeers),
        () => t.off('status', onStatus),
        () => t.off('warning', onWarning),
      );
    }
  }

  /** The display name: the real one once known, else the magnet's `dn`, else the info-hash. */
  get name(): string {
    return this.result?.name ?? this.opts.name ?? this.infoHash.toString('hex');
  }

  get done(): boolean {
    return this.result !== undefined;
  }

  start(): void {
    if (this.timer !== undefined || this.state !== 'fetching') return;
    this.timer = this.opts.clock.setInterval(() => this.tick(), TICK_MS);
    this.opts.trackers?.start().catch((e: unknown) => this.emit('warning', { message: `tracker: ${(e as Error).message}`, cause: e }));
    this.connectMore();
  }

  addPeers(addresses: readonly PeerAddress[], source: CandidateSource): void {
    for (const a of addresses) if (this.known.length < 2_000) this.known.push({ address: a, source });
    if (this.candidates.add(addresses, source) > 0) this.connectMore();
  }

  trackerStatus(): TrackerStatus[] {
    return this.opts.trackers?.status() ?? [];
  }

  stats(): MetadataFetchStats {
    const p = this.exchange.progress();
    return { peers: this.peers.size, sources: this.exchange.sourceCount, candidates: this.candidates.size, piecesHave: p.have, pieceCount: p.total };
  }

  /** What the diagnosis reads of the fetch (issue 15). */
  metadataSnapshot(): MetadataSnapshot {
    return {
      peers: this.peers.size,
      offering: this.exchange.sourceCount,
      rejects: this.rejects,
      sizes: this.exchange.sizes,
      elapsedMs: this.opts.clock.now() - this.startedAt,
    };
  }

  /** Why the metadata is not arriving (issue 15), not debounced; empty once it has arrived. */
  diagnose(): Finding[] {
    return this.state === 'fetching' ? diagnoseMetadata(this.metadataSnapshot()) : [];
  }

  // ---- peers ----

  private connectMore(): void {
    if (this.state !== 'fetching') return;
    const room = this.opts.maxPeers - this.peers.size - this.dialer.size - this.handshaking.size;
    if (room <= 0) return;
    for (const a of this.candidates.take(room, this.opts.clock.now())) this.dial(a);
  }

  private dial(a: PeerAddress): void {
    this.dialer.dial(
      a,
      (socket, externalReads, link) => {
        if (this.state !== 'fetching') {
          socket.destroy();
          this.candidates.disconnected(a, false, this.opts.clock.now());
          return undefined;
        }
        const conn = new PeerConnection(socket, this, {
          address: a,
          outgoing: true,
          externalReads,
          link,
          features: FEATURES,
          now: this.opts.clock.now(),
          ...timeoutOptions(this.opts),
        });
        this.handshaking.add(conn);
        conn.sendHandshake(this.infoHash, this.opts.peerId, FEATURES);
        return conn;
      },
      (thrown) => {
        this.candidates.disconnected(a, true, this.opts.clock.now());
        if (thrown !== undefined) this.emit('warning', { message: `cannot dial: ${thrown.message}`, peer: `${a.host}:${a.port}` });
      },
    );
  }

  /** An incoming connection for this info-hash (routed by the session). */
  adopt(conn: PeerConnection, h: Handshake): boolean {
    if (this.state !== 'fetching' || this.peers.size >= this.opts.maxPeers) return false;
    if (!this.candidates.markConnected(conn.address)) return false;
    conn.handler = this;
    conn.sendHandshake(this.infoHash, this.opts.peerId, FEATURES);
    if (!this.onHandshake(conn, h)) {
      this.candidates.disconnected(conn.address, false, this.opts.clock.now());
      return false;
    }
    return true;
  }

  onHandshake(conn: PeerConnection, h: Handshake): boolean {
    this.handshaking.delete(conn);
    if (this.state !== 'fetching' || !h.infoHash.equals(this.infoHash)) return false;
    if (h.peerId.equals(this.opts.peerId)) {
      this.candidates.ban(conn.address);
      return false;
    }
    for (const p of this.peers.values()) if (p.conn.remote?.peerId.equals(h.peerId) === true) return false;
    const p: FetchPeer = { id: this.nextId++, conn, router: new ExtensionRouter(LOCAL_EXTENSIONS), replay: new PeerReplay() };
    this.peers.set(conn, p);
    this.byId.set(p.id, p);
    if (conn.features.extended) {
      // We offer ut_metadata (without a size: we have none yet) so that the peer sends us its pieces.
      conn.send({
        type: 'extended',
        id: 0,
        payload: encodeExtendedHandshake({
          m: offeredExtensions(p.router.localMap, { metadata: true, pex: false }),
          reqq: OUR_REQQ,
          ...(this.opts.listenPort > 0 ? { p: this.opts.listenPort } : {}),
        }),
      });
    } else {
      this.emit('warning', { message: 'peer does not support extensions (BEP 10): it cannot send metadata', peer: conn.key });
    }
    // BEP 6: say we have nothing (a bitfield would need the piece count).
    if (conn.features.fast) conn.send({ type: 'have-none' });
    this.emit('peer-connected', { address: conn.key, incoming: !conn.outgoing });
    return true;
  }

  onMessage(conn: PeerConnection, m: Message): void {
    const p = this.peers.get(conn);
    if (p === undefined || this.state === 'closed') return;
    switch (m.type) {
      case 'extended':
        this.onExtended(p, m);
        return;
      case 'bitfield':
      case 'have':
      case 'have-all':
      case 'have-none':
      case 'choke':
      case 'unchoke':
      case 'interested':
      case 'not-interested':
      case 'allowed-fast':
        this.keep(p, m);
        return;
      case 'request':
        // We have no piece yet: BEP 6 says reject; without it, ignore.
        if (conn.features.fast) conn.send({ type: 'reject', index: m.index, begin: m.begin, length: m.length });
        return;
      default:
        return;
    }
  }

  /** Folds a state message into the peer's replay (which copies what it keeps: `m` may view the read buffer). */
  private keep(p: FetchPeer, m: Message): void {
    const flood = p.replay.add(m);
    if (flood !== undefined) p.conn.close(new EngineError('ENGINE_PEER_PROTOCOL', flood, { peer: p.conn.key }));
  }

  private onExtended(p: FetchPeer, m: Extract<Message, { type: 'extended' }>): void {
    let routed;
    try {
      routed = p.router.route(m);
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      if (m.id === 0 && e.code === 'WIRE_METADATA_BAD_SIZE') {
        // RELIABILITY #18: a size of 0 or beyond the cap (say 4 GiB) is never fetched; the peer may still be useful for data.
        this.emit('warning', { message: `peer announces an unusable ${e.message}: not asked for metadata`, peer: p.conn.key });
        return;
      }
      p.conn.close(new EngineError('ENGINE_PEER_PROTOCOL', e.message, { peer: p.conn.key, cause: e }));
      return;
    }
    if (routed.name === 'handshake') {
      // Kept for the torrent too (client name, reqq).
      this.keep(p, m);
      if (p.conn.isClosed) return;
      const h = routed.handshake;
      this.exchange.addPeer(p.id, h.m.has(UT_METADATA), h.metadataSize);
      this.pump();
      return;
    }
    if (routed.name !== UT_METADATA) return;
    const msg = routed.message;
    if (msg.type === 'request') {
      this.sendMetadata(p, { type: 'reject', piece: msg.piece });
    } else if (msg.type === 'reject') {
      this.rejects++;
      this.exchange.onReject(p.id, msg.piece, this.opts.clock.now());
      this.pump();
    } else if (msg.type === 'data') {
      const out = this.exchange.onData(p.id, msg.piece, msg.totalSize, msg.data);
      switch (out.kind) {
        case 'drop':
          p.conn.close(new EngineError('ENGINE_PEER_PROTOCOL', out.reason, { peer: p.conn.key }));
          return;
        case 'mismatch': {
          const names = out.blamed.map((id) => this.byId.get(id)?.conn.key ?? `#${id}`);
          this.emit('warning', { message: `metadata from ${names.join(', ')} does not hash to the info-hash (${out.message}); discarded, asking other peers` });
          // Alone it sent every piece: certainly its fault (RELIABILITY #19).
          if (out.blamed.length === 1) {
            const q = this.byId.get(out.blamed[0]!);
            if (q !== undefined) this.ban(q, 'sent metadata that does not hash to the info-hash');
          }
          this.pump();
          return;
        }
        case 'done':
          this.finish(out.info);
          return;
        default:
          this.pump();
      }
    }
  }

  private sendMetadata(p: FetchPeer, msg: Parameters<typeof encodeMetadataMessage>[0]): void {
    const id = p.router.remoteId(UT_METADATA);
    if (id !== undefined) p.conn.send({ type: 'extended', id, payload: encodeMetadataMessage(msg) });
  }

  private ban(p: FetchPeer, reason: string): void {
    this.candidates.ban(p.conn.address);
    this.emit('peer-banned', { address: p.conn.key, reason });
    p.conn.close(new EngineError('ENGINE_PEER_BANNED', reason, { peer: p.conn.key }));
  }

  /** Sends what the exchange asks for. */
  private pump(): void {
    if (this.state !== 'fetching') return;
    for (const r of this.exchange.requests(this.opts.clock.now())) {
      const p = this.byId.get(r.peer);
      if (p !== undefined) this.sendMetadata(p, { type: 'request', piece: r.piece });
    }
  }

  private finish(info: Buffer): void {
    let meta: Metainfo;
    try {
      meta = parseInfoDict(info, {
        announceTiers: this.opts.announceTiers,
        ...(this.opts.webSeeds !== undefined ? { webSeeds: this.opts.webSeeds } : {}),
      }).metainfo;
    } catch (e) {
      // It hashes right, so every peer will send the same: the torrent itself is bad (unsafe paths, …).
      const err = new EngineError('ENGINE_BAD_TORRENT', `the metadata is not a valid torrent: ${(e as Error).message}`, { cause: e });
      if (!(e instanceof CodecError)) throw e;
      this.state = 'done';
      this.rejectMeta(err);
      return;
    }
    this.result = meta;
    this.state = 'done';
    // Dials still in flight are of no use now; the connections stay open for the torrent.
    this.dialer.close();
    for (const c of [...this.handshaking]) c.close(undefined);
    this.emit('metadata', meta);
    this.resolveMeta(meta);
  }

  onBatchEnd(_conn: PeerConnection): void {}

  onClose(conn: PeerConnection, reason: EngineError | undefined): void {
    const now = this.opts.clock.now();
    this.handshaking.delete(conn);
    if (reason?.code === 'ENGINE_PEER_INTERNAL') this.emit('warning', { message: reason.message, peer: conn.key, cause: reason.cause });
    const p = this.peers.get(conn);
    const fetching = this.state === 'fetching';
    if (p === undefined) {
      this.candidates.disconnected(conn.address, fetching && closeIsFailure({ reason, handshaken: false, blocks: 0, connectedMs: 0 }), now);
      if (reason !== undefined) this.emit('peer-disconnected', { address: conn.key, reason });
      return;
    }
    this.peers.delete(conn);
    this.byId.delete(p.id);
    this.exchange.removePeer(p.id);
    this.candidates.disconnected(conn.address, fetching && reason !== undefined, now);
    this.emit('peer-disconnected', { address: conn.key, reason });
    if (fetching) {
      this.pump();
      this.connectMore();
    }
  }

  private tick(): void {
    const now = this.opts.clock.now();
    for (const p of [...this.peers.values()]) p.conn.tick(now);
    for (const c of [...this.handshaking]) c.tick(now);
    this.pump();
    this.connectMore();
  }

  /**
   * After `metadata`: gives up the live connections (with what each peer said meanwhile), the
   * addresses to dial and the trackers (the caller attaches its own listeners). The fetcher is
   * then spent: its timer stops and `close()` has nothing left to close.
   */
  handOver(): { peers: FetchedPeer[]; candidates: { readonly address: PeerAddress; readonly source: CandidateSource }[]; trackers: TrackerSet | undefined } {
    if (this.state !== 'done' || this.result === undefined) throw new EngineError('ENGINE_CLOSED', 'no metadata to hand over');
    this.state = 'handed-over';
    this.timer?.cancel();
    this.timer = undefined;
    for (const off of this.trackerListeners) off();
    const peers = [...this.peers.values()].map((p) => ({ conn: p.conn, replay: p.replay.messages() }));
    this.peers.clear();
    this.byId.clear();
    return { peers, candidates: [...this.known], trackers: this.opts.trackers };
  }

  /** Stops fetching: closes every connection and dial, sends `stopped` to the trackers (bounded). */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const handed = this.state === 'handed-over';
    this.state = 'closed';
    this.timer?.cancel();
    this.timer = undefined;
    this.dialer.close();
    for (const c of [...this.handshaking]) c.close(undefined);
    for (const p of [...this.peers.values()]) p.conn.close(undefined);
    if (this.result === undefined) this.rejectMeta(new EngineError('ENGINE_CLOSED', 'closed before the metadata arrived'));
    if (!handed) {
      for (const off of this.trackerListeners) off();
      await this.opts.trackers?.stop().catch(() => undefined);
    }
  }
}
