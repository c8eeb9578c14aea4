import type { BDict } from '../bencode/types.js';
import type { CodecProblem } from '../errors.js';
import type { InfoHash } from '../ids.js';

/** One file of a torrent, in the order of the `files` list (its data follows the previous file's). */
export interface MetainfoFile {
  readonly index: number;
  /**
   * Display path relative to the download folder, the torrent name first for multi-file torrents:
   * UTF-8 (`path.utf-8` preferred), invalid bytes shown as U+FFFD. Already checked to be safe.
   */
  readonly path: readonly string[];
  /** The same path mapped by `toSafePath` (portable names): what storage creates on disk. */
  readonly safePath: readonly string[];
  /** The raw components as stored in the torrent (`path` list, or `[name]` for a single file). */
  readonly rawPath: readonly Buffer[];
  readonly length: number;
  /** Offset of the file's first byte in the torrent's concatenated data. */
  readonly offset: number;
  /** BEP 47 padding file (`attr` contains `p`): zeros, never written to disk. */
  readonly padding: boolean;
  /** BEP 47 attribute letters as given (`p` padding, `x` executable, `h` hidden, `l` symlink), or ''. */
  readonly attr: string;
}

/** Where a v2 file's piece layer stands: BEP 52 needs one for each file longer than a piece. */
export type V2LayerState = 'present' | 'missing' | 'not-needed' | 'empty';

/** One file of a v2 or hybrid torrent's `file tree`, in tree order. */
export interface MetainfoV2File {
  /** Index of the same file in `Metainfo.files`. */
  readonly index: number;
  /** Path under the torrent's folder, as in the tree (display UTF-8); the file name for a single-file torrent. */
  readonly path: readonly string[];
  readonly rawPath: readonly Buffer[];
  readonly length: number;
  /** Offset of the file in the v1 view (always a multiple of the piece length when non-empty). */
  readonly offset: number;
  readonly attr: string;
  /** SHA-256 merkle root of the file's 16 KiB blocks; undefined for an empty file. */
  readonly piecesRoot: Buffer | undefined;
  /** Pieces of this file (each file starts a piece in v2). */
  readonly pieceCount: number;
  /** The file's piece layer (concatenated 32-byte hashes), checked against the root, when present. */
  readonly layer: Buffer | undefined;
  readonly layerState: V2LayerState;
}

/** The BEP 52 side of a v2 or hybrid torrent. */
export interface MetainfoV2 {
  /** SHA-256 of the raw `info` bytes. */
  readonly infoHash: Buffer;
  readonly infoHashHex: string;
  /** Its first 20 bytes: what the wire, trackers and the DHT use for a v2 swarm. */
  readonly truncatedInfoHash: InfoHash;
  readonly files: readonly MetainfoV2File[];
  /** Every file longer than a piece has its layer. */
  readonly layersComplete: boolean;
}

/** Type-only brand: no other module can name it, so only codec's parsers can produce a Metainfo. */
declare const validatedMetainfo: unique symbol;

/** A parsed and validated v1 torrent (BEP 3). Only `parseMetainfo`/`parseInfoDict` make one. */
export interface Metainfo extends MetainfoFields {
  readonly [validatedMetainfo]: true;
}

/** The fields of a Metainfo, without the brand (internal to codec). */
export interface MetainfoFields {
  /** 'v1' (BEP 3), 'v2' (BEP 52 only: no SHA-1 pieces) or 'hybrid' (both, describing the same files). */
  readonly version: 'v1' | 'v2' | 'hybrid';
  /**
   * The swarm's 20-byte info-hash: the SHA-1 of `info` for v1 and hybrid torrents, the truncated
   * SHA-256 for v2-only ones.
   */
  readonly infoHash: InfoHash;
  readonly infoHashHex: string;
  readonly infoHashBase32: string;
  /** The exact bytes of the `info` dictionary as they appear in the input (what the info-hash covers). */
  readonly infoBytes: Buffer;
  /** Display name (`name.utf-8` preferred, U+FFFD for invalid UTF-8). */
  readonly name: string;
  /** Portable version of the name (`safeFileName`). */
  readonly safeName: string;
  readonly rawName: Buffer;
  readonly pieceLength: number;
  readonly pieceCount: number;
  /** BEP 52 fields of a v2 or hybrid torrent. */
  readonly v2: MetainfoV2 | undefined;
  /** Concatenated 20-byte SHA-1 piece hashes (empty for a v2-only torrent). */
  readonly pieces: Buffer;
  readonly totalLength: number;
  /** True when `info` has `files` (the data lives in a folder named `name`). */
  readonly multiFile: boolean;
  readonly files: readonly MetainfoFile[];
  /** BEP 27, honoured only inside `info`. */
  readonly private: boolean;
  /** The top-level `announce` URL, if valid. */
  readonly announce: string | undefined;
  /** BEP 12 tiers (from `announce-list`, else `[[announce]]`); invalid and duplicate URLs dropped. */
  readonly announceTiers: readonly (readonly string[])[];
  /** BEP 19 `url-list` web seeds. */
  readonly webSeeds: readonly string[];
  readonly comment: string | undefined;
  readonly createdBy: string | undefined;
  /** `creation date` (seconds since the epoch) as a Date. */
  readonly creationDate: Date | undefined;
  /** `info.source` (private trackers use it to change the info-hash). */
  readonly source: string | undefined;
  /**
   * The .torrent exactly as read (what `raw`'s byte spans index into); undefined for a metainfo
   * built from a bare info dictionary (`parseInfoDict`), whose `raw` is then `info`.
   */
  readonly torrentBytes: Buffer | undefined;
  /** The top-level dictionary, for tools that show raw keys. */
  readonly raw: BDict;
  /** The `info` dictionary. */
  readonly info: BDict;
  /** SHA-1 of piece `i` (a view, do not modify). Throws for a v2-only torrent. */
  pieceHash(index: number): Buffer;
  /** Length of piece `i`: `pieceLength`, except possibly the last. */
  pieceSize(index: number): number;
}

export interface ParseMetainfoOptions {
  /** `lenient` (default) accepts unsorted keys with a warning; `strict` rejects them. */
  readonly mode?: 'strict' | 'lenient';
  /** Largest .torrent accepted, checked before decoding. Default 10 MB (RELIABILITY #16). */
  readonly maxBytes?: number;
  /** Most bencode values. Default 3,000,000 (RELIABILITY #16). */
  readonly maxTokens?: number;
  /** Reject Windows device names (CON, NUL, COM1…) instead of renaming them. */
  readonly rejectWindowsReserved?: boolean;
  /**
   * Accept v2-only torrents (BEP 52 without v1 pieces). Off by default: the engine downloads v1 and
   * hybrid torrents only, so a v2-only one is refused with CODEC_V2_UNSUPPORTED unless a tool asks.
   */
  readonly allowV2Only?: boolean;
  /** "Now", for the future-creation-date warning (pure code takes time as input). */
  readonly now?: Date;
}

export interface ParsedMetainfo {
  readonly metainfo: Metainfo;
  readonly warnings: readonly CodecProblem[];
}

/** What `inspectMetainfo` reports: never throws for bad input. */
export interface MetainfoReport {
  readonly metainfo: Metainfo | undefined;
  readonly errors: readonly CodecProblem[];
  readonly warnings: readonly CodecProblem[];
}
