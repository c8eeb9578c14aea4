import { TorrentPex } from '../discovery/pex.js';
import { EventEmitter } from 'node:events';
import type { Peer as TrackerPeer, TrackerStatus } from '@tc/tracker';
import type { Handshake, Message } from '@tc/wire';
import type { Clock, TimerHandle } from '../clock.js';
import { collectSnapshot } from '../diagnosis/collect.js';
import { Diagnoser } from '../diagnosis/debounce.js';
import { diagnose, type Finding } from '../diagnosis/diagnose.js';
import type { TorrentSnapshot } from '../diagnosis/snapshot.js';
import { EngineError } from '../errors.js';
import type { TorrentLayout } from '../layout.js';
import { closeReasonFor, type ConnectionHandler, type PeerAddress, type PeerConnection } from '../peer/connection.js';
import type { CandidateSource } from '../peer/swarm.js';
import { PiecePicker } from '../picker/picker.js';
import type { TorrentStorage } from '../storage/types.js';
import { FileStream, type FileStreamOptions } from '../stream/file-stream.js';
import { StreamPriorities } from '../stream/priorities.js';
import { isLive, Totals, type TorrentContext } from './context.js';
import { HashServer } from '../v2/hash-server.js';
import { dispatch, type DispatchParts } from './dispatch.js';
import { PieceBuffers } from './piece-buffers.js';
import { PieceCompletion } from './piece-completion.js';
import { SNUB_TIMEOUT_MS, REPLACE_EVERY_MS, shouldReplace, snubVerdict, weakestPeer } from './peer-policy.js';
import { PeerRegistry } from './peer-registry.js';
import { PeerTable, scorePeer, type PeerState } from './peer-state.js';
import { MAX_WRITE_BACKLOG_BYTES, protocolError, Requester } from './requesting.js';
import { Server } from './serving.js';
import { transition, type TorrentState } from './states.js';
import type { PeerInfo, TorrentEvents, TorrentOptions, TorrentStats } from './types.js';
import { WebSeeds } from '../webseed/web-seeds.js';

// The torrent's public names, wherever their part keeps them (index.ts and older imports read them here).
export type { PeerInfo, TorrentEvents, TorrentOptions, TorrentStats } from './types.js';
export { CONNECT_TIMEOUT_MS } from '../peer/dial.js';
export { DEFAULT_MAX_PEERS } from './peer-registry.js';
export { SNUB_TIMEOUT_MS } from './peer-policy.js';
export { MAX_WRITE_BACKLOG_BYTES } from './requesting.js';
export { UPLOAD_SLOTS } from './serving.js';
export { LOCAL_EXTENSIONS, MAX_BAD_REQUESTS, MAX_QUEUED_PEER_REQUESTS, MAX_WASTE_BLOCKS } from './peer-state.js';
export { MAX_METADATA_SERVES_EXTRA, OUR_REQQ } from './metadata-server.js';

/** How often the torrent re-checks timeouts, dials, refills: one timer for all peers. */
export const TICK_MS = 1_000;
/** How often the torrent works out why it is (not) downloading (issue 15): a pass over the pieces. */
export const DIAGNOSE_EVERY_MS = 2_000;

