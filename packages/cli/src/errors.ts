import { CliError, CommandError, exitCodeFor, type ExitCode } from './exit-codes.js';
import type { Io } from './io.js';
import { sanitize } from './sanitize.js';

/** Hints for well-known failure codes, shown under the error line. */
const HINTS: Readonly<Record<string, string>> = {
  CODEC_UNSAFE_PATH: 'the torrent names a file outside its folder; it may be hostile, do not use it',
  CODEC_TOO_LARGE: 'this is larger than any sane .torrent file',
  ENOSPC: 'free some space on the target disk, then run the same command again to resume',
  EACCES: 'check the permissions of the target folder',
  EROFS: 'the target folder is on a read-only file system',
  ENOTFOUND: 'the host name did not resolve; check the URL and your DNS',
  ECONNREFUSED: 'nothing listens at that address and port',
};

function hintFor(e: unknown): string | undefined {
  if (e instanceof CliError || e instanceof CommandError) return e.hint;
  if (typeof e === 'object' && e !== null) {
    const hint = (e as { hint?: unknown }).hint;
    if (typeof hint === 'string') return hint;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return HINTS[code];
  }
  return undefined;
}

function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/**
 * Prints `error: <what>: <why>` (and `hint: …`) to stderr, with the cause chain under --verbose,
 * and returns the exit code from the shared table. Never a stack trace unless TC_DEBUG is set.
 */
export function reportError(io: Io, e: unknown, opts: { what?: string; verbose?: boolean } = {}): ExitCode {
  const why = sanitize(messageOf(e), { multiline: e instanceof CliError && e.multiline });
  io.stderr.write(`error: ${opts.what ? `${sanitize(opts.what)}: ` : ''}${why}\n`);
  const hint = hintFor(e);
  if (hint) io.stderr.write(`hint: ${sanitize(hint)}\n`);
  if (opts.verbose) {
    let cause = e instanceof Error ? e.cause : undefined;
    for (let depth = 0; cause !== undefined && depth < 8; depth++) {
      io.stderr.write(`  caused by: ${sanitize(messageOf(cause))}\n`);
      cause = cause instanceof Error ? cause.cause : undefined;
    }
  }
  if (io.env.TC_DEBUG && e instanceof Error && e.stack) io.stderr.write(`${e.stack}\n`);
  return exitCodeFor(e);
}

/** Prints `warning: …` to stderr. */
export function reportWarning(io: Io, message: string): void {
  io.stderr.write(`warning: ${sanitize(message)}\n`);
}
