import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import {
  Bitfield,
  encodeExtendedHandshake,
  encodeMetadataMessage,
  ExtensionRouter,
  METADATA_PIECE_BYTES,
  metadataPieceCount,
  UT_METADATA,
  WireError,
  type Features,
  type Handshake,
  type Message,
  type MetadataMessage,
} from '@tc/wire';
import type { Peer as TrackerPeer, TrackerSet, TrackerStatus } from '@tc/tracker';
import type { Clock, TimerHandle } from '../clock.js';
import { EngineError, invariant } from '../errors.js';
import { BLOCK_BYTES, pieceHash, pieceSize, type TorrentLayout } from '../layout.js';
import { PiecePicker, type BlockRequest } from '../picker/picker.js';
import { DEFAULT_REQQ, pipelineDepth } from '../picker/pipeline.js';
import { PeerConnection, timeoutOptions, type ConnectionHandler, type PeerAddress } from '../peer/connection.js';
import { Dialer } from '../peer/dial.js';
import { RateMeter } from '../peer/rate.js';
import { hashFailureVerdict, peerScore } from '../peer/scoring.js';
import { CandidateList, closeIsFailure, type CandidateSource } from '../peer/swarm.js';
import type { TorrentStorage } from '../storage/types.js';
import { inlineVerifier, type Verifier } from '../verify.js';
import { Choker, DEFAULT_UPLOAD_SLOTS, type ChokerPeer } from '../choker/choker.js';
import type { RateLimiter } from '../ratelimit/limiter.js';
import { transition, type TorrentState } from './states.js';

/** Peers per torrent unless configured (issue 5). */
export const DEFAULT_MAX_PEERS = 50;
export { CONNECT_TIMEOUT_MS } from '../peer/dial.js';
/** A peer with requests outstanding and no block for this long is snubbed (issue 5; libtorrent request_timeout 60 s). */
export const SNUB_TIMEOUT_MS = 60_000;
/**
 * Bytes of verified pieces waiting for the disk before we stop asking peers for more: bounds the
 * write path's memory whatever the torrent size (STATE.md, Memory).
 */
export const MAX_WRITE_BACKLOG_BYTES = 24 * 1024 * 1024;
/** Peers unchoked at once while serving: BEP 3's four, the optimistic unchoke included (choker/choker.ts). */
export const UPLOAD_SLOTS = DEFAULT_UPLOAD_SLOTS;
/** Queued incoming requests per peer (RELIABILITY.md case 23: libtorrent max_allowed_in_request_queue). */
export const MAX_QUEUED_PEER_REQUESTS = 2_000;
/** Bad requests (out of range, unowned piece, while choked) after which a peer is dropped (RELIABILITY.md case 23). */
export const MAX_BAD_REQUESTS = 300;
/** Unrequested or wrong blocks tolerated before a peer is dropped (RELIABILITY.md case 24), beyond normal endgame waste. */
export const MAX_WASTE_BLOCKS = 256;
/** The reqq we advertise (BEP 10): how many requests we queue from one peer. */
export const OUR_REQQ = 500;
/** How often the torrent re-checks timeouts, dials, refills: one timer for all peers. */
export const TICK_MS = 1_000;
/** Interval between attempts to replace the weakest peer when better candidates wait. */
const REPLACE_EVERY_MS = 30_000;
/** A peer is not judged for replacement before it has had this long to show its rate. */
const REPLACE_GRACE_MS = 60_000;

export interface TorrentStats {
  readonly state: TorrentState['kind'];
  readonly pieceCount: number;
  readonly piecesHave: number;
  readonly totalBytes: number;
  /** Verified bytes we hold (wanted or not). */
  readonly haveBytes: number;
  /** Payload bytes received in accepted blocks. */
  readonly downloaded: number;
  readonly uploaded: number;
  readonly left: number;
  readonly downRateBps: number;
  readonly upRateBps: number;
  readonly peers: number;
  /** Distinct peers that sent us at least one accepted block. */
  readonly peersUsed: number;
  readonly candidates: number;
  readonly hashFailures: number;
  readonly wasteBytes: number;
  readonly endgame: boolean;
  /** The disk error that stopped the download (state `upload-only`, or `paused` after it): for a UI to show. */
  readonly error?: EngineError;
}

export interface PeerInfo {
  readonly address: string;
  readonly client: string | undefined;
  readonly downRateBps: number;
  readonly score: number;
}

export interface TorrentEvents {
  state: [TorrentState];
  'peer-connected': [{ address: string; incoming: boolean }];
  'peer-disconnected': [{ address: string; reason: EngineError | undefined }];
  'peer-banned': [{ address: string; reason: string }];
  'piece-verified': [{ index: number }];
  'hash-failure': [{ index: number; peers: string[] }];
  warning: [{ message: string; peer?: string; cause?: unknown }];
  'tracker-status': [TrackerStatus];
  progress: [TorrentStats];
  done: [];
  error: [EngineError];
}

