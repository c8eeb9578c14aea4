import { createHash } from 'node:crypto';
import { BDict, CodecError, decodePrefix, encode, type BValue } from '@tc/codec';
import { WireError } from '../errors.js';

/** BEP 9: metadata travels in 16 KiB pieces; only the last may be shorter. */
export const METADATA_PIECE_BYTES = 16 * 1024;
/**
 * Largest info dictionary we fetch (RELIABILITY #18: cap about 10–30 MiB). 10 MiB matches the
 * .torrent size cap (RELIABILITY #16): metadata we could not save as a .torrent is not worth fetching.
 */
export const MAX_METADATA_BYTES = 10 * 1024 * 1024;

export type MetadataMessage =
  | { readonly type: 'request'; readonly piece: number }
  | { readonly type: 'data'; readonly piece: number; readonly totalSize: number; readonly data: Buffer }
  | { readonly type: 'reject'; readonly piece: number }
  /** BEP 9: "an unrecognized message ID MUST be ignored". */
  | { readonly type: 'ignored'; readonly msgType: number };

const MSG_REQUEST = 0;
const MSG_DATA = 1;
const MSG_REJECT = 2;

/** Number of 16 KiB pieces in metadata of `size` bytes. */
export function metadataPieceCount(size: number): number {
  return Math.ceil(size / METADATA_PIECE_BYTES);
}

/** The exact length of metadata piece `piece` for metadata of `size` bytes. */
export function metadataPieceLength(size: number, piece: number): number {
  return Math.min(METADATA_PIECE_BYTES, size - piece * METADATA_PIECE_BYTES);
}

function checkSize(size: number): void {
  if (!Number.isSafeInteger(size) || size <= 0 || size > MAX_METADATA_BYTES) {
    throw new WireError('WIRE_METADATA_BAD_SIZE', `metadata size ${size} is outside 1..${MAX_METADATA_BYTES}`, {
      value: size,
      limit: MAX_METADATA_BYTES,
    });
  }
}

function checkPiece(piece: number, size: number | undefined): void {
  const limit = metadataPieceCount(size ?? MAX_METADATA_BYTES);
  if (!Number.isInteger(piece) || piece < 0 || piece >= limit) {
    throw new WireError('WIRE_METADATA_BAD_PIECE', `metadata piece ${piece} is outside 0..${limit - 1}`, { value: piece, limit });
  }
}

/** The payload of a ut_metadata message (send it with `ExtensionRouter.encode`). */
export function encodeMetadataMessage(m: MetadataMessage): Buffer {
  switch (m.type) {
    case 'request':
      return encode({ msg_type: MSG_REQUEST, piece: m.piece });
    case 'reject':
      return encode({ msg_type: MSG_REJECT, piece: m.piece });
    case 'data':
      checkSize(m.totalSize);
      checkPiece(m.piece, m.totalSize);
      if (m.data.length !== metadataPieceLength(m.totalSize, m.piece)) {
        throw new WireError('WIRE_BAD_ARGUMENT', `metadata piece ${m.piece} must be ${metadataPieceLength(m.totalSize, m.piece)} bytes`);
      }
      return Buffer.concat([encode({ msg_type: MSG_DATA, piece: m.piece, total_size: m.totalSize }), m.data]);
    case 'ignored':
      throw new WireError('WIRE_BAD_ARGUMENT', 'cannot encode an ignored ut_metadata message');
  }
}

const int = (d: BDict, key: string): number => {
  const v: BValue | undefined = d.get(key);
  if (typeof v !== 'number') {
    throw new WireError('WIRE_METADATA_BAD_MESSAGE', `ut_metadata key "${key}" is ${v === undefined ? 'missing' : 'not a safe integer'}`);
  }
  return v;
};

/**
 * Parses a ut_metadata payload: a bencoded dictionary, followed by the piece's bytes for `data`.
 * `metadataSize`, when known (from the extended handshake), bounds piece indices and must equal
 * `total_size` (RELIABILITY #18). The data is a view of the payload.
 */
