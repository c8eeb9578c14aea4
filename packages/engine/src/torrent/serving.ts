import { BLOCK_BYTES, pieceSize, type TorrentLayout } from '../layout.js';
import { Choker, DEFAULT_UPLOAD_SLOTS, type ChokerPeer } from '../choker/choker.js';
import { EngineError } from '../errors.js';
import { isLive, type TorrentContext } from './context.js';
import { MAX_BAD_REQUESTS, MAX_QUEUED_PEER_REQUESTS, type PeerState, type ServedRequest } from './peer-state.js';

/** Peers unchoked at once while serving: BEP 3's four, the optimistic unchoke included (choker/choker.ts). */
export const UPLOAD_SLOTS = DEFAULT_UPLOAD_SLOTS;

/** Why an incoming request is refused (answered with `reject` under BEP 6, and counted against the peer). */
export type RequestRefusal =
  /** We choke the peer: it must not ask (BEP 3). */
  | 'choked'
  /** The piece index is beyond the torrent. */
  | 'no-such-piece'
  /** We do not have (a verified and stored copy of) the piece. */
  | 'piece-missing'
  /** Zero bytes, or more than a block (BEP 3 practice: 16 KiB; libtorrent refuses larger too). */
  | 'bad-length'
  /** The range runs past the end of the piece. */
  | 'past-piece-end'
  /** The peer has MAX_QUEUED_PEER_REQUESTS waiting already (RELIABILITY.md case 23). */
  | 'queue-full';

/** What `checkRequest` needs to know of the torrent and the peer (plain values: no closure per request). */
export interface RequestCheckInput {
  readonly choked: boolean;
  /** The requested index is a piece of the torrent. */
  readonly inTorrent: boolean;
  /** We have that piece verified and stored. */
  readonly have: boolean;
  /** Its size in bytes (anything when not `inTorrent`). */
  readonly pieceBytes: number;
  /** Requests of this peer queued or served but still in its socket (in blocks). */
  readonly queued: number;
}

/** Whether to serve a request; the reason when not. */
export function checkRequest(r: ServedRequest, c: RequestCheckInput): RequestRefusal | undefined {
  if (c.choked) return 'choked';
  if (!c.inTorrent) return 'no-such-piece';
  if (!c.have) return 'piece-missing';
  if (r.length === 0 || r.length > BLOCK_BYTES) return 'bad-length';
  if (r.begin + r.length > c.pieceBytes) return 'past-piece-end';
  if (c.queued >= MAX_QUEUED_PEER_REQUESTS) return 'queue-full';
  return undefined;
}

/**
 * The key of a queued request: its byte offset in the torrent. Unique per (index, begin) for every
 * valid request; a `cancel` also compares the length, so a bogus index that collides cancels nothing.
 */
export function servedKey(layout: TorrentLayout, index: number, begin: number): number {
  return index * layout.pieceLength + begin;
}

/** Serving: incoming requests and cancels, and the choker that decides whom we upload to. */
export class Server {
  private readonly choker: Choker<number>;

  constructor(private readonly ctx: TorrentContext) {
    const o = ctx.opts;
    this.choker = new Choker<number>({ slots: o.uploadSlots ?? UPLOAD_SLOTS, ...(o.random !== undefined ? { random: o.random } : {}) });
  }

  /** True when BEP 3's rechoke interval has passed. */
  due(now: number): boolean {
    return this.choker.due(now);
  }

  /** A peer became interested: when a slot is free, an early choker run gives it one now rather than in up to 10 s. */
  maybeUnchoke(p: PeerState): void {
    if (!p.peerChoked || this.ctx.picker.piecesHave === 0) return;
    this.rechoke();
  }

  /** One choker run (BEP 3 tit-for-tat, choker/choker.ts): samples the peers, sends the chokes and unchokes. */
  rechoke(): void {
    const { ctx } = this;
    const state = ctx.state();
    if (!isLive(state) || ctx.picker.piecesHave === 0) return;
    const now = ctx.clock.now();
    const sample: ChokerPeer<number>[] = [];
    for (const q of ctx.peers.values()) {
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
    const k = state.kind;
    const d = this.choker.run(sample, k === 'seeding' || k === 'upload-only' ? 'seeding' : 'leeching', now);
    for (const id of d.toChoke) {
      const q = ctx.peers.byId(id);
      if (q === undefined) continue;
      q.peerChoked = true;
      q.conn.send({ type: 'choke' });
      // BEP 6: a choke with the fast extension rejects each pending request; without it they are simply dropped.
      if (q.conn.features.fast) for (const r of q.served.values()) q.conn.send({ type: 'reject', index: r.index, begin: r.begin, length: r.length });
      q.served.clear();
    }
    for (const id of d.toUnchoke) {
      const q = ctx.peers.byId(id);
      if (q === undefined) continue;
      q.peerChoked = false;
      q.conn.send({ type: 'unchoke' });
    }
  }

  onRequest(p: PeerState, index: number, begin: number, length: number): void {
    const { ctx } = this;
    const req: ServedRequest = { index, begin, length };
    const inTorrent = index < ctx.layout.pieceCount;
    const refusal = checkRequest(req, {
      choked: p.peerChoked,
      inTorrent,
      have: inTorrent && ctx.picker.hasPiece(index),
      pieceBytes: inTorrent ? pieceSize(ctx.layout, index) : 0,
      // Blocks served but still in its socket count too: a peer that requests and never reads would otherwise grow our memory without bound.
      queued: p.served.size + Math.ceil(p.conn.queuedBytes / BLOCK_BYTES),
    });
    if (refusal !== undefined) {
      p.badRequests++;
      if (p.conn.features.fast) p.conn.send({ type: 'reject', index, begin, length });
      if (p.badRequests > MAX_BAD_REQUESTS) p.conn.close(new EngineError('ENGINE_PEER_PROTOCOL', 'too many invalid requests', { peer: p.conn.key }));
      return;
    }
    const key = servedKey(ctx.layout, index, begin);
    // A repeated request replaces the queued one: whichever read finishes, only the latest is answered.
    p.served.set(key, req);
    const limiter = ctx.opts.upLimiter;
    const allowed = limiter === undefined || !limiter.limited ? Promise.resolve() : limiter.acquire(length, p.id, ctx.closing);
    const work = allowed
      .then(() => (p.served.get(key) === req && !p.conn.isClosed ? ctx.storage.read(index, begin, length) : undefined))
      .then(
        (block) => {
          if (block === undefined || p.served.get(key) !== req || p.conn.isClosed) return;
          p.served.delete(key);
          p.conn.sendPiece(index, begin, block);
          const now = ctx.clock.now();
          const t = ctx.totals;
          t.uploaded += length;
          p.upRate.add(length, now);
          t.upRate.add(length, now);
        },
        (e: unknown) => {
          if (p.served.get(key) === req) p.served.delete(key);
          if (ctx.closing.aborted) return; // the limiter wait was cut short by close()
          ctx.emit('warning', { message: `cannot read piece ${index}: ${(e as Error).message}`, cause: e });
        },
      );
    ctx.track(work);
  }

  /** BEP 3 cancel: forget the queued request with exactly this triple. */
  onCancel(p: PeerState, index: number, begin: number, length: number): void {
    const key = servedKey(this.ctx.layout, index, begin);
    const r = p.served.get(key);
    if (r !== undefined && r.index === index && r.begin === begin && r.length === length) p.served.delete(key);
  }
}