export interface TorrentOptions {
  readonly infoHash: Buffer;
  readonly name: string;
  readonly layout: TorrentLayout;
  readonly storage: TorrentStorage;
  readonly peerId: Buffer;
  readonly clock: Clock;
  /** Our listen port (announced, and how we recognise ourselves). */
  readonly listenPort: number;
  readonly isSelf: (a: PeerAddress) => boolean;
  readonly maxPeers?: number;
  readonly verifier?: Verifier;
  readonly random?: () => number;
  readonly trackers?: TrackerSet;
  /** Dials a peer (injected for tests). */
  readonly connect?: (a: PeerAddress) => Socket;
  readonly connectTimeoutMs?: number;
  readonly snubTimeoutMs?: number;
  readonly handshakeTimeoutMs?: number;
  readonly idleTimeoutMs?: number;
  /** Pieces already verified (resume, issue 6). */
  readonly have?: Iterable<number>;
  /** Upload slots for the choker (default 4, BEP 3). */
  readonly uploadSlots?: number;
  /** One byte per piece, 0 = not wanted (selective download: `planPieces(...).wanted`). Default: every piece. */
  readonly wanted?: Uint8Array;
  /** Download limit (issue 6): paces our requests; usually shared by the session's torrents. Off when absent. */
  readonly downLimiter?: RateLimiter;
  /** Upload limit: paces the `piece` messages we send. */
  readonly upLimiter?: RateLimiter;
  /** The raw info dictionary: served to peers that ask with ut_metadata (BEP 9), e.g. to fetch a magnet from us. */
  readonly infoBytes?: Buffer;
}

/** Our BEP 10 extension ids: only ut_metadata is spoken (PEX is not yet). */
export const LOCAL_EXTENSIONS: Readonly<Record<string, number>> = { [UT_METADATA]: 1 };
/**
 * Metadata pieces served to one peer at most, beyond the metadata's piece count (a peer may
 * re-fetch after a failed attempt); past it we reject (BEP 9 allows it), so a peer cannot make
 * us upload the info dictionary over and over.
 */
export const MAX_METADATA_SERVES_EXTRA = 32;

/** Per-connection download/upload state. */
class PeerState {
  readonly bitfield: Bitfield;
  amChoked = true;
  amInterested = false;
  peerChoked = true;
  peerInterested = false;
  reqq = DEFAULT_REQQ;
  readonly allowedFast = new Set<number>();
  readonly rate: RateMeter;
  readonly upRate: RateMeter;
  /** Last time the peer made progress on our requests (a block, or requests going from none to some). */
  lastProgress: number;
  snubbed = false;
  parole = false;
  hashFailures = 0;
  faults = 0;
  blocks = 0;
  waste = 0;
  badRequests = 0;
  responseMs: number | undefined;
  client: string | undefined;
  /** BEP 10 ids of this connection (ours and the peer's). */
  readonly router = new ExtensionRouter(LOCAL_EXTENSIONS);
  /** ut_metadata pieces sent to this peer. */
  metadataServed = 0;
  /** Incoming requests not yet served, `index:begin:length`. */
  readonly served = new Set<string>();
  readonly connectedAt: number;

  constructor(
    readonly id: number,
    readonly conn: PeerConnection,
    pieceCount: number,
    now: number,
  ) {
    this.bitfield = new Bitfield(pieceCount);
    this.rate = new RateMeter(now);
    this.upRate = new RateMeter(now);
    this.lastProgress = now;
    this.connectedAt = now;
  }
}

const FEATURES: Features = { fast: true, extended: true };

/** Free piece buffers kept for reuse: enough for the pieces in flight on a fast link, so the steady state allocates nothing. */
const PIECE_POOL_MAX = 16;

/** Reuses piece-sized buffers (allocating 1 MiB per piece churns the GC at hundreds of MB/s). */
class PiecePool {
  private readonly free: Buffer[] = [];
  constructor(private readonly size: number) {}
  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafe(this.size);
  }
  give(b: Buffer): void {
    if (this.free.length < PIECE_POOL_MAX) this.free.push(b);
  }
}

/**
 * One torrent: its peers, picker, storage and trackers. Everything time-related runs off one
 * interval on the injected clock; sockets come from `connect` or are handed over by the session.
 */
export class Torrent extends EventEmitter<TorrentEvents> implements ConnectionHandler {
  readonly infoHash: Buffer;
  readonly name: string;
  readonly layout: TorrentLayout;
  readonly picker: PiecePicker;
  /** Resolves when every wanted piece is verified and written; rejects with the disk error that made the torrent upload-only. */
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private rejectDone!: (e: EngineError) => void;
  private stateValue: TorrentState = { kind: 'starting' };
  /** Set by the first failed piece write; from then on nothing is requested again (upload-only). */
  private diskError: EngineError | undefined;
  private readonly storage: TorrentStorage;
  private readonly clock: Clock;
  private readonly verifier: Verifier;
  private readonly candidates: CandidateList;
  private readonly peers = new Map<PeerConnection, PeerState>();
  private readonly byId = new Map<number, PeerState>();
  private readonly dialer: Dialer;
  /** Connected sockets whose handshake has not arrived yet. */
  private readonly handshaking = new Set<PeerConnection>();
  /** Contiguous buffers of active pieces: blocks are copied in as they arrive (the read buffer is reused). */
  private readonly pieceBufs = new Map<number, Buffer>();
  private readonly pool: PiecePool;
  private readonly opts: TorrentOptions;
  private readonly maxPeers: number;
  private readonly peersUsed = new Set<string>();
  private nextPeerId = 1;
  private timer: TimerHandle | undefined;
  private writeBacklog = 0;
  private pendingIo = new Set<Promise<unknown>>();
  private downloaded = 0;
  private uploaded = 0;
  private hashFailures = 0;
  private wasteBytes = 0;
  private readonly downRate: RateMeter;
  private readonly upRate: RateMeter;
  private lastReplaceAt: number;
  private readonly choker: Choker<number>;
  /** Aborted on close: releases this torrent's waits on the (shared) rate limiters. */
  private readonly closing = new AbortController();

