import type { CodecErrorCode } from '@tc/codec';
import type { EngineErrorCode, SelectionErrorCode } from '@tc/engine';
import type { TrackerErrorCode } from '@tc/tracker';
import type { WireErrorCode } from '@tc/wire';

/** The one exit-code table every tc command uses (CLI.md). */
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  BAD_INPUT: 3,
  NETWORK: 4,
  DISK: 5,
  VERIFY_FAILED: 6,
  INTERRUPTED: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Every failure @tc/cli itself reports, as a literal code in the shared table. `USAGE`: a bad flag,
 * env value or missing input file (exit 2). The others come from reading a command's input: too
 * large or not what it should be (3), a URL that could not be fetched (4), a file that could not be
 * read (5), an interrupted read (130).
 */
export const CLI_ERROR_CODES = ['USAGE', 'CLI_BAD_INPUT', 'CLI_FETCH_FAILED', 'CLI_FILE_UNREADABLE', 'CLI_INTERRUPTED'] as const;
export type CliErrorCode = (typeof CLI_ERROR_CODES)[number];

/** The error class of @tc/cli: a code from CLI_ERROR_CODES, and a hint for the next step. */
export class CliError extends Error {
  override readonly name: string = 'CliError';
  readonly code: CliErrorCode;
  readonly hint: string | undefined;
  /** The message is tc's (or yargs') own text laid out on several lines: its newlines are kept. */
  readonly multiline: boolean;
  constructor(code: CliErrorCode, message: string, opts: { hint?: string; cause?: unknown; multiline?: boolean } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.code = code;
    this.hint = opts.hint;
    this.multiline = opts.multiline ?? false;
  }

  /** Its exit code from the shared table (as CommandError carries one). */
  get exitCode(): ExitCode {
    return PACKAGE_EXIT_CODES[this.code];
  }
}

/** A mistake in how the command was called: a bad flag, a bad env value, a missing input file. */
export class UsageError extends CliError {
  override readonly name = 'UsageError';
  constructor(message: string, hint?: string, opts: { multiline?: boolean } = {}) {
    super('USAGE', message, { ...(hint !== undefined ? { hint } : {}), ...opts });
  }
}

/** An error an app raises with its exit code and an optional hint already decided. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;
  constructor(message: string, exitCode: ExitCode, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.exitCode = exitCode;
    this.hint = opts.hint;
  }
}

/**
 * The exit code of every error code tc's packages define (each exports its list; a test walks them
 * all). A Record over their union: a code added to a package without a line here fails to compile,
 * and a line for a code nothing defines does too.
 */
