export { inspectMetainfo, MAX_PIECE_LENGTH_BYTES, MAX_PIECES, MAX_TORRENT_BYTES, MAX_TORRENT_TOKENS, parseInfoDict, parseMetainfo } from './parse.js';
export {
  checkPathComponent,
  MAX_NAME_BYTES,
  MAX_PATH_DEPTH,
  safeFileName,
  toSafePath,
  truncateUtf8,
  type PathRename,
  type UnsafeComponentReason,
} from './safe-path.js';
export type { Metainfo, MetainfoFile, MetainfoReport, MetainfoV2, MetainfoV2File, ParsedMetainfo, ParseMetainfoOptions, V2LayerState } from './types.js';
export {
  blockCount,
  fileMerkle,
  filePieceCount,
  merklePad,
  merkleRoot,
  nextPowerOfTwo,
  pieceHashV2,
  rootFromPieceLayer,
  sha256,
  splitHashes,
  V2_BLOCK_SIZE,
  V2_HASH_BYTES,
  type FileMerkle,
} from './merkle.js';
export { fileAt, fileToPieces, locateByte, pieceRanges, pieceSize, type Layout, type PieceRange } from './geometry.js';
export { toTorrentFile, type AnnounceTiers } from './torrent-file.js';