  constructor(opts: TorrentOptions) {
    super();
    this.opts = opts;
    this.infoHash = opts.infoHash;
    this.name = opts.name;
    this.layout = opts.layout;
    this.storage = opts.storage;
    this.clock = opts.clock;
    this.verifier = opts.verifier ?? inlineVerifier;
    this.maxPeers = Math.max(1, opts.maxPeers ?? DEFAULT_MAX_PEERS);
    this.picker = new PiecePicker(opts.layout, opts.random !== undefined ? { random: opts.random } : {});
    this.candidates = new CandidateList(opts.isSelf, opts.random);
    this.pool = new PiecePool(opts.layout.pieceLength);
    this.dialer = new Dialer({
      clock: opts.clock,
      ...(opts.connect !== undefined ? { connect: opts.connect } : {}),
      ...(opts.connectTimeoutMs !== undefined ? { connectTimeoutMs: opts.connectTimeoutMs } : {}),
    });
    this.choker = new Choker<number>({ slots: opts.uploadSlots ?? UPLOAD_SLOTS, ...(opts.random !== undefined ? { random: opts.random } : {}) });
    const now = this.clock.now();
    this.downRate = new RateMeter(now);
    this.upRate = new RateMeter(now);
    this.lastReplaceAt = now;
    this.done = new Promise<void>((res, rej) => {
      this.resolveDone = res;
      this.rejectDone = rej;
    });
    // A caller that only listens to events must not get an unhandled rejection.
    this.done.catch(() => undefined);
    if (opts.wanted !== undefined) for (let i = 0; i < opts.layout.pieceCount; i++) if (opts.wanted[i] === 0) this.picker.setWanted(i, false);
    for (const i of opts.have ?? []) this.picker.markHave(i);
    if (opts.trackers !== undefined) {
      const t = opts.trackers;
      t.on('peers', ({ peers }) => this.addPeers(peers.map((p: TrackerPeer) => ({ host: p.ip, port: p.port })), 'tracker'));
      t.on('status', (s) => this.emit('tracker-status', s));
      t.on('warning', ({ url, message }) => this.emit('warning', { message: `tracker ${url}: ${message}` }));
    }
  }

  get state(): TorrentState {
    return this.stateValue;
  }

  private setState(s: TorrentState): void {
    this.stateValue = transition(this.stateValue, s);
    this.emit('state', s);
  }

  /** Starts downloading (or seeding when everything is present): announces, dials, ticks. */
  start(): void {
    if (this.stateValue.kind !== 'starting') return;
    if (this.picker.done) {
      this.setState({ kind: 'seeding' });
      this.resolveDone();
    } else this.setState({ kind: 'downloading' });
    this.timer = this.clock.setInterval(() => this.tick(), TICK_MS);
    this.opts.trackers?.start().catch((e: unknown) => this.emit('warning', { message: `tracker: ${(e as Error).message}`, cause: e }));
    this.connectMore();
  }

  /** Stops requesting, serving and dialing: every peer is dropped. */
  pause(): void {
    const k = this.stateValue.kind;
    if (k !== 'downloading' && k !== 'seeding' && k !== 'upload-only') return;
    this.setState({ kind: 'paused', wasDone: k === 'seeding' });
    for (const p of this.peers.values()) p.conn.close(undefined);
  }

  resume(): void {
    if (this.stateValue.kind !== 'paused') return;
    if (this.diskError !== undefined) {
      this.setState({ kind: 'upload-only', error: this.diskError });
      this.candidates.resetBackoff();
      this.connectMore();
      return;
    }
    // Pieces that were being written when we paused may have completed the download meanwhile.
    const done = this.stateValue.wasDone || this.picker.done;
    this.setState(done ? { kind: 'seeding' } : { kind: 'downloading' });
    if (done) this.resolveDone();
    this.candidates.resetBackoff();
    this.connectMore();
  }

  /** Adds peers to dial (trackers, `--peer`, later DHT and PEX). */
  addPeers(addresses: readonly PeerAddress[], source: CandidateSource): void {
    if (this.candidates.add(addresses, source) > 0) this.connectMore();
  }

  /** Tracker states for error messages ("no peers: tracker X failed because Y"). */
  trackerStatus(): TrackerStatus[] {
    return this.opts.trackers?.status() ?? [];
  }

  stats(): TorrentStats {
    const now = this.clock.now();
    // Kept by the picker as pieces change state: called on every tick, it must not scan 100k pieces.
    const haveBytes = this.picker.haveBytes;
    const left = this.picker.leftBytes;
    return {
      state: this.stateValue.kind,
      pieceCount: this.layout.pieceCount,
      piecesHave: this.picker.piecesHave,
      totalBytes: this.layout.totalLength,
      haveBytes,
      downloaded: this.downloaded,
      uploaded: this.uploaded,
      left,
      downRateBps: this.downRate.rate(now),
      upRateBps: this.upRate.rate(now),
      peers: this.peers.size,
      peersUsed: this.peersUsed.size,
      candidates: this.candidates.size,
      hashFailures: this.hashFailures,
      wasteBytes: this.wasteBytes,
      endgame: this.picker.endgame,
      ...(this.diskError !== undefined ? { error: this.diskError } : {}),
    };
  }

  peerList(): PeerInfo[] {
    const now = this.clock.now();
    return [...this.peers.values()].map((p) => ({
      address: p.conn.key,
      client: p.client,
      downRateBps: p.rate.rate(now),
      score: this.score(p, now),
    }));
  }

  private score(p: PeerState, now: number): number {
    return peerScore({ rateBps: p.rate.rate(now), responseMs: p.responseMs, hashFailures: p.hashFailures, faults: p.faults, blocks: p.blocks });
  }

  // ---- dialing and accepting ----

  /** Connected to the swarm: peers are dialled, accepted and served. */
  private get active(): boolean {
    const k = this.stateValue.kind;
    return k === 'downloading' || k === 'seeding' || k === 'upload-only';
  }

