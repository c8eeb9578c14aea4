import { Bitfield, type Features, type Handshake } from '@tc/wire';
import { SwarmCounters } from '../diagnosis/counters.js';
import { EngineError } from '../errors.js';
import { PeerConnection, timeoutOptions, type ConnectionHandler, type PeerAddress } from '../peer/connection.js';
import { Dialer } from '../peer/dial.js';
import { CandidateList, closeIsFailure, type CandidateSource } from '../peer/swarm.js';
import { isLive, type TorrentContext } from './context.js';
import { sendExtendedHandshake } from './metadata-server.js';
import { PeerState } from './peer-state.js';

/** Peers per torrent unless configured (issue 5). */
export const DEFAULT_MAX_PEERS = 50;

/** What we offer in our handshake: BEP 6 fast and BEP 10 extensions. */
export const FEATURES: Features = { fast: true, extended: true };

/** Why a peer's handshake is refused (RELIABILITY.md case 21 for the last two). */
export type HandshakeRefusal = 'wrong-torrent' | 'self' | 'duplicate';

/** Whether a peer whose handshake is `h` may join: undefined when it may. */
export function refuseHandshake(
  h: Pick<Handshake, 'infoHash' | 'peerId'>,
  infoHash: Buffer,
  ourPeerId: Buffer,
  hasPeerId: (id: Buffer) => boolean,
): HandshakeRefusal | undefined {
  if (!h.infoHash.equals(infoHash)) return 'wrong-torrent';
  if (h.peerId.equals(ourPeerId)) return 'self';
  if (hasPeerId(h.peerId)) return 'duplicate';
  return undefined;
}

/**
 * Two connections to one peer, one dialled by each side (simultaneous open): whether the new one
 * replaces the existing one. Both sides keep the connection dialled by the lower peer id, so they
 * agree without a word; two connections dialled by the same side keep the first.
 */
export function keepNewConnection(newOutgoing: boolean, existingOutgoing: boolean, ourId: Buffer, theirId: Buffer): boolean {
  if (newOutgoing === existingOutgoing) return false;
  const newInitiator = newOutgoing ? ourId : theirId;
  const existingInitiator = existingOutgoing ? ourId : theirId;
  return Buffer.compare(newInitiator, existingInitiator) < 0;
}

/**
 * Admission: who becomes a peer of the torrent. It dials candidates, accepts connections the
 * session routes here, takes over a magnet fetch's connections, refuses ourselves and duplicates,
 * greets each new peer (extended handshake, what we have) and removes it when it closes.
 */
export class PeerRegistry {
  readonly candidates: CandidateList;
  readonly maxPeers: number;
  /** Where peers came from and how connections went, for the diagnosis (issue 15). */
  readonly counters = new SwarmCounters();
  private readonly dialer: Dialer;
  /** Connected sockets whose handshake has not arrived yet. */
  private readonly handshaking = new Set<PeerConnection>();
  private nextPeerId = 1;
  /** FEATURES, with the DHT bit when the session runs a DHT (and the torrent is public), the v2 bit for a v2 torrent. */
  private readonly features: Features;

  constructor(
    private readonly ctx: TorrentContext,
    /** The torrent: each admitted connection reports to it. */
    private readonly handler: ConnectionHandler,
  ) {
    const o = ctx.opts;
    this.maxPeers = Math.max(1, o.maxPeers ?? DEFAULT_MAX_PEERS);
    this.candidates = new CandidateList(o.isSelf, o.random);
    // BEP 52: a v2 or hybrid torrent's handshake sets the v2 bit (libtorrent serves a v2-only torrent
    // only to v2 peers, and answers a hybrid's v1 handshake with the v2 hash: accepted in onHandshake);
    // its hash requests are answered (v2/hash-server.ts).
    const v2 = ctx.layout.v2 !== undefined;
    this.features = { ...FEATURES, ...(o.dhtPort !== undefined ? { dht: true } : {}), ...(v2 ? { v2: true } : {}) };
    this.dialer = new Dialer({
      clock: o.clock,
      ...(o.connect !== undefined ? { connect: o.connect } : {}),
      ...(o.connectTimeoutMs !== undefined ? { connectTimeoutMs: o.connectTimeoutMs } : {}),
      transports: o.transports,
      infoHash: o.infoHash,
    });
  }

  /** Adds peers to dial (trackers, `--peer`, later DHT and PEX). */
  addPeers(addresses: readonly PeerAddress[], source: CandidateSource): void {
    const added = this.candidates.add(addresses, source);
    this.counters.added(source, added);
    if (added > 0) this.connectMore();
  }

