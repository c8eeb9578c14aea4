import { EngineError } from '../errors.js';
import { BLOCK_BYTES } from '../layout.js';
import { pipelineDepth } from '../picker/pipeline.js';
import type { TorrentContext } from './context.js';
import { STALLED_PIECE_MS, type PieceBuffers } from './piece-buffers.js';
import type { PieceCompletion } from './piece-completion.js';
import { MAX_WASTE_BLOCKS, scorePeer, type PeerState } from './peer-state.js';

/**
 * Bytes of verified pieces waiting for the disk before we stop asking peers for more: bounds the
 * write path's memory whatever the torrent size (STATE.md, Memory).
 */
export const MAX_WRITE_BACKLOG_BYTES = 24 * 1024 * 1024;
/**
 * A pipeline with requests out is refilled only once this fraction of it is free (an eighth): one
 * write carries many requests on a fast link, instead of one write per block received.
 */
export const REFILL_BATCH_DIVISOR = 8;

/** Downloading: keeping each peer's pipeline full, and taking the blocks that answer it. */
export class Requester {
  constructor(
    private readonly ctx: TorrentContext,
    private readonly buffers: PieceBuffers,
    private readonly completion: Pick<PieceCompletion, 'writeBacklog' | 'complete'>,
  ) {}

  /** Tops up `p`'s pipeline (pipelineDepth) with what the picker chooses, through the download limiter when on. */
  fill(p: PeerState): void {
    const { ctx } = this;
    if (ctx.state().kind !== 'downloading' || !p.amInterested) return;
    if (p.amChoked && (!p.conn.features.fast || p.allowedFast.size === 0)) return;
    if (this.completion.writeBacklog > MAX_WRITE_BACKLOG_BYTES) return;
    const picker = ctx.picker;
    const now = ctx.clock.now();
    const depth = pipelineDepth(p.rate.rate(now), p.reqq, p.snubbed);
    const outstanding = picker.outstanding(p.id);
    const room = depth - outstanding;
    if (room <= 0 || (outstanding > 0 && room < Math.max(1, Math.floor(depth / REFILL_BATCH_DIVISOR)))) return;
    // Started pieces are finished first; new ones only while the piece buffers have room (piece-buffers.ts).
    const reqs = picker.pick(p.id, room, now, p.amChoked ? p.allowedFast : undefined, this.buffers.room(picker.activeCount));
    if (reqs.length === 0) {
      if (outstanding === 0 && !picker.interesting(p.id)) this.setInterested(p, false);
      return;
    }
    if (outstanding === 0) p.lastProgress = now;
    const limiter = ctx.opts.downLimiter;
    if (limiter === undefined || !limiter.limited) {
      p.conn.sendRequests(reqs);
      return;
    }
    // Rate-limited: each request goes out once the bucket allows its bytes (what we ask for is what arrives).
    for (const r of reqs) {
      const wait = limiter.acquire(r.length, p.id, ctx.closing).then(
        () => {
          // Released meanwhile (choke, reject, endgame cancel, peer gone): nothing to send.
          if (p.conn.isClosed || !picker.requestsOf(p.id).has(picker.blockKey(r.piece, r.offset))) return;
          p.conn.sendRequests([r]);
        },
        () => undefined,
      );
      ctx.track(wait);
    }
  }

  /** Refills every pipeline, best-scoring peers first, so they get the blocks when few are left (endgame). */
  fillAll(except?: PeerState): void {
    const { ctx } = this;
    if (ctx.state().kind !== 'downloading') return;
    const now = ctx.clock.now();
    const order = [...ctx.peers.values()].filter((q) => q !== except);
    if (order.length > 1) {
      const score = new Map(order.map((q) => [q, scorePeer(q, now)]));
      order.sort((a, b) => score.get(b)! - score.get(a)!);
    }
    for (const q of order) this.fill(q);
  }