  private connectMore(): void {
    // A seed dials too: peers given by hand (`--peer`) may only accept connections (Transmission on loopback).
    if (!this.active) return;
    const room = this.maxPeers - this.peers.size - this.dialer.size - this.handshaking.size;
    if (room <= 0) return;
    for (const a of this.candidates.take(room, this.clock.now())) this.dial(a);
  }

  private dial(a: PeerAddress): void {
    this.dialer.dial(
      a,
      (socket, externalReads) => {
        if (!this.active) {
          socket.destroy();
          this.candidates.disconnected(a, false, this.clock.now());
          return undefined;
        }
        const conn = new PeerConnection(socket, this, {
          address: a,
          outgoing: true,
          externalReads,
          features: FEATURES,
          now: this.clock.now(),
          pieceCount: this.layout.pieceCount,
          ...timeoutOptions(this.opts),
        });
        this.handshaking.add(conn);
        conn.sendHandshake(this.infoHash, this.opts.peerId, FEATURES);
        return conn;
      },
      (thrown) => {
        this.candidates.disconnected(a, true, this.clock.now());
        if (thrown !== undefined) this.emit('warning', { message: `cannot dial: ${thrown.message}`, peer: `${a.host}:${a.port}` });
      },
    );
  }

  /**
   * An incoming connection whose handshake named this torrent (the session routed it). Returns false
   * when refused (full, banned, not running); the session then closes it.
   */
  adopt(conn: PeerConnection, h: Handshake): boolean {
    if (!this.active || this.peers.size >= this.maxPeers) return false;
    if (!this.candidates.markConnected(conn.address)) return false;
    conn.handler = this;
    conn.setPieceCount(this.layout.pieceCount);
    conn.sendHandshake(this.infoHash, this.opts.peerId, FEATURES);
    if (!this.onHandshake(conn, h)) {
      this.candidates.disconnected(conn.address, false, this.clock.now());
      return false;
    }
    return true;
  }

  // ---- ConnectionHandler ----

  onHandshake(conn: PeerConnection, h: Handshake): boolean {
    this.handshaking.delete(conn);
    // A dial that was handshaking when we paused (or failed) must not become a peer of a stopped torrent.
    if (!this.active) return false;
    if (!h.infoHash.equals(this.infoHash)) return false;
    if (h.peerId.equals(this.opts.peerId)) {
      // We dialled ourselves (RELIABILITY.md case 21): never again.
      this.candidates.ban(conn.address);
      return false;
    }
    for (const p of this.peers.values()) {
      if (p.conn.remote?.peerId.equals(h.peerId) === true) return false; // duplicate peer (case 21)
    }
    const p = this.addPeerState(conn);
    const f = conn.features;
    if (f.extended) this.sendExtendedHandshake(p);
    if (this.picker.piecesHave === this.layout.pieceCount && f.fast) conn.send({ type: 'have-all' });
    else if (this.picker.piecesHave > 0) conn.send({ type: 'bitfield', bytes: this.haveBitfield() });
    else if (f.fast) conn.send({ type: 'have-none' });
    this.emit('peer-connected', { address: conn.key, incoming: !conn.outgoing });
    return true;
  }

  private addPeerState(conn: PeerConnection): PeerState {
    const p = new PeerState(this.nextPeerId++, conn, this.layout.pieceCount, this.clock.now());
    this.peers.set(conn, p);
    this.byId.set(p.id, p);
    this.picker.addPeer(p.id, p.bitfield);
    return p;
  }

  private sendExtendedHandshake(p: PeerState): void {
    const info = this.opts.infoBytes;
    const payload = encodeExtendedHandshake({
      // Without the info bytes we cannot serve metadata, so we do not offer it.
      m: info !== undefined ? p.router.localMap : {},
      reqq: OUR_REQQ,
      ...(this.opts.listenPort > 0 ? { p: this.opts.listenPort } : {}),
      ...(info !== undefined ? { metadataSize: info.length } : {}),
    });
    p.conn.send({ type: 'extended', id: 0, payload });
  }

  /**
   * A connection that fetched this torrent's metadata (MetadataFetcher) becomes a peer: its
   * handshakes were exchanged already, so we re-send only our extended handshake (BEP 10 allows a
   * second one; it now carries `metadata_size`), announce what we have with `have`s (a bitfield
   * may only follow the handshake), then replay what the peer sent meanwhile (its bitfield,
   * `have`s, chokes, its extended handshake), checked against the now known piece count.
   * Returns false (and closes nothing) when it is refused.
   */
  takeOver(conn: PeerConnection, replay: readonly Message[]): boolean {
    if (!this.active || this.peers.size >= this.maxPeers || conn.isClosed) return false;
    const h = conn.remote;
    if (h === undefined || !h.infoHash.equals(this.infoHash) || h.peerId.equals(this.opts.peerId)) return false;
    for (const q of this.peers.values()) if (q.conn.remote?.peerId.equals(h.peerId) === true) return false;
    if (!this.candidates.markConnected(conn.address)) return false;
    conn.handler = this;
    conn.setPieceCount(this.layout.pieceCount);
    const p = this.addPeerState(conn);
    if (conn.features.extended) this.sendExtendedHandshake(p);
    if (this.picker.piecesHave > 0) for (let i = 0; i < this.layout.pieceCount; i++) if (this.picker.hasPiece(i)) conn.send({ type: 'have', index: i });
    this.emit('peer-connected', { address: conn.key, incoming: !conn.outgoing });
    for (const m of replay) {
      if (conn.isClosed) break;
      if (m.type === 'have' && m.index >= this.layout.pieceCount) {
        conn.close(this.protocolError(p, `have ${m.index} but the torrent has ${this.layout.pieceCount} pieces`));
        break;
      }
      this.onMessage(conn, m);
    }
    if (!conn.isClosed) this.fill(p);
    return true;
  }

