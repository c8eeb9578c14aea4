import { MSE_ERROR_CODES } from './mse/errors.js';

/**
 * Every rule a peer can break on the wire, as a literal code. The engine maps codes to
 * "drop the connection" or "ban the peer"; none of these is a bug in tc.
 */
export const WIRE_ERROR_CODES = [
  /** The handshake's first byte or protocol string is not `19 "BitTorrent protocol"` (BEP 3). */
  'WIRE_BAD_PSTR',
  /** A handshake field is wrong: length, info-hash or peer id (BEP 3). */
  'WIRE_BAD_HANDSHAKE',
  /** A length prefix beyond the largest legal message of its kind (RELIABILITY #20). */
  'WIRE_MESSAGE_TOO_LONG',
  /** A length prefix that does not match the fixed size of its message id (BEP 3, BEP 6). */
  'WIRE_BAD_LENGTH',
  /** A bitfield of the wrong size, or with spare bits set (BEP 3, RELIABILITY #22). */
  'WIRE_BAD_BITFIELD',
  /** A `have` (or other piece index) beyond the torrent's piece count (RELIABILITY #22). */
  'WIRE_HAVE_OUT_OF_RANGE',
  /** A message id that neither BEP 3, BEP 6, BEP 10 nor a negotiated extension defines. */
  'WIRE_UNKNOWN_MESSAGE',
  /** A fast-extension message on a connection where BEP 6 was not negotiated by both sides. */
  'WIRE_FAST_NOT_NEGOTIATED',
  /** An extended message on a connection where BEP 10 was not negotiated by both sides. */
  'WIRE_EXTENDED_NOT_NEGOTIATED',
  /** An extended handshake or extension payload that is not what BEP 10/11 describe. */
  'WIRE_BAD_EXTENDED',
  /** ut_metadata: a message that is not well-formed bencode + data (BEP 9). */
  'WIRE_METADATA_BAD_MESSAGE',
  /** ut_metadata: total size ≤ 0, beyond the cap, or different from what was announced (BEP 9, RELIABILITY #18). */
  'WIRE_METADATA_BAD_SIZE',
  /** ut_metadata: piece index out of range, or a data chunk of the wrong length (BEP 9, RELIABILITY #18). */
  'WIRE_METADATA_BAD_PIECE',
  /** ut_metadata: the assembled info dictionary does not hash to the info-hash (RELIABILITY #19). */
  'WIRE_METADATA_HASH_MISMATCH',
  /** BEP 52 hash request/hashes/hash reject: wrong size, or a field out of range. */
  'WIRE_BAD_HASHES',
  /** A value we were asked to encode is out of the protocol's range (a caller bug or bad input). */
  'WIRE_BAD_ARGUMENT',
  /** MSE/PE handshake failures (mse/errors.ts). */
  ...MSE_ERROR_CODES,
] as const;
export type WireErrorCode = (typeof WIRE_ERROR_CODES)[number];

export interface WireErrorDetails {
  /** The message id involved, when there is one. */
  readonly messageId?: number;
  /** The offending length, index or size. */
  readonly value?: number;
  /** The limit that `value` broke. */
  readonly limit?: number;
  readonly cause?: unknown;
}

/** The one error class of the wire package. */
export class WireError extends Error {
  override readonly name = 'WireError';
  readonly code: WireErrorCode;
  readonly messageId: number | undefined;
  readonly value: number | undefined;
  readonly limit: number | undefined;

  constructor(code: WireErrorCode, message: string, details: WireErrorDetails = {}) {
    super(message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.code = code;
    this.messageId = details.messageId;
    this.value = details.value;
    this.limit = details.limit;
  }
}

export function isWireError(e: unknown): e is WireError {
  return e instanceof WireError;
}
