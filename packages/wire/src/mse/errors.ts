/**
 * The ways an MSE/PE handshake (Message Stream Encryption, as libtorrent, Transmission and Vuze
 * speak it) can fail. They are WireError codes like the others: part of `WireErrorCode`.
 */
export const MSE_ERROR_CODES = [
  /** The peer's Diffie-Hellman public key is outside 2..P-2 (a degenerate or forged key). */
  'WIRE_MSE_BAD_KEY',
  /**
   * The sync marker was not found where it must be: HASH('req1', S) within 512 bytes of padding
   * after the initiator's key, or the encrypted VC within 512 bytes after the responder's key.
   * Also what garbage, or a peer that computed another secret, looks like.
   */
  'WIRE_MSE_NO_SYNC',
  /** Responder: the obfuscated HASH('req2', SKEY) matches none of the info-hashes we serve. */
  'WIRE_MSE_UNKNOWN_TORRENT',
  /** Responder: the verification constant did not decrypt to 8 zero bytes (wrong key or garbage). */
  'WIRE_MSE_BAD_VC',
  /** len(PadC) or len(PadD) above 512 bytes. */
  'WIRE_MSE_BAD_PAD',
  /** Responder: none of the crypto methods the initiator provides is one we allow. */
  'WIRE_MSE_NO_COMMON_METHOD',
  /** Initiator: crypto_select is not exactly one of the methods we provided. */
  'WIRE_MSE_BAD_SELECT',
  /** Responder: len(IA) above the limit we accept. */
  'WIRE_MSE_IA_TOO_LONG',
  /** Responder: the peer opened with a plain `19 "BitTorrent protocol"` handshake, not a DH key. */
  'WIRE_MSE_PLAINTEXT',
  /** Stream wrapper: the peer ended or closed the connection before the handshake was done. */
  'WIRE_MSE_CLOSED',
] as const;
export type MseErrorCode = (typeof MSE_ERROR_CODES)[number];