  private haveBitfield(): Buffer {
    const bf = new Bitfield(this.layout.pieceCount);
    for (let i = 0; i < this.layout.pieceCount; i++) if (this.picker.hasPiece(i)) bf.set(i);
    return bf.toBuffer();
  }

  onMessage(conn: PeerConnection, m: Message): void {
    const p = this.peers.get(conn);
    if (p === undefined) return;
    try {
      this.handle(p, m);
    } catch (e) {
      if (e instanceof EngineError) conn.close(e);
      else if ((e as { name?: string }).name === 'WireError') {
        conn.close(new EngineError('ENGINE_PEER_PROTOCOL', (e as Error).message, { peer: conn.key, cause: e }));
      } else throw e;
    }
  }

  private protocolError(p: PeerState, message: string): EngineError {
    return new EngineError('ENGINE_PEER_PROTOCOL', message, { peer: p.conn.key });
  }

  private handle(p: PeerState, m: Message): void {
    switch (m.type) {
      case 'piece':
        this.onPiece(p, m.index, m.begin, m.block);
        return;
      case 'have':
        if (p.bitfield.set(m.index)) {
          this.picker.peerHave(p.id, m.index);
          if (!p.amInterested && this.picker.wants(m.index)) this.setInterested(p, true);
        }
        return;
      case 'bitfield': {
        const bf = Bitfield.fromWire(m.bytes, this.layout.pieceCount);
        for (const i of bf.indices()) if (p.bitfield.set(i)) this.picker.peerHave(p.id, i);
        this.updateInterest(p);
        return;
      }
      case 'have-all':
        for (let i = 0; i < this.layout.pieceCount; i++) if (p.bitfield.set(i)) this.picker.peerHave(p.id, i);
        this.updateInterest(p);
        return;
      case 'have-none':
        return;
      case 'choke':
        p.amChoked = true;
        // Without BEP 6 a choke discards every pending request; with it the peer rejects them one by one.
        if (!p.conn.features.fast) this.picker.releaseAll(p.id);
        return;
      case 'unchoke':
        p.amChoked = false;
        p.lastProgress = this.clock.now();
        return;
      case 'interested':
        p.peerInterested = true;
        this.maybeUnchoke(p);
        return;
      case 'not-interested':
        p.peerInterested = false;
        // Its slot is free for someone who wants data (an early run; BEP 3's interval governs the rest).
        if (!p.peerChoked) this.rechoke();
        return;
      case 'request':
        this.onRequest(p, m.index, m.begin, m.length);
        return;
      case 'cancel':
        p.served.delete(`${m.index}:${m.begin}:${m.length}`);
        return;
      case 'reject': {
        const had = this.picker.requestsOf(p.id).has(this.picker.blockKey(m.index, m.begin - (m.begin % BLOCK_BYTES)));
        if (had && m.begin % BLOCK_BYTES === 0) this.picker.release(p.id, m.index, m.begin);
        else p.faults++;
        return;
      }
      case 'allowed-fast':
        if (m.index < this.layout.pieceCount && p.allowedFast.size < 64) p.allowedFast.add(m.index);
        return;
      case 'extended':
        this.onExtended(p, m);
        return;
      case 'suggest':
      case 'port':
      case 'keep-alive':
      case 'unknown':
        return;
    }
  }

  private onExtended(p: PeerState, m: Extract<Message, { type: 'extended' }>): void {
    let routed;
    try {
      routed = p.router.route(m);
    } catch (e) {
      // A malformed handshake or an extension message we never offered: counted, not fatal (as libtorrent).
      if (!(e instanceof WireError)) throw e;
      p.faults++;
      return;
    }
    if (routed.name === 'handshake') {
      const h = routed.handshake;
      if (h.reqq !== undefined) p.reqq = Math.min(h.reqq, 10_000);
      if (h.v !== undefined && h.v.length <= 100) p.client = h.v;
    } else if (routed.name === UT_METADATA) this.onMetadataMessage(p, routed.message);
  }

  /** BEP 9 serving: `data` for a piece of our info dictionary, `reject` when we have none or the peer asked too often. */
  private onMetadataMessage(p: PeerState, msg: MetadataMessage): void {
    if (msg.type !== 'request') return; // we never ask once we have the metadata
    const info = this.opts.infoBytes;
    let reply: MetadataMessage;
    if (info === undefined || msg.piece >= metadataPieceCount(info.length) || p.metadataServed >= metadataPieceCount(info.length) + MAX_METADATA_SERVES_EXTRA) {
      reply = { type: 'reject', piece: msg.piece };
    } else {
      p.metadataServed++;
      const data = info.subarray(msg.piece * METADATA_PIECE_BYTES, Math.min(info.length, (msg.piece + 1) * METADATA_PIECE_BYTES));
      reply = { type: 'data', piece: msg.piece, totalSize: info.length, data };
    }
    const id = p.router.remoteId(UT_METADATA);
    if (id !== undefined) p.conn.send({ type: 'extended', id, payload: encodeMetadataMessage(reply) });
  }

  private updateInterest(p: PeerState): void {
    const want = this.picker.interesting(p.id);
    if (want !== p.amInterested) this.setInterested(p, want);
  }

  private setInterested(p: PeerState, on: boolean): void {
    // Upload-only: a `have` or bitfield must not make us ask for data we cannot store.
    if (on && this.diskError !== undefined) return;
    p.amInterested = on;
    p.conn.send({ type: on ? 'interested' : 'not-interested' });
  }

  onBatchEnd(conn: PeerConnection): void {
    const p = this.peers.get(conn);
    if (p !== undefined) this.fill(p);
  }