/**
 * One torrent: its lifecycle (start, pause, resume, close; STATE.md) and the tick that judges its
 * peers. The work is done by its parts, which share one TorrentContext: admission (peer-registry),
 * message dispatch, requesting, piece completion, serving and choking, metadata serving. Everything
 * time-related runs off one interval on the injected clock; sockets come from `connect` or are
 * handed over by the session.
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
  private readonly opts: TorrentOptions;
  private readonly peers = new PeerTable();
  private readonly totals: Totals;
  private readonly buffers: PieceBuffers;
  private readonly registry: PeerRegistry;
  private readonly completion: PieceCompletion;
  private readonly requester: Requester;
  private readonly server: Server;
  private readonly parts: DispatchParts;
  /** Web seeds (BEP 19), when the torrent names any. */
  private readonly webSeeds: WebSeeds | undefined;
  /** Peer exchange (BEP 11), when on. */
  readonly pex: TorrentPex | undefined;
  private timer: TimerHandle | undefined;
  private readonly pendingIo = new Set<Promise<unknown>>();
  private lastReplaceAt: number;
  private lastDiagnoseAt = -Infinity;
  private readonly diagnoser = new Diagnoser();
  /** Aborted on close: releases this torrent's waits on the (shared) rate limiters. */
  private readonly closing = new AbortController();
  /** The windows of the open read streams (stream/), made on the first. */
  private streams: StreamPriorities | undefined;

  constructor(opts: TorrentOptions) {
    super();
    this.opts = opts;
    this.infoHash = opts.infoHash;
    this.name = opts.name;
    this.layout = opts.layout;
    this.storage = opts.storage;
    this.clock = opts.clock;
    this.picker = new PiecePicker(opts.layout, {
      ...(opts.random !== undefined ? { random: opts.random } : {}),
      ...(opts.sequential === true ? { sequential: true } : {}),
    });
    const now = this.clock.now();
    this.totals = new Totals(now);
    this.lastReplaceAt = now;
    const ctx: TorrentContext = {
      opts,
      layout: opts.layout,
      picker: this.picker,
      clock: opts.clock,
      storage: opts.storage,
      peers: this.peers,
      totals: this.totals,
      closing: this.closing.signal,
      // EventEmitter's generic emit and the context's differ only in how TypeScript spells the tuple.
      emit: this.emit.bind(this) as TorrentContext['emit'],
      state: () => this.stateValue,
      diskError: () => this.diskError,
      track: (work) => this.track(work),
    };
    this.buffers = new PieceBuffers(opts.layout.pieceLength);
    this.registry = new PeerRegistry(ctx, this);
    this.completion = new PieceCompletion(ctx, this.buffers, {
      refill: () => {
        this.requester.fillAll();
        this.webSeeds?.fill();
      },
      setInterested: (p, on) => this.requester.setInterested(p, on),
      ban: (p, reason) => this.registry.ban(p, reason),
      finished: () => this.finished(),
      diskError: (e) => this.onDiskError(e),
      blameSource: (id) => this.webSeeds?.hashFailed(id),
    });
    this.requester = new Requester(ctx, this.buffers, this.completion);
    this.webSeeds =
      opts.webSeeds !== undefined && opts.webSeeds.urls.length > 0
        ? new WebSeeds(
            ctx,
            { buffers: this.buffers, completion: this.completion, maxWriteBacklogBytes: MAX_WRITE_BACKLOG_BYTES, refill: () => this.requester.fillAll() },
            { ...opts.webSeeds, ...(opts.webSeedTimeoutMs !== undefined ? { timeoutMs: opts.webSeedTimeoutMs } : {}) },
          )
        : undefined;
    this.server = new Server(ctx);
    this.pex =
      opts.pex === true
        ? new TorrentPex({ isSelf: opts.isSelf, pieceCount: opts.layout.pieceCount, addPeers: (peers) => this.addPeers(peers, 'pex') })
        : undefined;
    this.parts = {
      ctx,
      requester: this.requester,
      server: this.server,
      pex: this.pex,
      holepunchDial: (a) => this.registry.addPeers([a], 'pex'),
      ...(ctx.layout.v2 !== undefined ? { hashes: new HashServer(ctx) } : {}),
    };
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
      t.on('peers', ({ peers }) =>
        this.addPeers(
          peers.map((p: TrackerPeer) => ({ host: p.ip, port: p.port })),
          'tracker',
        ),
      );
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
    this.registry.connectMore();
    this.webSeeds?.fill();
  }

  /** Stops requesting, serving and dialing: every peer is dropped. */
  pause(): void {
    const k = this.stateValue.kind;
    if (k !== 'downloading' && k !== 'seeding' && k !== 'upload-only') return;
    this.setState({ kind: 'paused', wasDone: k === 'seeding' });
    this.diagnoser.reset();
    this.registry.closePeers();
    this.webSeeds?.pause();
  }

  resume(): void {
    if (this.stateValue.kind !== 'paused') return;
    if (this.diskError !== undefined) {
      this.setState({ kind: 'upload-only', error: this.diskError });
    } else {
      // Pieces that were being written when we paused may have completed the download meanwhile.
      const done = this.stateValue.wasDone || this.picker.done;
      this.setState(done ? { kind: 'seeding' } : { kind: 'downloading' });
      if (done) this.resolveDone();
    }
    this.registry.candidates.resetBackoff();
    this.registry.connectMore();
  }

  /** Adds peers to dial (trackers, `--peer`, later DHT and PEX). */
  addPeers(addresses: readonly PeerAddress[], source: CandidateSource): void {
    this.registry.addPeers(addresses, source);
  }

  /** Tracker states for error messages ("no peers: tracker X failed because Y"). */
  trackerStatus(): TrackerStatus[] {
    return this.opts.trackers?.status() ?? [];
  }

  stats(): TorrentStats {
    const now = this.clock.now();
    const t = this.totals;
    // Kept by the picker as pieces change state: called on every tick, it must not scan 100k pieces.
    return {
      state: this.stateValue.kind,
      pieceCount: this.layout.pieceCount,
      piecesHave: this.picker.piecesHave,
      totalBytes: this.layout.totalLength,
      haveBytes: this.picker.haveBytes,
      downloaded: t.downloaded,
      uploaded: t.uploaded,
      left: this.picker.leftBytes,
      downRateBps: t.downRate.rate(now),
      upRateBps: t.upRate.rate(now),
      peers: this.peers.size,
      peersUsed: t.peersUsed.size,
      candidates: this.registry.candidates.size,
      sources: this.registry.candidates.bySource(),
      hashFailures: t.hashFailures,
      wasteBytes: t.wasteBytes,
      endgame: this.picker.endgame,
      ...(this.diskError !== undefined ? { error: this.diskError } : {}),
      ...(this.webSeeds !== undefined ? { webSeeds: this.webSeeds.info() } : {}),
    };
  }

  /** What the diagnosis reads (issue 15): trackers, candidates, dials, peers, availability, limits, disk. */
  snapshot(): TorrentSnapshot {
    const t = this.totals;
    const now = this.clock.now();
    const o = this.opts;
    return collectSnapshot({
      state: this.stateValue.kind,
      now,
      layout: this.layout,
      picker: this.picker,
      peers: this.peers.values(),
      peerCount: this.peers.size,
      candidates: this.registry.candidates.size,
      counters: this.registry.counters,
      trackers: this.trackerStatus(),
      downRateBps: t.downRate.rate(now),
      upRateBps: t.upRate.rate(now),
      downLimiter: o.downLimiter,
      upLimiter: o.upLimiter,
      maxPeers: this.registry.maxPeers,
      writeBacklogBytes: this.completion.writeBacklog,
      maxWriteBacklogBytes: MAX_WRITE_BACKLOG_BYTES,
      hashFailures: t.hashFailures,
      wasteBytes: t.wasteBytes,
      dhtNodes: o.dhtNodes?.(),
      webSeeds: this.webSeeds?.info(),
    });
  }

  /**
   * Why the torrent is not downloading faster, most blocking first (issue 15): the findings that have
   * held for a few seconds (see Diagnoser), as of the last tick. Empty when nothing holds it back.
   */
  diagnose(): Finding[] {
    return this.diagnoser.shown(this.clock.now());
  }

  /** The findings of this very moment, not debounced (tests, `tc-debug-torrent`). */
  diagnoseNow(): Finding[] {
    return diagnose(this.snapshot());
  }

  private rediagnose(now: number): void {
    if (now - this.lastDiagnoseAt < DIAGNOSE_EVERY_MS) return;
    this.lastDiagnoseAt = now;
    // Only a download has anything to diagnose: a seeding torrent (a daemon may seed hundreds) skips the pass over its pieces.
    const current = this.stateValue.kind === 'downloading' ? diagnose(this.snapshot()) : [];
    const { findings, changed } = this.diagnoser.update(current, now);
    if (changed) this.emit('diagnosis', findings);
  }

  peerList(): PeerInfo[] {
    const now = this.clock.now();
    return [...this.peers.values()].map((p) => ({
      address: p.conn.key,
      client: p.client,
      downRateBps: p.rate.rate(now),
      score: scorePeer(p, now),
      link: p.conn.link,
    }));
  }

  // ---- admission (peer-registry.ts) and the ConnectionHandler ----

  /**
   * An incoming connection whose handshake named this torrent (the session routed it). Returns false
   * when refused (full, banned, not running); the session then closes it.
   */
  adopt(conn: PeerConnection, h: Handshake): boolean {
    return this.registry.adopt(conn, h);
  }

  /**
   * A connection that fetched this torrent's metadata (MetadataFetcher) becomes a peer, then what the
   * peer sent meanwhile is replayed (its bitfield, `have`s, chokes, its extended handshake), checked
   * against the now known piece count. Returns false (and closes nothing) when it is refused.
   */
  takeOver(conn: PeerConnection, replay: readonly Message[]): boolean {
    const p = this.registry.takeOver(conn);
    if (p === undefined) return false;
    for (const m of replay) {
      if (conn.isClosed) break;
      if (m.type === 'have' && m.index >= this.layout.pieceCount) {
        conn.close(protocolError(p, `have ${m.index} but the torrent has ${this.layout.pieceCount} pieces`));
        break;
      }
      this.onMessage(conn, m);
    }
    if (!conn.isClosed) this.requester.fill(p);
    return true;
  }

  onHandshake(conn: PeerConnection, h: Handshake): boolean {
    return this.registry.onHandshake(conn, h) !== undefined;
  }

  onMessage(conn: PeerConnection, m: Message): void {
    const p = this.peers.get(conn);
    if (p === undefined) return;
    try {
      dispatch(this.parts, p, m);
    } catch (e) {
      // The peer at fault (or a bug met on its input: ENGINE_PEER_INTERNAL) is closed; nothing else is.
      conn.close(closeReasonFor(e, conn.key));
    }
  }

  onBatchEnd(conn: PeerConnection): void {
    const p = this.peers.get(conn);
    if (p !== undefined) this.requester.fill(p);
  }

  onClose(conn: PeerConnection, reason: EngineError | undefined): void {
    const p = this.registry.onClose(conn, reason);
    if (p === undefined || !isLive(this.stateValue)) return;
    if (!p.peerChoked) this.server.rechoke();
    this.registry.connectMore();
    this.requester.fillAll();
  }

  // ---- time ----

  private tick(): void {
    const now = this.clock.now();
    const snubTimeoutMs = this.opts.snubTimeoutMs ?? SNUB_TIMEOUT_MS;
    this.pex?.tick(this.peers.values(), now);
    for (const p of [...this.peers.values()]) {
      p.conn.tick(now);
      if (p.conn.isClosed) continue;
      const verdict = snubVerdict({ outstanding: this.picker.outstanding(p.id), snubbed: p.snubbed, sinceProgressMs: now - p.lastProgress, snubTimeoutMs });
      if (verdict === 'snub') this.snub(p);
      else if (verdict === 'drop') {
        p.conn.close(new EngineError('ENGINE_PEER_TIMEOUT', 'peer never answered our requests', { peer: p.conn.key }));
        continue;
      }
      this.requester.fill(p);
    }
    this.requester.abandonStalled(now);
    this.webSeeds?.fill();
    this.registry.tickHandshaking(now);
    if (this.server.due(now)) this.server.rechoke();
    this.replaceWeakest(now);
    this.registry.connectMore();
    this.rediagnose(now);
    this.emit('progress', this.stats());
  }

  /** Snubbed (issue 5): its requests go to others; it keeps one request to prove itself. */
  private snub(p: PeerState): void {
    p.snubbed = true;
    p.faults++;
    p.conn.sendCancels(this.picker.releaseAll(p.id));
    this.emit('warning', { message: 'peer snubbed us: no block in time', peer: p.conn.key });
    this.requester.fillAll(p);
  }

  /** When the pool is full and candidates wait, drop the lowest-scoring peer that has had its chance. */
  private replaceWeakest(now: number): void {
    if (now - this.lastReplaceAt < REPLACE_EVERY_MS) return;
    this.lastReplaceAt = now;
    const due = shouldReplace({
      downloading: this.stateValue.kind === 'downloading',
      peers: this.peers.size,
      maxPeers: this.registry.maxPeers,
      candidatesWaiting: this.registry.candidates.waiting(now),
    });
    if (!due) return;
    weakestPeer(this.peers.values(), now, (p) => scorePeer(p, now))?.conn.close(undefined);
  }

  // ---- streaming (stream/, issue 14) ----

  /**
   * A readable stream over bytes `start`..`end` (inclusive) of file `fileIndex`, while the torrent
   * downloads: the pieces a few MiB ahead of the reader are fetched first (those of an unselected
   * file too), and it waits for each. ENGINE_BAD_OPTION for a bad index or range.
   */
  createReadStream(fileIndex: number, options: FileStreamOptions = {}): FileStream {
    this.streams ??= new StreamPriorities({ picker: this.picker, changed: (borrowed) => this.streamsChanged(borrowed) });
    const storage = this.storage;
    return new FileStream(
      {
        layout: this.layout,
        picker: this.picker,
        priorities: this.streams,
        read: (piece, offset, length) => storage.read(piece, offset, length),
        state: () => this.stateValue,
        events: this,
      },
      fileIndex,
      options,
    );
  }

  /** Read streams open on this torrent (each holds a window of pieces at the front of the picker). */
  get openStreams(): number {
    return this.streams?.readers ?? 0;
  }

  /** The streams' urgent pieces changed: ask for them now; a finished torrent downloads again for a reader. */
  private streamsChanged(borrowed: readonly number[]): void {
    const k = this.stateValue.kind;
    if (k === 'seeding' && !this.picker.done) this.setState({ kind: 'downloading' });
    else if (k === 'downloading' && this.picker.done) return this.finished(); // borrowed pieces given back
    if (this.stateValue.kind !== 'downloading') return;
    if (borrowed.length > 0) {
      for (const p of this.peers.values()) if (!p.amInterested && borrowed.some((i) => p.bitfield.has(i))) this.requester.setInterested(p, true);
    }
    this.requester.fillAll();
  }

  // ---- the end of a download ----

  /** Every wanted piece is stored while downloading. */
  private finished(): void {
    this.buffers.freePool();
    this.setState({ kind: 'seeding' });
    this.opts.trackers?.completed().catch(() => undefined);
    this.emit('done');
    this.resolveDone();
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
    this.requester.stopAll();
    this.rejectDone(e);
    // An 'error' event without a listener would throw: `done` already carries the error.
    if (this.listenerCount('error') > 0) this.emit('error', e);
  }

  private track(p: Promise<unknown>): void {
    this.pendingIo.add(p);
    // Pending work handles its own expected failures (disk, hash, limiter): a rejection here is a bug,
    // reported rather than lost.
    p.catch((e: unknown) =>
      this.emit('warning', { message: `internal error in pending disk or limiter work (a bug): ${(e as Error).message}`, cause: e }),
    ).finally(() => this.pendingIo.delete(p));
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
    this.registry.close();
    const stop = this.opts.trackers?.stop().catch(() => undefined);
    while (this.pendingIo.size > 0) await Promise.allSettled([...this.pendingIo]);
    await this.webSeeds?.close();
    this.buffers.clear();
    await this.storage.close();
    await stop;
    if (!wasDone) this.rejectDone(new EngineError('ENGINE_CLOSED', 'torrent closed before it finished'));
  }
}
