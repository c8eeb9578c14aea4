/** Every failure the codec reports, as a literal code that apps map to exit codes and messages. */
export const CODEC_ERROR_CODES = [
  // bencode syntax
  'CODEC_BAD_SYNTAX',
  'CODEC_TRUNCATED',
  'CODEC_LEADING_ZERO',
  'CODEC_NEGATIVE_ZERO',
  'CODEC_UNSORTED_KEYS',
  'CODEC_DUPLICATE_KEY',
  'CODEC_TRAILING_DATA',
  'CODEC_TOO_DEEP',
  'CODEC_TOO_MANY_TOKENS',
  'CODEC_TOO_LARGE',
  'CODEC_UNSAFE_INTEGER',
  'CODEC_UNENCODABLE',
  'CODEC_WRONG_TYPE',
  // metainfo
  'CODEC_BAD_METAINFO',
  'CODEC_MISSING_FIELD',
  'CODEC_BAD_PIECE_LENGTH',
  'CODEC_BAD_PIECES',
  'CODEC_BAD_LENGTH',
  'CODEC_TOO_MANY_PIECES',
  'CODEC_EMPTY_FILE_LIST',
  'CODEC_PATH_TRAVERSAL',
  'CODEC_UNSAFE_PATH',
  'CODEC_PATH_TOO_DEEP',
  'CODEC_DUPLICATE_PATH',
  'CODEC_BAD_INFO_HASH',
  // BEP 52 (v2 and hybrid torrents)
  'CODEC_BAD_META_VERSION',
  'CODEC_BAD_FILE_TREE',
  'CODEC_BAD_PIECES_ROOT',
  'CODEC_BAD_PIECE_LAYERS',
  'CODEC_HYBRID_MISMATCH',
  'CODEC_V2_UNSUPPORTED',
  // magnet
  'CODEC_BAD_MAGNET',
  // file I/O of @tc/create (createTorrent, verifyData)
  'CODEC_IO',
] as const;
export type CodecErrorCode = (typeof CODEC_ERROR_CODES)[number];

export interface CodecErrorDetails {
  /** Byte offset in the input where the problem was found. */
  readonly offset?: number;
  /** Dotted path of the metainfo field at fault, e.g. `info.files[3].path`. */
  readonly field?: string;
  readonly cause?: unknown;
  /** Every hard problem found when a validator collected more than one (the first is this error). */
  readonly problems?: readonly CodecProblem[];
}

/** One problem found by a validator: a hard error or a warning. */
export interface CodecProblem {
  readonly code: CodecErrorCode | CodecWarningCode;
  readonly message: string;
  /** Dotted path of the field at fault, e.g. `info.files[3].path`. */
  readonly field: string;
}

/** Things a torrent may do that are legal but suspicious or non-canonical: reported, not fatal. */
export type CodecWarningCode =
  | 'WARN_UNSORTED_KEYS'
  | 'WARN_UNKNOWN_KEY'
  | 'WARN_NO_ANNOUNCE'
  | 'WARN_FUTURE_CREATION_DATE'
  | 'WARN_CREATION_DATE_IN_MS'
  | 'WARN_PIECE_LENGTH_NOT_POWER_OF_TWO'
  | 'WARN_PIECE_LENGTH_SMALL'
  | 'WARN_CASE_FOLDED_DUPLICATE'
  | 'WARN_PATH_RENAMED'
  | 'WARN_INVALID_UTF8'
  | 'WARN_PRIVATE_OUTSIDE_INFO'
  | 'WARN_BAD_TRACKER_URL'
  | 'WARN_BAD_OPTIONAL_FIELD'
  | 'WARN_MAGNET_CAPPED'
  | 'WARN_MAGNET_UNKNOWN_PARAM'
  | 'WARN_MISSING_PIECE_LAYER';

/** The one error class of the codec package: bad input, never a bug. */
export class CodecError extends Error {
  override readonly name = 'CodecError';
  readonly code: CodecErrorCode;
  readonly offset: number | undefined;
  readonly field: string | undefined;
  readonly problems: readonly CodecProblem[];

  constructor(code: CodecErrorCode, message: string, details: CodecErrorDetails = {}) {
    super(
      details.offset !== undefined ? `${message} (at byte ${details.offset})` : message,
      details.cause !== undefined ? { cause: details.cause } : undefined,
    );
    this.code = code;
    this.offset = details.offset;
    this.field = details.field;
    this.problems = details.problems ?? [{ code, message, field: details.field ?? '' }];
  }
}

export function isCodecError(e: unknown): e is CodecError {
  return e instanceof CodecError;
}