  onClose(conn: PeerConnection, reason: EngineError | undefined): void {
    const p = this.peers.get(conn);
    const now = this.clock.now();
    this.handshaking.delete(conn);
    if (p === undefined) {
      // No handshake: whatever the way it ended, nothing came of it (unless we were stopping).
      this.candidates.disconnected(conn.address, this.active && closeIsFailure({ reason, handshaken: false, blocks: 0, connectedMs: 0 }), now);
      // Failed before or during the handshake: still worth reporting (a dead or hostile address).
      if (reason !== undefined) this.emit('peer-disconnected', { address: conn.key, reason });
      return;
    }
    this.peers.delete(conn);
    this.byId.delete(p.id);
    this.picker.removePeer(p.id);
    // Closes while pausing or closing are ours, not the peer's failure.
    const failed = this.active && closeIsFailure({ reason, handshaken: true, blocks: p.blocks, connectedMs: now - p.connectedAt });
    this.candidates.disconnected(conn.address, failed, now);
    this.emit('peer-disconnected', { address: conn.key, reason });
    if (this.active) {
      if (!p.peerChoked) this.rechoke();
      this.connectMore();
      this.fillAll();
    }
  }

  // ---- downloading ----

  private fill(p: PeerState): void {
    if (this.stateValue.kind !== 'downloading' || !p.amInterested) return;
    if (p.amChoked && (!p.conn.features.fast || p.allowedFast.size === 0)) return;
    if (this.writeBacklog > MAX_WRITE_BACKLOG_BYTES) return;
    const now = this.clock.now();
    const depth = pipelineDepth(p.rate.rate(now), p.reqq, p.snubbed);
    const outstanding = this.picker.outstanding(p.id);
    const room = depth - outstanding;
    // Refill in batches (an eighth of the pipeline) to keep requests per write high on fast links.
    if (room <= 0 || (outstanding > 0 && room < Math.max(1, depth >> 3))) return;
    const reqs = this.picker.pick(p.id, room, now, p.amChoked ? p.allowedFast : undefined);
    if (reqs.length === 0) {
      if (outstanding === 0 && !this.picker.interesting(p.id)) this.setInterested(p, false);
      return;
    }
    if (outstanding === 0) p.lastProgress = now;
    const limiter = this.opts.downLimiter;
    if (limiter === undefined || !limiter.limited) {
      p.conn.sendRequests(reqs);
      return;
    }
    // Rate-limited: each request goes out once the bucket allows its bytes (what we ask for is what arrives).
    for (const r of reqs) {
      const wait = limiter.acquire(r.length, p.id, this.closing.signal).then(
        () => {
          // Released meanwhile (choke, reject, endgame cancel, peer gone): nothing to send.
          if (p.conn.isClosed || !this.picker.requestsOf(p.id).has(this.picker.blockKey(r.piece, r.offset))) return;
          p.conn.sendRequests([r]);
        },
        () => undefined,
      );
      this.track(wait);
    }
  }

  /** Refills every pipeline, best-scoring peers first, so they get the blocks when few are left (endgame). */
  private fillAll(except?: PeerState): void {
    if (this.stateValue.kind !== 'downloading') return;
    const now = this.clock.now();
    const order = [...this.peers.values()].filter((q) => q !== except);
    if (order.length > 1) {
      const score = new Map(order.map((q) => [q, this.score(q, now)]));
      order.sort((a, b) => score.get(b)! - score.get(a)!);
    }
    for (const q of order) this.fill(q);
  }

  private onPiece(p: PeerState, index: number, begin: number, block: Buffer): void {
    const now = this.clock.now();
    const len = block.length;
    if (index >= this.layout.pieceCount) throw this.protocolError(p, `block of piece ${index} outside the torrent`);
    if (this.diskError !== undefined) {
      // Answers to requests cancelled on the disk error, still in flight: waste, but not the peer's fault.
      this.wasteBytes += len;
      return;
    }
    const key = this.picker.blockKey(index, begin - (begin % BLOCK_BYTES));
    const sentAt = begin % BLOCK_BYTES === 0 ? this.picker.requestsOf(p.id).get(key) : undefined;
    const o = this.picker.onBlock(p.id, index, begin, len);
    if (o.kind !== 'accepted') {
      if (sentAt !== undefined && o.kind === 'unrequested') {
        // It answers our request with a block of the wrong size: a protocol violation (case 24).
        throw this.protocolError(p, `block ${index}:${begin} has ${len} bytes, not what was requested`);
      }
      this.wasteBytes += len;
      p.waste++;
      if (p.waste > MAX_WASTE_BLOCKS && p.waste > p.blocks) throw this.protocolError(p, `too many unrequested blocks (${p.waste})`);
      return;
    }
    if (sentAt !== undefined) {
      const rt = now - sentAt;
      p.responseMs = p.responseMs === undefined ? rt : p.responseMs * 0.9 + rt * 0.1;
    }
    p.rate.add(len, now);
    this.downRate.add(len, now);
    p.blocks++;
    p.lastProgress = now;
    if (p.snubbed) p.snubbed = false;
    this.downloaded += len;
    this.peersUsed.add(p.conn.key);
    let buf = this.pieceBufs.get(index);
    if (buf === undefined) {
      buf = this.pool.take();
      this.pieceBufs.set(index, buf);
    }
    block.copy(buf, begin);
    for (const pid of o.cancel) {
      const q = this.byId.get(pid);
      q?.conn.sendCancels([{ piece: index, offset: begin, length: len }]);
    }
    if (o.complete) this.completePiece(index);
  }

