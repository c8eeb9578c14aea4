import {
  encodeExtendedHandshake,
  encodeMetadataMessage,
  METADATA_PIECE_BYTES,
  metadataPieceCount,
  UT_HOLEPUNCH,
  UT_METADATA,
  UT_PEX,
  type MetadataMessage,
} from '@tc/wire';
import type { PeerState } from './peer-state.js';

/**
 * Our side of BEP 10 and BEP 9 for a torrent whose info dictionary we hold: the extended handshake
 * we send (offering ut_metadata with `metadata_size`), and the answers to ut_metadata requests.
 */

/** The reqq we advertise (BEP 10): how many requests we queue from one peer. */
export const OUR_REQQ = 500;
/**
 * Metadata pieces served to one peer at most, beyond the metadata's piece count (a peer may
 * re-fetch after a failed attempt); past it we reject (BEP 9 allows it), so a peer cannot make
 * us upload the info dictionary over and over.
 */
export const MAX_METADATA_SERVES_EXTRA = 32;

/**
 * The answer to a request for metadata piece `piece`: `data`, or `reject` when we have no info
 * bytes, the piece does not exist, or the peer already had its share (`servedSoFar`).
 */
export function metadataReply(info: Buffer | undefined, piece: number, servedSoFar: number): MetadataMessage {
  if (info === undefined) return { type: 'reject', piece };
  const pieces = metadataPieceCount(info.length);
  if (piece >= pieces || servedSoFar >= pieces + MAX_METADATA_SERVES_EXTRA) return { type: 'reject', piece };
  const data = info.subarray(piece * METADATA_PIECE_BYTES, Math.min(info.length, (piece + 1) * METADATA_PIECE_BYTES));
  return { type: 'data', piece, totalSize: info.length, data };
}

/** Our `m`: ut_metadata only when we can serve it (we hold the info bytes), ut_pex only when PEX is on (never for a private torrent). */
export function offeredExtensions(
  local: ReadonlyMap<string, number>,
  offer: { readonly metadata: boolean; readonly pex: boolean; readonly holepunch?: boolean },
): Map<string, number> {
  const m = new Map<string, number>();
  for (const [name, id] of local)
    if ((name === UT_METADATA && offer.metadata) || (name === UT_PEX && offer.pex) || (name === UT_HOLEPUNCH && offer.holepunch === true)) m.set(name, id);
  return m;
}

/** Our extended handshake to `p`. */
export function sendExtendedHandshake(p: PeerState, info: Buffer | undefined, listenPort: number, pex = false, holepunch = false): void {
  const payload = encodeExtendedHandshake({
    m: offeredExtensions(p.router.localMap, { metadata: info !== undefined, pex, holepunch }),
    reqq: OUR_REQQ,
    ...(listenPort > 0 ? { p: listenPort } : {}),
    ...(info !== undefined ? { metadataSize: info.length } : {}),
  });
  p.conn.send({ type: 'extended', id: 0, payload });
}

/** BEP 9 serving: a peer's ut_metadata message. We never ask once we have the metadata, so only requests matter. */
export function onMetadataMessage(p: PeerState, msg: MetadataMessage, info: Buffer | undefined): void {
  if (msg.type !== 'request') return;
  const reply = metadataReply(info, msg.piece, p.metadataServed);
  if (reply.type === 'data') p.metadataServed++;
  const id = p.router.remoteId(UT_METADATA);
  if (id !== undefined) p.conn.send({ type: 'extended', id, payload: encodeMetadataMessage(reply) });
}
