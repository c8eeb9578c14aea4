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
export type { Metainfo, MetainfoFile, MetainfoReport, ParsedMetainfo, ParseMetainfoOptions } from './types.js';
export { fileAt, fileToPieces, locateByte, pieceRanges, pieceSize, type Layout, type PieceRange } from './geometry.js';
export { toTorrentFile, type AnnounceTiers } from './torrent-file.js';