  private completePiece(index: number): void {
    const buf = this.pieceBufs.get(index);
    this.pieceBufs.delete(index);
    invariant(buf !== undefined, `piece ${index} complete without a buffer`);
    const size = pieceSize(this.layout, index);
    const chunks = [buf.subarray(0, size)];
    this.writeBacklog += size;
    const work = (async () => {
      let ok: boolean;
      try {
        ok = await this.verifier.verify(chunks, pieceHash(this.layout, index));
      } catch (e) {
        ok = false;
        this.emit('warning', { message: `verifying piece ${index} failed: ${(e as Error).message}`, cause: e });
      }
      if (!ok) {
        this.writeBacklog -= size;
        this.pool.give(buf);
        this.onHashFailure(index);
        return;
      }
      try {
        await this.storage.write(index, 0, chunks);
      } catch (e) {
        this.writeBacklog -= size;
        this.pool.give(buf);
        if (this.picker.pieceState(index) === 'verifying') this.picker.pieceFailed(index);
        this.onDiskError(e instanceof EngineError ? e : new EngineError('ENGINE_DISK', `cannot write piece ${index}: ${(e as Error).message}`, { cause: e, piece: index }));
        return;
      }
      this.writeBacklog -= size;
      this.pool.give(buf);
      this.onPiecePassed(index);
    })();
    this.track(work);
  }

  private track(p: Promise<unknown>): void {
    this.pendingIo.add(p);
    p.finally(() => this.pendingIo.delete(p)).catch(() => undefined);
  }

  private onPiecePassed(index: number): void {
    if (this.picker.pieceState(index) !== 'verifying') return; // torrent closed meanwhile
    const senders = this.picker.sendersOf(index);
    this.picker.piecePassed(index);
    if (senders.length === 1) {
      const s = this.byId.get(senders[0]!);
      if (s !== undefined && s.parole) {
        // It delivered a whole piece alone and it was good: trust it again.
        s.parole = false;
        this.picker.setParole(s.id, false);
      }
    }
    // Interest can only be lost once nothing is left to start (endgame): checking earlier would scan
    // the piece list for every peer on every piece.
    const mayLoseInterest = this.picker.endgame || this.picker.done;
    for (const q of this.peers.values()) {
      q.conn.send({ type: 'have', index });
      if (mayLoseInterest && q.amInterested && q.bitfield.has(index) && !this.picker.interesting(q.id)) this.setInterested(q, false);
    }
    this.emit('piece-verified', { index });
    if (this.picker.done && this.stateValue.kind === 'downloading') {
      this.setState({ kind: 'seeding' });
      this.opts.trackers?.completed().catch(() => undefined);
      this.emit('done');
      this.resolveDone();
    } else {
      this.fillAll();
    }
  }

  private onHashFailure(index: number): void {
    if (this.picker.pieceState(index) !== 'verifying') return;
    const senders = this.picker.sendersOf(index);
    this.picker.pieceFailed(index);
    this.hashFailures++;
    const names: string[] = [];
    for (const id of senders) {
      const s = this.byId.get(id);
      if (s === undefined) continue;
      names.push(s.conn.key);
      s.hashFailures++;
      const verdict = hashFailureVerdict(s.hashFailures, senders.length === 1, s.parole);
      if (verdict === 'ban') this.ban(s, `sent data for ${s.hashFailures} piece(s) that failed the hash check`);
      else {
        s.parole = true;
        this.picker.setParole(s.id, true);
      }
    }
    this.emit('hash-failure', { index, peers: names });
    this.fillAll();
  }

  private ban(p: PeerState, reason: string): void {
    this.candidates.ban(p.conn.address);
    this.emit('peer-banned', { address: p.conn.key, reason });
    p.conn.close(new EngineError('ENGINE_PEER_BANNED', reason, { peer: p.conn.key }));
  }

  // ---- serving (minimal until issue 6's choker, resume and rate limits) ----

  /** A peer became interested: when a slot is free, an early choker run gives it one now rather than in up to 10 s. */
  private maybeUnchoke(p: PeerState): void {
    if (!p.peerChoked || this.picker.piecesHave === 0) return;
    this.rechoke();
  }

  /** One choker run (BEP 3 tit-for-tat, choker/choker.ts): samples the peers, sends the chokes and unchokes. */
  private rechoke(): void {
    if (!this.active || this.picker.piecesHave === 0) return;
    const now = this.clock.now();
    const sample: ChokerPeer<number>[] = [];
    for (const q of this.peers.values()) {
      sample.push({
        id: q.id,
        interested: q.peerInterested,
        amInterested: q.amInterested,
        downloadBps: q.rate.rate(now),
        uploadBps: q.upRate.rate(now),
        snubbed: q.snubbed,
        choked: q.peerChoked,
        connectedAt: q.connectedAt,
      });
    }
    // Upload-only has nothing to gain from peers: rank them as a seed does, by what they take.
    const k = this.stateValue.kind;
    const d = this.choker.run(sample, k === 'seeding' || k === 'upload-only' ? 'seeding' : 'leeching', now);
    for (const id of d.toChoke) {
      const q = this.byId.get(id);
      if (q === undefined) continue;
      q.peerChoked = true;
      q.conn.send({ type: 'choke' });
      // BEP 6: a choke with the fast extension rejects each pending request; without it they are simply dropped.
      if (q.conn.features.fast) {
        for (const key of q.served) {
          const [index, begin, length] = key.split(':').map(Number) as [number, number, number];
          q.conn.send({ type: 'reject', index, begin, length });
        }
      }
      q.served.clear();
    }
    for (const id of d.toUnchoke) {
      const q = this.byId.get(id);
      if (q === undefined) continue;
      q.peerChoked = false;
      q.conn.send({ type: 'unchoke' });
    }
  }