export function decodeMetadataMessage(payload: Buffer, metadataSize?: number): MetadataMessage {
  let head: { value: BValue; end: number };
  try {
    // Lenient: key order is not ours to police here; depth and token bounds still hold.
    head = decodePrefix(payload, { mode: 'lenient', maxDepth: 4, maxTokens: 1000 });
  } catch (e) {
    if (e instanceof CodecError) throw new WireError('WIRE_METADATA_BAD_MESSAGE', `ut_metadata header: ${e.message}`, { cause: e });
    throw e;
  }
  if (!(head.value instanceof BDict)) throw new WireError('WIRE_METADATA_BAD_MESSAGE', 'ut_metadata header is not a dictionary');
  const d = head.value;
  const msgType = int(d, 'msg_type');
  if (msgType !== MSG_REQUEST && msgType !== MSG_DATA && msgType !== MSG_REJECT) return { type: 'ignored', msgType };
  const piece = int(d, 'piece');
  if (msgType === MSG_REQUEST || msgType === MSG_REJECT) {
    checkPiece(piece, metadataSize);
    return { type: msgType === MSG_REQUEST ? 'request' : 'reject', piece };
  }
  const totalSize = int(d, 'total_size');
  checkSize(totalSize);
  if (metadataSize !== undefined && totalSize !== metadataSize) {
    throw new WireError('WIRE_METADATA_BAD_SIZE', `total_size ${totalSize} differs from the announced metadata_size ${metadataSize}`, {
      value: totalSize,
      limit: metadataSize,
    });
  }
  checkPiece(piece, totalSize);
  const data = payload.subarray(head.end);
  const want = metadataPieceLength(totalSize, piece);
  if (data.length !== want) {
    throw new WireError('WIRE_METADATA_BAD_PIECE', `metadata piece ${piece} has ${data.length} bytes, expected ${want}`, {
      value: data.length,
      limit: want,
    });
  }
  return { type: 'data', piece, totalSize, data };
}

/**
 * Collects metadata pieces for one info-hash and checks the SHA-1 of the whole (BEP 9).
 * Pure bookkeeping: which peer to ask, and when to give up, is the engine's.
 */
export class MetadataAssembler {
  readonly size: number;
  readonly pieceCount: number;
  private readonly infoHash: Buffer;
  private readonly buf: Buffer;
  private readonly have: Uint8Array;
  private received = 0;

  constructor(infoHash: Uint8Array, size: number) {
    if (infoHash.length !== 20) throw new WireError('WIRE_BAD_ARGUMENT', 'info-hash must be 20 bytes (BEP 9 v1)');
    checkSize(size);
    this.infoHash = Buffer.from(infoHash);
    this.size = size;
    this.pieceCount = metadataPieceCount(size);
    this.buf = Buffer.alloc(size);
    this.have = new Uint8Array(this.pieceCount);
  }

  /** Stores a piece; returns false when it was already there. Throws WIRE_METADATA_BAD_PIECE for a wrong index or length. */
  add(piece: number, data: Uint8Array): boolean {
    checkPiece(piece, this.size);
    const want = metadataPieceLength(this.size, piece);
    if (data.length !== want) {
      throw new WireError('WIRE_METADATA_BAD_PIECE', `metadata piece ${piece} has ${data.length} bytes, expected ${want}`, {
        value: data.length,
        limit: want,
      });
    }
    if (this.have[piece] === 1) return false;
    this.buf.set(data, piece * METADATA_PIECE_BYTES);
    this.have[piece] = 1;
    this.received++;
    return true;
  }

  get complete(): boolean {
    return this.received === this.pieceCount;
  }

  /** Pieces still needed, ascending. */
  missing(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.pieceCount; i++) if (this.have[i] === 0) out.push(i);
    return out;
  }

  /**
   * The verified info dictionary bytes. On a hash mismatch every piece is forgotten (the engine
   * retries, blaming the sources: RELIABILITY #19) and WIRE_METADATA_HASH_MISMATCH is thrown.
   */
  finish(): Buffer {
    if (!this.complete) throw new WireError('WIRE_BAD_ARGUMENT', `metadata incomplete: ${this.missing().length} pieces missing`);
    const digest = createHash('sha1').update(this.buf).digest();
    if (!digest.equals(this.infoHash)) {
      this.have.fill(0);
      this.received = 0;
      throw new WireError('WIRE_METADATA_HASH_MISMATCH', `metadata hashes to ${digest.toString('hex')}, not the info-hash ${this.infoHash.toString('hex')}`);
    }
    return Buffer.from(this.buf);
  }
}
