import type { Metainfo } from '@tc/codec';
import { pieceHash, type TorrentLayout } from '../layout.js';
import type { Verifier } from '../verify.js';
import { V2Pieces } from './pieces.js';

/** The v2 side of a v2 or hybrid torrent's layout; undefined for v1. */
export function v2PiecesOf(m: Metainfo): V2Pieces | undefined {
  if (m.v2 === undefined) return undefined;
  return new V2Pieces(
    m.pieceLength,
    m.pieceCount,
    m.v2.files.map((f) => ({ offset: f.offset, length: f.length, root: f.piecesRoot, layer: f.layer })),
  );
}

/**
 * Checks piece `index`: SHA-1 when the torrent has v1 hashes, the merkle hash when it has v2 ones,
 * both for a hybrid (its two views must describe the same bytes). `chunks` is the piece's data;
 * a v2 piece whose file's layer is unknown fails.
 */
export async function verifyPiece(layout: TorrentLayout, verifier: Verifier, index: number, chunks: readonly Uint8Array[]): Promise<boolean> {
  const v2 = layout.v2;
  if (v2 !== undefined) {
    const hybrid = layout.pieceHashes.length > 0;
    // A hybrid whose layer for this file is not known yet is checked by its SHA-1 alone.
    if (!hybrid || v2.expected(index) !== undefined) {
      const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      if (!v2.verify(index, data) || !v2.paddingIsZero(index, data)) return false;
    }
    if (!hybrid) return true;
  }
  return verifier.verify(chunks, pieceHash(layout, index));
}