  /** Dials candidates while there is room. A seed dials too: peers given by hand (`--peer`) may only accept connections (Transmission on loopback). */
  connectMore(): void {
    const { ctx } = this;
    if (!isLive(ctx.state())) return;
    const room = this.maxPeers - ctx.peers.size - this.dialer.size - this.handshaking.size;
    if (room <= 0) return;
    for (const a of this.candidates.take(room, ctx.clock.now())) this.dial(a);
  }

  private dial(a: PeerAddress): void {
    const { ctx } = this;
    this.counters.dialAttempts++;
    this.dialer.dial(
      a,
      (socket, externalReads, link) => {
        if (!isLive(ctx.state())) {
          socket.destroy();
          this.candidates.disconnected(a, false, ctx.clock.now());
          return undefined;
        }
        const conn = new PeerConnection(socket, this.handler, {
          address: a,
          outgoing: true,
          externalReads,
          link,
          features: this.features,
          now: ctx.clock.now(),
          pieceCount: ctx.layout.pieceCount,
          ...timeoutOptions(ctx.opts),
        });
        this.handshaking.add(conn);
        conn.sendHandshake(ctx.opts.infoHash, ctx.opts.peerId, this.features);
        return conn;
      },
      (thrown, reason) => {
        this.counters.failed(reason);
        this.candidates.disconnected(a, true, ctx.clock.now());
        if (thrown !== undefined) ctx.emit('warning', { message: `cannot dial: ${thrown.message}`, peer: `${a.host}:${a.port}` });
      },
    );
  }

  /** An incoming connection whose handshake named this torrent (the session routed it). False when refused. */
  adopt(conn: PeerConnection, h: Handshake): boolean {
    const { ctx } = this;
    // Someone reached us: we are reachable, whatever we answer.
    this.counters.incomingEver++;
    if (!isLive(ctx.state()) || ctx.peers.size >= this.maxPeers) return false;
    if (!this.candidates.markConnected(conn.address)) return false;
    conn.handler = this.handler;
    conn.setPieceCount(ctx.layout.pieceCount);
    // A hybrid reached by its v2 hash answers with it (BEP 52).
    const named = ctx.opts.infoHashV2 !== undefined && h.infoHash.equals(ctx.opts.infoHashV2) ? ctx.opts.infoHashV2 : ctx.opts.infoHash;
    conn.sendHandshake(named, ctx.opts.peerId, this.features);
    if (this.onHandshake(conn, h) === undefined) {
      this.candidates.disconnected(conn.address, false, ctx.clock.now());
      return false;
    }
    return true;
  }

  /** The peer's handshake arrived: the new peer, greeted, or undefined when refused. */
  onHandshake(conn: PeerConnection, h: Handshake): PeerState | undefined {
    const { ctx } = this;
    this.handshaking.delete(conn);
    // A dial that was handshaking when we paused (or failed) must not become a peer of a stopped torrent.
    if (!isLive(ctx.state())) return undefined;
    // A hybrid's peer may name either hash, and libtorrent answers our v1 handshake with the v2 one (BEP 52 upgrade).
    const v2 = ctx.opts.infoHashV2;
    const ours = v2 !== undefined && h.infoHash.equals(v2) ? v2 : ctx.opts.infoHash;
    let refusal = refuseHandshake(h, ours, ctx.opts.peerId, (id) => ctx.peers.hasPeerId(id));
    // We dialled ourselves: never again.
    if (refusal === 'self') this.candidates.ban(conn.address);
    if (refusal === 'duplicate') {
      // Both sides dialled at once (a holepunch `connect` goes to both): keep the same one on both sides.
      const existing = [...ctx.peers.values()].find((q) => q.conn.remote?.peerId.equals(h.peerId) === true);
      if (existing !== undefined && keepNewConnection(conn.outgoing, existing.conn.outgoing, ctx.opts.peerId, h.peerId)) {
        existing.conn.close(undefined);
        refusal = undefined;
      }
    }
    if (refusal !== undefined) return undefined;
    const p = this.addPeer(conn);
    if (conn.outgoing) this.counters.dialConnected++;
    const f = conn.features;
    const picker = ctx.picker;
    if (f.extended) sendExtendedHandshake(p, ctx.opts.infoBytes, ctx.opts.listenPort, ctx.opts.pex === true, true);
    if (f.dht && ctx.opts.dhtPort !== undefined) conn.send({ type: 'port', port: ctx.opts.dhtPort.port });
    if (picker.piecesHave === ctx.layout.pieceCount && f.fast) conn.send({ type: 'have-all' });
    else if (picker.piecesHave > 0) conn.send({ type: 'bitfield', bytes: this.haveBitfield() });
    else if (f.fast) conn.send({ type: 'have-none' });
    ctx.emit('peer-connected', { address: conn.key, incoming: !conn.outgoing });
    return p;
  }

