export { WireError, isWireError, WIRE_ERROR_CODES, type WireErrorCode, type WireErrorDetails } from './errors.js';
export {
  CLIENT_CODE,
  CLIENT_NAME,
  CLIENT_VERSION,
  EXTENDED_CLIENT_NAME,
  PEER_ID_BYTES,
  PEER_ID_PREFIX,
  USER_AGENT,
  describePeerId,
  generatePeerId,
} from './identity.js';
export {
  HANDSHAKE_BYTES,
  INFO_HASH_BYTES,
  PROTOCOL_STRING,
  RESERVED_BITS,
  decodeHandshake,
  encodeHandshake,
  hasReservedBit,
  makeReserved,
  negotiate,
  readFeatures,
  setReservedBit,
  type Features,
  type Handshake,
  type HandshakeInit,
  type ReservedFeature,
} from './handshake.js';
export {
  LENGTH_PREFIX_BYTES,
  MessageId,
  PIECE_HEADER_BYTES,
  encodeMessage,
  encodePieceHeader,
  isFastMessageId,
  type AllowedFast,
  type BitfieldMessage,
  type BlockRef,
  type Cancel,
  type Choke,
  type Extended,
  type Have,
  type HaveAll,
  type HaveNone,
  type Interested,
  type KeepAlive,
  type Message,
  type MessageType,
  type NotInterested,
  type Piece,
  type Port,
  type Reject,
  type Request,
  type Suggest,
  type Unchoke,
  type Unknown,
} from './messages.js';
export {
  DEFAULT_MAX_BLOCK_BYTES,
  DEFAULT_MAX_EXTENDED_BYTES,
  MAX_BLOCK_BYTES_LIMIT,
  MAX_PIECE_COUNT,
  MessageDecoder,
  type DecoderOptions,
  type HandshakeEvent,
  type Incoming,
} from './decoder.js';
export { Bitfield, bitfieldBytes, checkWireBitfield } from './bitfield.js';
export { allowedFastSet, DEFAULT_ALLOWED_FAST_COUNT } from './allowed-fast.js';
export {
  EXTENDED_HANDSHAKE_ID,
  decodeExtendedHandshake,
  encodeExtendedHandshake,
  formatIp,
  ipBytes,
  MAX_EXTENSION_NAMES,
  mergeExtendedHandshake,
  type ExtendedHandshake,
  type ExtendedHandshakeInit,
} from './extended/handshake.js';
export {
  MAX_METADATA_BYTES,
  METADATA_PIECE_BYTES,
  MetadataAssembler,
  decodeMetadataMessage,
  encodeMetadataMessage,
  metadataPieceCount,
  metadataPieceLength,
  type MetadataMessage,
} from './extended/ut-metadata.js';
export { MAX_PEX_PEERS_PER_LIST, PexFlags, decodePex, encodePex, type PexAddress, type PexMessage, type PexPeer } from './extended/ut-pex.js';
export { DEFAULT_LOCAL_EXTENSIONS, ExtensionRouter, UT_METADATA, UT_PEX, type RoutedExtended } from './extended/router.js';
export { Rc4 } from './mse/rc4.js';
export {
  MSE_GENERATOR,
  MSE_KEY_BYTES,
  MSE_PRIME,
  MSE_PRIVATE_KEY_BYTES,
  MSE_RC4_DISCARD_BYTES,
  mseCipher,
  mseInfoHashLookup,
  msePublicKey,
  mseReq1Hash,
  mseReq2Hash,
  mseReq3Hash,
  mseSharedSecret,
  type MseCipher,
  type MseInfoHashLookup,
} from './mse/crypto.js';
export {
  MSE_CRYPTO_PLAINTEXT,
  MSE_CRYPTO_RC4,
  MSE_MAX_IA_BYTES,
  MSE_MAX_PAD_BYTES,
  MSE_SYNC_WINDOW_BYTES,
  MSE_VC_BYTES,
  type MseCommonOptions,
  type MseMethod,
  type MseResult,
  type MseStep,
  type RandomBytes,
} from './mse/common.js';
export { MseInitiator, type MseInitiatorOptions } from './mse/initiator.js';
export { classifyIncoming, MseResponder, type MseResponderOptions } from './mse/responder.js';
export { mseAccept, mseConnect, MseStream, type MseAccepted, type MseAcceptOptions, type MseConnected, type MseStreamOptions } from './mse/stream.js';
export { MSE_ERROR_CODES, type MseErrorCode } from './mse/errors.js';
export {
  decodeHolepunch,
  encodeHolepunch,
  HolepunchError,
  holepunchErrorName,
  HolepunchType,
  UT_HOLEPUNCH,
  type HolepunchErrorName,
  type HolepunchMessage,
} from './extended/ut-holepunch.js';
export {
  decodeHashMessage,
  encodeHashMessage,
  HASH_BYTES,
  HASH_REQUEST_BYTES,
  HashMessageId,
  isHashMessageId,
  MAX_HASHES_PER_REQUEST,
  MAX_TREE_LAYERS,
  type HashesMessage,
  type HashMessage,
  type HashRejectMessage,
  type HashRequestFields,
  type HashRequestMessage,
} from './hashes.js';