  private onRequest(p: PeerState, index: number, begin: number, length: number): void {
    const bad =
      p.peerChoked ||
      index >= this.layout.pieceCount ||
      !this.picker.hasPiece(index) ||
      length === 0 ||
      length > BLOCK_BYTES ||
      begin + length > pieceSize(this.layout, index) ||
      // Blocks served but still in its socket count too: a peer that requests and never reads would otherwise grow our memory without bound.
      p.served.size + Math.ceil(p.conn.queuedBytes / BLOCK_BYTES) >= MAX_QUEUED_PEER_REQUESTS;
    if (bad) {
      p.badRequests++;
      if (p.conn.features.fast) p.conn.send({ type: 'reject', index, begin, length });
      if (p.badRequests > MAX_BAD_REQUESTS) p.conn.close(this.protocolError(p, 'too many invalid requests'));
      return;
    }
    const key = `${index}:${begin}:${length}`;
    p.served.add(key);
    const limiter = this.opts.upLimiter;
    const allowed = limiter === undefined || !limiter.limited ? Promise.resolve() : limiter.acquire(length, p.id, this.closing.signal);
    const work = allowed.then(() => (p.served.has(key) && !p.conn.isClosed ? this.storage.read(index, begin, length) : undefined)).then(
      (block) => {
        if (block === undefined) return;
        if (!p.served.delete(key) || p.conn.isClosed) return;
        p.conn.sendPiece(index, begin, block);
        const now = this.clock.now();
        this.uploaded += length;
        p.upRate.add(length, now);
        this.upRate.add(length, now);
      },
      (e: unknown) => {
        p.served.delete(key);
        if (this.closing.signal.aborted) return; // the limiter wait was cut short by close()
        this.emit('warning', { message: `cannot read piece ${index}: ${(e as Error).message}`, cause: e });
      },
    );
    this.track(work);
  }

  // ---- time ----

  private tick(): void {
    const now = this.clock.now();
    for (const p of [...this.peers.values()]) {
      p.conn.tick(now);
      if (p.conn.isClosed) continue;
      const outstanding = this.picker.outstanding(p.id);
      const snubMs = this.opts.snubTimeoutMs ?? SNUB_TIMEOUT_MS;
      if (outstanding > 0 && !p.snubbed && now - p.lastProgress > snubMs) {
        // Snubbed (issue 5): its requests go to others; it keeps one request to prove itself.
        p.snubbed = true;
        p.faults++;
        const released = this.picker.releaseAll(p.id);
        p.conn.sendCancels(released);
        this.emit('warning', { message: 'peer snubbed us: no block in time', peer: p.conn.key });
        this.fillAll(p);
      } else if (p.snubbed && outstanding > 0 && now - p.lastProgress > 2 * snubMs) {
        p.conn.close(new EngineError('ENGINE_PEER_TIMEOUT', 'peer never answered our requests', { peer: p.conn.key }));
        continue;
      }
      this.fill(p);
    }
    for (const c of [...this.handshaking]) c.tick(now);
    if (this.choker.due(now)) this.rechoke();
    this.replaceWeakest(now);
    this.connectMore();
    this.emit('progress', this.stats());
  }

  /** When the pool is full and candidates wait, drop the lowest-scoring peer that has had its chance. */
  private replaceWeakest(now: number): void {
    if (now - this.lastReplaceAt < REPLACE_EVERY_MS) return;
    this.lastReplaceAt = now;
    if (this.stateValue.kind !== 'downloading' || this.peers.size < this.maxPeers || this.candidates.waiting(now) === 0) return;
    let worst: PeerState | undefined;
    let worstScore = Infinity;
    for (const p of this.peers.values()) {
      if (now - p.connectedAt < REPLACE_GRACE_MS) continue;
      const s = this.score(p, now);
      if (s < worstScore) {
        worst = p;
        worstScore = s;
      }
    }
    if (worst !== undefined) worst.conn.close(undefined);
  }

  /**
   * A piece write failed (disk full, read-only, no permission: RELIABILITY.md case 30). Like
   * libtorrent's upload mode, the torrent stops downloading and keeps serving what it verified:
   * requests cancelled, interest dropped, buffers of half-received pieces returned. `done` rejects.
   */
  private onDiskError(e: EngineError): void {
    const k = this.stateValue.kind;
    if (this.diskError !== undefined || k === 'closed') return;
    this.diskError = e;
    // Paused: no peers to serve now; resume() enters upload-only.
    if (k !== 'paused') this.setState({ kind: 'upload-only', error: e });
    for (const p of this.peers.values()) {
      const released = this.picker.releaseAll(p.id);
      if (released.length > 0) p.conn.sendCancels(released);
      if (p.amInterested) this.setInterested(p, false);
    }
    for (const buf of this.pieceBufs.values()) this.pool.give(buf);
    this.pieceBufs.clear();
    this.rejectDone(e);
    // An 'error' event without a listener would throw: `done` already carries the error.
    if (this.listenerCount('error') > 0) this.emit('error', e);
  }

  /**
   * Stops everything: sends `stopped` (bounded), closes peers and dials, waits for pending disk
   * work, closes storage. Leaves no socket, timer or file handle behind.
   */
  async close(): Promise<void> {
    if (this.stateValue.kind === 'closed') return;
    const wasDone = this.picker.done;
    this.stateValue = { kind: 'closed' };
    this.emit('state', this.stateValue);
    this.timer?.cancel();
    this.timer = undefined;
    this.closing.abort();
    this.dialer.close();
    for (const c of [...this.handshaking]) c.close(undefined);
    for (const p of [...this.peers.values()]) p.conn.close(undefined);
    const stop = this.opts.trackers?.stop().catch(() => undefined);
    while (this.pendingIo.size > 0) await Promise.allSettled([...this.pendingIo]);
    this.pieceBufs.clear();
    await this.storage.close();
    await stop;
    if (!wasDone) this.rejectDone(new EngineError('ENGINE_CLOSED', 'torrent closed before it finished'));
  }
}
