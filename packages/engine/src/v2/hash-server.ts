/**
 * Answers BEP 52 hash requests from a torrent's piece layers, hashing the blocks of pieces we hold
 * when a request goes below the piece layer. A request that does not fit the file, names a root we do
 * not know, or needs pieces we lack is rejected with a hash reject (23).
 */
import { decodeHashMessage, encodeHashMessage, WireError, type HashMessage, type HashRequestFields, type Unknown } from '@tc/wire';
import { pieceSize } from '../layout.js';
import type { TorrentContext } from '../torrent/context.js';
import type { PeerState } from '../torrent/peer-state.js';
import { blockHashes } from './pieces.js';
import { checkHashRequest, FileTree } from './proof.js';

/** Pieces one request may make us read and hash (a failed piece's blocks need one). */
const MAX_PIECES_PER_REQUEST = 4;

export class HashServer {
  private readonly trees = new Map<string, { tree: FileTree; file: number } | null>();

  constructor(private readonly ctx: TorrentContext) {}

  /** A message with id 21–23 from peer `p`. Malformed ones count as faults, as other bad extension messages. */
  onMessage(p: PeerState, m: Unknown): void {
    let h: HashMessage;
    try {
      h = decodeHashMessage(m.id, m.payload);
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      p.faults++;
      return;
    }
    if (h.type === 'hash-request') this.ctx.track(this.serve(p, h));
    // hashes and hash rejects answer our own requests (magnets, exact blame): not sent yet.
  }

  private treeOf(root: Buffer): { tree: FileTree; file: number } | undefined {
    const v2 = this.ctx.layout.v2;
    if (v2 === undefined) return undefined;
    const key = root.toString('hex');
    let t = this.trees.get(key);
    if (t === undefined) {
      const file = v2.files.findIndex((f) => f.root?.equals(root) === true);
      t = file < 0 ? null : { tree: new FileTree({ length: v2.files[file]!.length, pieceLength: v2.pieceLength }, root, v2.layer(file)), file };
      if (this.trees.size < 10_000) this.trees.set(key, t);
    }
    return t ?? undefined;
  }

  private async serve(p: PeerState, r: HashRequestFields): Promise<void> {
    const reject = (): void => {
      if (!p.conn.isClosed) p.conn.send({ type: 'unknown', id: 23, payload: encodeHashMessage({ ...fieldsOf(r), type: 'hash-reject' }).subarray(5) });
    };
    const t = this.treeOf(r.root);
    const v2 = this.ctx.layout.v2;
    if (t === undefined || v2 === undefined || checkHashRequest(r, t.tree.shape) !== undefined) return reject();
    const need = t.tree.piecesNeeded(r);
    if (need.length > MAX_PIECES_PER_REQUEST) return reject();
    const first = v2.files[t.file]!.offset / v2.pieceLength;
    for (const pf of need) {
      const index = first + pf;
      if (!this.ctx.picker.hasPiece(index)) return reject();
      const slot = v2.slot(index);
      if (slot === undefined) return reject();
      const bytes = await this.ctx.storage.read(index, 0, Math.min(slot.dataLength, pieceSize(this.ctx.layout, index)));
      t.tree.addPieceBlocks(pf, blockHashes(bytes));
    }
    const hashes = t.tree.answer(r);
    if (hashes === undefined) return reject();
    if (!p.conn.isClosed) p.conn.send({ type: 'unknown', id: 22, payload: encodeHashMessage({ ...fieldsOf(r), type: 'hashes', hashes }).subarray(5) });
  }
}

function fieldsOf(r: HashRequestFields): HashRequestFields {
  return { root: r.root, base: r.base, index: r.index, length: r.length, proofLayers: r.proofLayers };
}
