import { EngineError, invariant } from '../errors.js';
import { pieceSize } from '../layout.js';
import { hashFailureVerdict } from '../peer/scoring.js';
import { inlineVerifier, type Verifier } from '../verify.js';
import { verifyPiece } from '../v2/verify-piece.js';
import type { TorrentContext } from './context.js';
import type { PieceBuffers } from './piece-buffers.js';
import type { PeerState } from './peer-state.js';

/** What completing a piece asks of the rest of the torrent. */
export interface CompletionHooks {
  /** A piece was stored or failed: refill the pipelines. */
  refill(): void;
  setInterested(p: PeerState, on: boolean): void;
  ban(p: PeerState, reason: string): void;
  /** Every wanted piece is stored while downloading: the torrent becomes a seed. */
  finished(): void;
  /** A piece write failed: the torrent becomes upload-only. */
  diskError(e: EngineError): void;
  /** A sender that is not a connected peer (a web seed) sent data of a failed piece: blamed by its owner, which names it. */
  blameSource?(id: number): string | undefined;
}

/**
 * Verify → write → `have` (or blame): a piece whose last block arrived is hashed, written, announced
 * to every peer and counted as `have` only once stored (STATE.md); a failed hash gives its senders a
 * strike and parole, or a ban.
 */
export class PieceCompletion {
  /** Bytes of verified pieces waiting for the disk: requesting stops above MAX_WRITE_BACKLOG_BYTES. */
  writeBacklog = 0;
  private readonly verifier: Verifier;

  constructor(
    private readonly ctx: TorrentContext,
    private readonly buffers: PieceBuffers,
    private readonly hooks: CompletionHooks,
  ) {
    this.verifier = ctx.opts.verifier ?? inlineVerifier;
  }

  /** Every block of `index` is in its buffer: hash it, then write it. */
  complete(index: number): void {
    const { ctx } = this;
    const buf = this.buffers.take(index);
    invariant(buf !== undefined, `piece ${index} complete without a buffer`);
    const size = pieceSize(ctx.layout, index);
    const chunks = [buf.subarray(0, size)];
    this.writeBacklog += size;
    const work = (async () => {
      let ok: boolean;
      try {
        ok = await verifyPiece(ctx.layout, this.verifier, index, chunks);
      } catch (e) {
        ok = false;
        ctx.emit('warning', { message: `verifying piece ${index} failed: ${(e as Error).message}`, cause: e });
      }
      if (!ok) {
        this.writeBacklog -= size;
        this.buffers.release(buf);
        this.failed(index);
        return;
      }
      try {
        await ctx.storage.write(index, 0, chunks);
      } catch (e) {
        this.writeBacklog -= size;
        this.buffers.release(buf);
        if (ctx.picker.pieceState(index) === 'verifying') ctx.picker.pieceFailed(index);
        this.hooks.diskError(
          e instanceof EngineError ? e : new EngineError('ENGINE_DISK', `cannot write piece ${index}: ${(e as Error).message}`, { cause: e, piece: index }),
        );
        return;
      }
      this.writeBacklog -= size;
      this.buffers.release(buf);
      this.passed(index);
    })();
    ctx.track(work);
  }

  private passed(index: number): void {
    const { ctx } = this;
    const picker = ctx.picker;
    if (picker.pieceState(index) !== 'verifying') return; // torrent closed meanwhile
    const senders = picker.sendersOf(index);
    picker.piecePassed(index);
    if (senders.length === 1) {
      const s = ctx.peers.byId(senders[0]!);
      if (s !== undefined && s.parole) {
        // It delivered a whole piece alone and it was good: trust it again.
        s.parole = false;
        picker.setParole(s.id, false);
      }
    }
    // Interest can only be lost once nothing is left to start (endgame): checking earlier would scan
    // the piece list for every peer on every piece.
    const mayLoseInterest = picker.endgame || picker.done;
    for (const q of ctx.peers.values()) {
      q.conn.send({ type: 'have', index });
      if (mayLoseInterest && q.amInterested && q.bitfield.has(index) && !picker.interesting(q.id)) this.hooks.setInterested(q, false);
    }
    ctx.emit('piece-verified', { index });
    if (picker.done && ctx.state().kind === 'downloading') this.hooks.finished();
    else this.hooks.refill();
  }

  private failed(index: number): void {
    const { ctx } = this;
    const picker = ctx.picker;
    if (picker.pieceState(index) !== 'verifying') return;
    const senders = picker.sendersOf(index);
    picker.pieceFailed(index);
    ctx.totals.hashFailures++;
    const names: string[] = [];
    for (const id of senders) {
      const s = ctx.peers.byId(id);
      if (s === undefined) {
        const name = this.hooks.blameSource?.(id);
        if (name !== undefined) names.push(name);
        continue;
      }
      names.push(s.conn.key);
      s.hashFailures++;
      const verdict = hashFailureVerdict(s.hashFailures, senders.length === 1, s.parole);
      if (verdict === 'ban') this.hooks.ban(s, `sent data for ${s.hashFailures} piece(s) that failed the hash check`);
      else {
        s.parole = true;
        picker.setParole(s.id, true);
      }
    }
    ctx.emit('hash-failure', { index, peers: names });
    this.hooks.refill();
  }
}
