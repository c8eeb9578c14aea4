import { Bitfield, ExtensionRouter, UT_HOLEPUNCH, UT_METADATA, UT_PEX } from '@tc/wire';
import type { PeerConnection } from '../peer/connection.js';
import { RateMeter } from '../peer/rate.js';
import { peerScore } from '../peer/scoring.js';
import { DEFAULT_REQQ } from '../picker/pipeline.js';

/** Our BEP 10 extension ids (each offered only when used: metadata-server.ts `offeredExtensions`). */
export const LOCAL_EXTENSIONS: Readonly<Record<string, number>> = { [UT_METADATA]: 1, [UT_PEX]: 2, [UT_HOLEPUNCH]: 4 };

// ---- per-peer limits: what one peer may make us hold or tolerate ----

/** Queued incoming requests per peer (RELIABILITY.md case 23: libtorrent max_allowed_in_request_queue). */
export const MAX_QUEUED_PEER_REQUESTS = 2_000;
/** Bad requests (out of range, unowned piece, while choked) after which a peer is dropped (RELIABILITY.md case 23). */
export const MAX_BAD_REQUESTS = 300;
/** Unrequested or wrong blocks tolerated before a peer is dropped (RELIABILITY.md case 24), beyond normal endgame waste. */
export const MAX_WASTE_BLOCKS = 256;
/**
 * Largest `reqq` (BEP 10) we take from a peer's extended handshake. The pipeline never goes past
 * MAX_PIPELINE_BLOCKS anyway; this keeps a hostile 2^53 from ever reaching arithmetic.
 */
export const MAX_PEER_REQQ = 10_000;
/**
 * Allowed-fast pieces (BEP 6) remembered per peer. BEP 6 suggests sets of 10; libtorrent sends up to
 * its allowed_fast_set_size (5) and accepts more. A peer cannot grow the set beyond this.
 */
export const MAX_ALLOWED_FAST_PIECES = 64;
/** Longest client name (BEP 10 `v`) kept for display; a longer one is ignored: no UI shows 100 characters of it. */
export const MAX_CLIENT_NAME_CHARS = 100;
/** Weight of a new sample in a peer's smoothed response time: about the last ten blocks count. */
export const RESPONSE_SMOOTHING = 0.1;

/** An incoming request we have queued to serve: the exact triple a `cancel` or our `reject` names. */
export interface ServedRequest {
  readonly index: number;
  readonly begin: number;
  readonly length: number;
}

/** Per-connection download/upload state. */
export class PeerState {
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
  /** Incoming requests not yet served, keyed by their byte offset in the torrent (serving.ts `servedKey`). */
  readonly served = new Map<number, ServedRequest>();
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

  /** Folds one request-to-block time into the smoothed response time. */
  noteResponse(ms: number): void {
    this.responseMs = this.responseMs === undefined ? ms : this.responseMs * (1 - RESPONSE_SMOOTHING) + ms * RESPONSE_SMOOTHING;
  }
}

/** The ranking used to fill pipelines and to choose whom to replace (peer/scoring.ts). */
export function scorePeer(p: PeerState, now: number): number {
  return peerScore({ rateBps: p.rate.rate(now), responseMs: p.responseMs, hashFailures: p.hashFailures, faults: p.faults, blocks: p.blocks });
}

/** The connected peers of a torrent, found by connection (socket events) or by id (picker, choker). */
export class PeerTable {
  private readonly byConn = new Map<PeerConnection, PeerState>();
  private readonly ids = new Map<number, PeerState>();

  get size(): number {
    return this.byConn.size;
  }

  get(conn: PeerConnection): PeerState | undefined {
    return this.byConn.get(conn);
  }

  byId(id: number): PeerState | undefined {
    return this.ids.get(id);
  }

  values(): IterableIterator<PeerState> {
    return this.byConn.values();
  }

  add(p: PeerState): void {
    this.byConn.set(p.conn, p);
    this.ids.set(p.id, p);
  }

  delete(p: PeerState): void {
    this.byConn.delete(p.conn);
    this.ids.delete(p.id);
  }

  /** True when a connected peer already uses this peer id (RELIABILITY.md case 21). */
  hasPeerId(peerId: Buffer): boolean {
    for (const p of this.byConn.values()) if (p.conn.remote?.peerId.equals(peerId) === true) return true;
    return false;
  }
}
