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

/** A mistake in how the command was called: a bad flag, a bad env value, a missing input file. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'USAGE';
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.hint = hint;
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

const NETWORK_ERRNO = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH',
  'EPIPE', 'ECONNABORTED', 'EADDRNOTAVAIL', 'EADDRINUSE',
]);
const DISK_ERRNO = new Set(['ENOSPC', 'EROFS', 'EACCES', 'EPERM', 'EIO', 'EDQUOT', 'EISDIR', 'ENOTDIR', 'EMFILE', 'ENFILE', 'EEXIST', 'ENOENT']);

function codeOf(e: unknown): string | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e) {
    const c = (e as { code: unknown }).code;
    if (typeof c === 'string') return c;
  }
  return undefined;
}

/**
 * Maps any error to the shared table by its `code`: package errors carry a prefix
 * (CODEC_, TRACKER_, WIRE_, ENGINE_), Node's system errors an errno name.
 */
export function exitCodeFor(e: unknown): ExitCode {
  if (e instanceof CommandError) return e.exitCode;
  if (e instanceof UsageError) return ExitCode.USAGE;
  const code = codeOf(e);
  if (code === undefined) return ExitCode.FAILURE;
  if (code === 'ABORT_ERR') return ExitCode.INTERRUPTED;
  if (code.startsWith('CODEC_')) return ExitCode.BAD_INPUT;
  if (code.startsWith('TRACKER_') || code.startsWith('WIRE_') || code.startsWith('UND_ERR')) return ExitCode.NETWORK;
  if (code === 'ENGINE_HASH_MISMATCH' || code.startsWith('VERIFY_')) return ExitCode.VERIFY_FAILED;
  if (code.startsWith('ENGINE_DISK') || code.startsWith('STORAGE_')) return ExitCode.DISK;
  if (code.startsWith('ENGINE_NO_PEERS') || code.startsWith('ENGINE_NETWORK')) return ExitCode.NETWORK;
  if (NETWORK_ERRNO.has(code)) return ExitCode.NETWORK;
  if (DISK_ERRNO.has(code)) return ExitCode.DISK;
  return ExitCode.FAILURE;
}
