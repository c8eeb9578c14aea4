export {
  CodecError,
  CODEC_ERROR_CODES,
  isCodecError,
  type CodecErrorCode,
  type CodecErrorDetails,
  type CodecProblem,
  type CodecWarningCode,
} from './errors.js';
export * from './bencode/index.js';
export { fromBase32, infoHashBase32, infoHashFromBytes, infoHashHex, INFO_HASH_BYTES, parseInfoHash, toBase32, type InfoHash } from './ids.js';
export * from './metainfo/index.js';
export { formatIp, IPV4_BYTES, IPV6_BYTES, parseIp, unmapIpv4 } from './ip.js';
export { PUBLIC_TRACKERS } from './public-trackers.js';
export {
  formatMagnet,
  MAX_MAGNET_CHARS,
  MAX_MAGNET_PEERS,
  MAX_MAGNET_TRACKERS,
  MAX_MAGNET_WEB_SEEDS,
  parseMagnet,
  toMagnet,
  type FileRange,
  type Magnet,
  type MagnetInput,
  type MagnetPeer,
  type ParsedMagnet,
  type ParseMagnetOptions,
} from './magnet.js';
export { checkUrl, TRACKER_PROTOCOLS, WEB_SEED_PROTOCOLS } from './urls.js';