  /**
   * A connection that fetched this torrent's metadata becomes a peer: its handshakes were exchanged
   * already, so we re-send only our extended handshake (BEP 10 allows a second one; it now carries
   * `metadata_size`) and announce what we have with `have`s (a bitfield may only follow the
   * handshake). The caller replays what the peer sent meanwhile. Undefined (nothing closed) when refused.
   */
  takeOver(conn: PeerConnection): PeerState | undefined {
    const { ctx } = this;
    if (!isLive(ctx.state()) || ctx.peers.size >= this.maxPeers || conn.isClosed) return undefined;
    const h = conn.remote;
    if (h === undefined || refuseHandshake(h, ctx.opts.infoHash, ctx.opts.peerId, (id) => ctx.peers.hasPeerId(id)) !== undefined) return undefined;
    if (!this.candidates.markConnected(conn.address)) return undefined;
    conn.handler = this.handler;
    conn.setPieceCount(ctx.layout.pieceCount);
    const p = this.addPeer(conn);
    if (conn.features.extended) sendExtendedHandshake(p, ctx.opts.infoBytes, ctx.opts.listenPort, ctx.opts.pex === true, true);
    const picker = ctx.picker;
    if (picker.piecesHave > 0) for (let i = 0; i < ctx.layout.pieceCount; i++) if (picker.hasPiece(i)) conn.send({ type: 'have', index: i });
    ctx.emit('peer-connected', { address: conn.key, incoming: !conn.outgoing });
    return p;
  }

  private addPeer(conn: PeerConnection): PeerState {
    const { ctx } = this;
    const p = new PeerState(this.nextPeerId++, conn, ctx.layout.pieceCount, ctx.clock.now());
    ctx.peers.add(p);
    ctx.picker.addPeer(p.id, p.bitfield);
    return p;
  }

  private haveBitfield(): Buffer {
    const { layout, picker } = this.ctx;
    const bf = new Bitfield(layout.pieceCount);
    for (let i = 0; i < layout.pieceCount; i++) if (picker.hasPiece(i)) bf.set(i);
    return bf.toBuffer();
  }

  /** A connection closed: the peer it was (now removed), or undefined when it never became one. */
  onClose(conn: PeerConnection, reason: EngineError | undefined): PeerState | undefined {
    const { ctx } = this;
    const p = ctx.peers.get(conn);
    const now = ctx.clock.now();
    const live = isLive(ctx.state());
    if (this.handshaking.delete(conn) && live && conn.outgoing) this.counters.handshakeFailed(reason);
    if (reason?.code === 'ENGINE_PEER_INTERNAL') ctx.emit('warning', { message: reason.message, peer: conn.key, cause: reason.cause });
    if (p === undefined) {
      // No handshake: whatever the way it ended, nothing came of it (unless we were stopping).
      this.candidates.disconnected(conn.address, live && closeIsFailure({ reason, handshaken: false, blocks: 0, connectedMs: 0 }), now);
      // Failed before or during the handshake: still worth reporting (a dead or hostile address).
      if (reason !== undefined) ctx.emit('peer-disconnected', { address: conn.key, reason });
      return undefined;
    }
    ctx.peers.delete(p);
    ctx.picker.removePeer(p.id);
    // Closes while pausing or closing are ours, not the peer's failure.
    const failed = live && closeIsFailure({ reason, handshaken: true, blocks: p.blocks, connectedMs: now - p.connectedAt });
    this.candidates.disconnected(conn.address, failed, now);
    ctx.emit('peer-disconnected', { address: conn.key, reason });
    return p;
  }

  ban(p: PeerState, reason: string): void {
    this.candidates.ban(p.conn.address);
    this.counters.ban(p.conn.key, reason);
    this.ctx.emit('peer-banned', { address: p.conn.key, reason });
    p.conn.close(new EngineError('ENGINE_PEER_BANNED', reason, { peer: p.conn.key }));
  }

  /** Drives the timeouts of connections still handshaking. */
  tickHandshaking(now: number): void {
    for (const c of [...this.handshaking]) c.tick(now);
  }

  /** Closes every peer (pause). */
  closePeers(): void {
    for (const p of [...this.ctx.peers.values()]) p.conn.close(undefined);
  }

  /** Stops dialling and closes every connection (close). */
  close(): void {
    this.dialer.close();
    for (const c of [...this.handshaking]) c.close(undefined);
    this.closePeers();
  }
}
