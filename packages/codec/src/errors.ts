/** Every failure the codec reports, as a literal code that apps map to exit codes and messages. */
export type CodecErrorCode =
  // bencode syntax
  | 'CODEC_BAD_SYNTAX'
  | 'CODEC_TRUNCATED'
  | 'CODEC_LEADING_ZERO'
  | 'CODEC_NEGATIVE_ZERO'
  | 'CODEC_UNSORTED_KEYS'
  | 'CODEC_DUPLICATE_KEY'
  | 'CODEC_TRAILING_DATA'
  | 'CODEC_TOO_DEEP'
  | 'CODEC_TOO_MANY_TOKENS'
  | 'CODEC_TOO_LARGE'
  | 'CODEC_UNSAFE_INTEGER'
  | 'CODEC_UNENCODABLE'
  | 'CODEC_WRONG_TYPE'
  // metainfo
  | 'CODEC_BAD_METAINFO'
  | 'CODEC_UNSAFE_PATH'
  | 'CODEC_DUPLICATE_PATH'
  // magnet
  | 'CODEC_BAD_MAGNET';

export interface CodecErrorDetails {
  /** Byte offset in the input where the problem was found. */
  readonly offset?: number;
  /** Dotted path of the metainfo field at fault, e.g. `info.files[3].path`. */
  readonly field?: string;
  readonly cause?: unknown;
}

/** The one error class of the codec package: bad input, never a bug. */
export class CodecError extends Error {
  override readonly name = 'CodecError';
  readonly code: CodecErrorCode;
  readonly offset: number | undefined;
  readonly field: string | undefined;

  constructor(code: CodecErrorCode, message: string, details: CodecErrorDetails = {}) {
    super(
      details.offset !== undefined ? `${message} (at byte ${details.offset})` : message,
      details.cause !== undefined ? { cause: details.cause } : undefined,
    );
    this.code = code;
    this.offset = details.offset;
    this.field = details.field;
  }
}

export function isCodecError(e: unknown): e is CodecError {
  return e instanceof CodecError;
}
