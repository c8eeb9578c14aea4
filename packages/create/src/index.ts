export { choosePieceLength, createTorrent, type CreateTorrentOptions, type TorrentVersion } from './create-torrent.js';
export { collectFiles, globToRegExp, MAX_CREATE_FILES, type CollectOptions, type SourceFile } from './collect.js';
export { defaultThreads } from './hash.js';
export {
  verifyData,
  verifyPieces,
  type FileResult,
  type FileStatus,
  type PieceResult,
  type PieceStatus,
  type VerifyOptions,
  type VerifyReport,
} from './verify-data.js';