const PACKAGE_EXIT_CODES: Readonly<Record<CodecErrorCode | WireErrorCode | TrackerErrorCode | EngineErrorCode | SelectionErrorCode | CliErrorCode, ExitCode>> =
  {
    // codec: what a .torrent or magnet link says is wrong with it; CODEC_IO is @tc/create's disk
    // (createTorrent, verifyData), CODEC_UNENCODABLE a value tc itself asked to encode (a bug).
    CODEC_BAD_SYNTAX: ExitCode.BAD_INPUT,
    CODEC_TRUNCATED: ExitCode.BAD_INPUT,
    CODEC_LEADING_ZERO: ExitCode.BAD_INPUT,
    CODEC_NEGATIVE_ZERO: ExitCode.BAD_INPUT,
    CODEC_UNSORTED_KEYS: ExitCode.BAD_INPUT,
    CODEC_DUPLICATE_KEY: ExitCode.BAD_INPUT,
    CODEC_TRAILING_DATA: ExitCode.BAD_INPUT,
    CODEC_TOO_DEEP: ExitCode.BAD_INPUT,
    CODEC_TOO_MANY_TOKENS: ExitCode.BAD_INPUT,
    CODEC_TOO_LARGE: ExitCode.BAD_INPUT,
    CODEC_UNSAFE_INTEGER: ExitCode.BAD_INPUT,
    CODEC_UNENCODABLE: ExitCode.FAILURE,
    CODEC_WRONG_TYPE: ExitCode.BAD_INPUT,
    CODEC_BAD_METAINFO: ExitCode.BAD_INPUT,
    CODEC_MISSING_FIELD: ExitCode.BAD_INPUT,
    CODEC_BAD_PIECE_LENGTH: ExitCode.BAD_INPUT,
    CODEC_BAD_PIECES: ExitCode.BAD_INPUT,
    CODEC_BAD_LENGTH: ExitCode.BAD_INPUT,
    CODEC_TOO_MANY_PIECES: ExitCode.BAD_INPUT,
    CODEC_EMPTY_FILE_LIST: ExitCode.BAD_INPUT,
    CODEC_PATH_TRAVERSAL: ExitCode.BAD_INPUT,
    CODEC_UNSAFE_PATH: ExitCode.BAD_INPUT,
    CODEC_PATH_TOO_DEEP: ExitCode.BAD_INPUT,
    CODEC_DUPLICATE_PATH: ExitCode.BAD_INPUT,
    CODEC_BAD_INFO_HASH: ExitCode.BAD_INPUT,
    CODEC_BAD_META_VERSION: ExitCode.BAD_INPUT,
    CODEC_BAD_FILE_TREE: ExitCode.BAD_INPUT,
    CODEC_BAD_PIECES_ROOT: ExitCode.BAD_INPUT,
    CODEC_BAD_PIECE_LAYERS: ExitCode.BAD_INPUT,
    CODEC_HYBRID_MISMATCH: ExitCode.BAD_INPUT,
    CODEC_V2_UNSUPPORTED: ExitCode.BAD_INPUT,
    CODEC_BAD_MAGNET: ExitCode.BAD_INPUT,
    CODEC_IO: ExitCode.DISK,
    // wire: a peer broke the protocol (the network's side); WIRE_BAD_ARGUMENT is tc's own call.
    WIRE_BAD_PSTR: ExitCode.NETWORK,
    WIRE_BAD_HANDSHAKE: ExitCode.NETWORK,
    WIRE_MESSAGE_TOO_LONG: ExitCode.NETWORK,
    WIRE_BAD_LENGTH: ExitCode.NETWORK,
    WIRE_BAD_BITFIELD: ExitCode.NETWORK,
    WIRE_HAVE_OUT_OF_RANGE: ExitCode.NETWORK,
    WIRE_UNKNOWN_MESSAGE: ExitCode.NETWORK,
    WIRE_FAST_NOT_NEGOTIATED: ExitCode.NETWORK,
    WIRE_EXTENDED_NOT_NEGOTIATED: ExitCode.NETWORK,
    WIRE_BAD_EXTENDED: ExitCode.NETWORK,
    WIRE_METADATA_BAD_MESSAGE: ExitCode.NETWORK,
    WIRE_METADATA_BAD_SIZE: ExitCode.NETWORK,
    WIRE_METADATA_BAD_PIECE: ExitCode.NETWORK,
    WIRE_BAD_HASHES: ExitCode.NETWORK,
    WIRE_METADATA_HASH_MISMATCH: ExitCode.NETWORK,
    WIRE_BAD_ARGUMENT: ExitCode.FAILURE,
    // wire MSE/PE: the encrypted handshake with a peer failed.
    WIRE_MSE_BAD_KEY: ExitCode.NETWORK,
    WIRE_MSE_NO_SYNC: ExitCode.NETWORK,
    WIRE_MSE_UNKNOWN_TORRENT: ExitCode.NETWORK,
    WIRE_MSE_BAD_VC: ExitCode.NETWORK,
    WIRE_MSE_BAD_PAD: ExitCode.NETWORK,
    WIRE_MSE_NO_COMMON_METHOD: ExitCode.NETWORK,
    WIRE_MSE_BAD_SELECT: ExitCode.NETWORK,
    WIRE_MSE_IA_TOO_LONG: ExitCode.NETWORK,
    WIRE_MSE_PLAINTEXT: ExitCode.NETWORK,
    WIRE_MSE_CLOSED: ExitCode.NETWORK,
    // tracker: the tracker or the way to it; a malformed tracker URL is the input's fault.
    TRACKER_FAILURE: ExitCode.NETWORK,
    TRACKER_TIMEOUT: ExitCode.NETWORK,
    TRACKER_HTTP_STATUS: ExitCode.NETWORK,
    TRACKER_BAD_RESPONSE: ExitCode.NETWORK,
    TRACKER_TOO_LARGE: ExitCode.NETWORK,
    TRACKER_DNS: ExitCode.NETWORK,
    TRACKER_REFUSED: ExitCode.NETWORK,
    TRACKER_NETWORK: ExitCode.NETWORK,
    TRACKER_UNSUPPORTED: ExitCode.NETWORK,
    TRACKER_REDIRECT: ExitCode.NETWORK,
    TRACKER_BAD_URL: ExitCode.BAD_INPUT,
    TRACKER_ABORTED: ExitCode.INTERRUPTED,
    // engine
    ENGINE_BAD_TORRENT: ExitCode.BAD_INPUT,
    ENGINE_UNSAFE_PATH: ExitCode.BAD_INPUT,
    ENGINE_DISK: ExitCode.DISK,
    ENGINE_HASH_MISMATCH: ExitCode.VERIFY_FAILED,
    ENGINE_PEER_PROTOCOL: ExitCode.NETWORK,
    ENGINE_PEER_TIMEOUT: ExitCode.NETWORK,
    ENGINE_PEER_BANNED: ExitCode.NETWORK,
    // A bug met while handling one peer: it reaches a command only if it stops the whole job.
    ENGINE_PEER_INTERNAL: ExitCode.FAILURE,
    ENGINE_NO_PEERS: ExitCode.NETWORK,
    ENGINE_CLOSED: ExitCode.FAILURE,
    ENGINE_DUPLICATE_TORRENT: ExitCode.FAILURE,
    ENGINE_ABORTED: ExitCode.INTERRUPTED,
    ENGINE_BAD_OPTION: ExitCode.USAGE,
    // engine's --select parsing: the user's spelling
    SELECT_BAD_SPEC: ExitCode.USAGE,
    SELECT_OUT_OF_RANGE: ExitCode.USAGE,
    SELECT_NO_MATCH: ExitCode.USAGE,
    // cli
    USAGE: ExitCode.USAGE,
    CLI_BAD_INPUT: ExitCode.BAD_INPUT,
    CLI_FETCH_FAILED: ExitCode.NETWORK,
    CLI_FILE_UNREADABLE: ExitCode.DISK,
    CLI_INTERRUPTED: ExitCode.INTERRUPTED,
  };

