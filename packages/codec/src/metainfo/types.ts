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

/** Type-only brand: no other module can name it, so only codec's parsers can produce a Metainfo. */
declare const validatedMetainfo: unique symbol;

/** A parsed and validated v1 torrent (BEP 3). Only `parseMetainfo`/`parseInfoDict` make one. */
export interface Metainfo extends MetainfoFields {
  readonly [validatedMetainfo]: true;
}

/** The fields of a Metainfo, without the brand (internal to codec). */
export interface MetainfoFields {
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
  /** Concatenated 20-byte SHA-1 piece hashes. */
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
  /** SHA-1 of piece `i` (a view, do not modify). */
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