  /** A block arrived: accepted into its piece's buffer (completing it, perhaps), or counted as waste. */
  onPiece(p: PeerState, index: number, begin: number, block: Buffer): void {
    const { ctx } = this;
    const picker = ctx.picker;
    const t = ctx.totals;
    const now = ctx.clock.now();
    const len = block.length;
    if (index >= ctx.layout.pieceCount) throw protocolError(p, `block of piece ${index} outside the torrent`);
    if (ctx.diskError() !== undefined) {
      // Answers to requests cancelled on the disk error, still in flight: waste, but not the peer's fault.
      t.wasteBytes += len;
      return;
    }
    // Only an offset inside the piece has a block key of its own (past it, the key is the next piece's).
    const isBlock = begin % BLOCK_BYTES === 0 && begin < ctx.layout.pieceLength;
    const sentAt = isBlock ? picker.requestsOf(p.id).get(picker.blockKey(index, begin)) : undefined;
    const o = picker.onBlock(p.id, index, begin, len);
    if (o.kind !== 'accepted') {
      if (sentAt !== undefined && o.kind === 'unrequested') {
        // It answers our request with a block of the wrong size: a protocol violation (case 24).
        throw protocolError(p, `block ${index}:${begin} has ${len} bytes, not what was requested`);
      }
      t.wasteBytes += len;
      p.waste++;
      if (p.waste > MAX_WASTE_BLOCKS && p.waste > p.blocks) throw protocolError(p, `too many unrequested blocks (${p.waste})`);
      return;
    }
    if (sentAt !== undefined) p.noteResponse(now - sentAt);
    p.rate.add(len, now);
    t.downRate.add(len, now);
    p.blocks++;
    p.lastProgress = now;
    if (p.snubbed) p.snubbed = false;
    t.downloaded += len;
    t.peersUsed.add(p.conn.key);
    block.copy(this.buffers.forBlock(index, now), begin);
    for (const pid of o.cancel) {
      const q = ctx.peers.byId(pid);
      q?.conn.sendCancels([{ piece: index, offset: begin, length: len }]);
    }
    if (o.complete) this.completion.complete(index);
  }

  /** BEP 6 reject: the block goes back to the picker, or it is a fault when we never asked for it. */
  onReject(p: PeerState, index: number, begin: number): void {
    const picker = this.ctx.picker;
    const isBlock = begin % BLOCK_BYTES === 0 && begin < this.ctx.layout.pieceLength;
    if (isBlock && picker.requestsOf(p.id).has(picker.blockKey(index, begin))) picker.release(p.id, index, begin);
    else p.faults++;
  }

  updateInterest(p: PeerState): void {
    const want = this.ctx.picker.interesting(p.id);
    if (want !== p.amInterested) this.setInterested(p, want);
  }

  setInterested(p: PeerState, on: boolean): void {
    // Upload-only: a `have` or bitfield must not make us ask for data we cannot store.
    if (on && this.ctx.diskError() !== undefined) return;
    p.amInterested = on;
    p.conn.send({ type: on ? 'interested' : 'not-interested' });
  }

  /**
   * When the piece buffers are full, gives up started pieces that got no block for STALLED_PIECE_MS
   * and have no request out (their peers left or choke us): otherwise they would hold the budget and
   * stall the download. Their blocks are waste. Called from the tick.
   */
  abandonStalled(now: number): void {
    const { ctx, buffers } = this;
    const picker = ctx.picker;
    if (ctx.state().kind !== 'downloading' || buffers.room(picker.activeCount) > 0) return;
    let freed = false;
    for (const index of buffers.stalled(now, STALLED_PIECE_MS)) {
      const dropped = picker.abandon(index);
      if (dropped === undefined) continue;
      buffers.drop(index);
      ctx.totals.wasteBytes += dropped;
      freed = true;
    }
    // Peers that waited for room get it now, not a tick later.
    if (freed) this.fillAll();
  }

  /** The disk failed: cancel every outstanding request, lose interest, return the half-received pieces' buffers. */
  stopAll(): void {
    const picker = this.ctx.picker;
    for (const p of this.ctx.peers.values()) {
      const released = picker.releaseAll(p.id);
      if (released.length > 0) p.conn.sendCancels(released);
      if (p.amInterested) this.setInterested(p, false);
    }
    this.buffers.releaseActive();
  }
}

export function protocolError(p: PeerState, message: string): EngineError {
  return new EngineError('ENGINE_PEER_PROTOCOL', message, { peer: p.conn.key });
}