/** Codes from outside tc (Node, undici): errno names by what they say about the cause. */
const NETWORK_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
  'EADDRNOTAVAIL',
  'EADDRINUSE',
]);
const DISK_ERRNO = new Set(['ENOSPC', 'EROFS', 'EACCES', 'EPERM', 'EIO', 'EDQUOT', 'EISDIR', 'ENOTDIR', 'EMFILE', 'ENFILE', 'EEXIST', 'ENOENT']);

function codeOf(e: unknown): string | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e) {
    const c = e.code;
    if (typeof c === 'string') return c;
  }
  return undefined;
}

/**
 * Maps any error to the shared table: a CommandError by the code it carries, tc's package errors
 * by their code (PACKAGE_EXIT_CODES), Node's and undici's by their errno or UND_ERR_ name.
 */
export function exitCodeFor(e: unknown): ExitCode {
  if (e instanceof CommandError) return e.exitCode;
  const code = codeOf(e);
  if (code === undefined) return ExitCode.FAILURE;
  if (Object.hasOwn(PACKAGE_EXIT_CODES, code)) return PACKAGE_EXIT_CODES[code as keyof typeof PACKAGE_EXIT_CODES];
  if (code === 'ABORT_ERR') return ExitCode.INTERRUPTED;
  if (code.startsWith('UND_ERR')) return ExitCode.NETWORK;
  if (NETWORK_ERRNO.has(code)) return ExitCode.NETWORK;
  if (DISK_ERRNO.has(code)) return ExitCode.DISK;
  return ExitCode.FAILURE;
}
