import { CodecError, MAX_TORRENT_BYTES, parseMagnet, parseMetainfo, type CodecProblem, type Magnet, type Metainfo, type ParseMetainfoOptions } from '@tc/codec';
import { CliError, UsageError } from './exit-codes.js';
import { readFileOrUrl } from './fetch.js';
import type { InStream } from './io.js';

/**
 * What a command's torrent argument named: a .torrent (from a file or an http(s) URL), or a magnet
 * link (BEP 9: its metadata still has to come from peers). The warnings are codec's, for the
 * command to show or not.
 */
export type TorrentArg =
  | {
      readonly kind: 'torrent';
      /** The argument as given. */
      readonly source: string;
      /** The .torrent as read. */
      readonly bytes: Buffer;
      readonly metainfo: Metainfo;
      readonly warnings: readonly CodecProblem[];
    }
  | { readonly kind: 'magnet'; readonly source: string; readonly magnet: Magnet; readonly warnings: readonly CodecProblem[] };

export interface TorrentArgOptions {
  /** Relative paths are read from here. */
  readonly cwd: string;
  /** Aborts a URL fetch (Ctrl-C). */
  readonly signal?: AbortSignal | undefined;
  /** Bound on a URL fetch, ms (default FETCH_TIMEOUT_MS). */
  readonly timeoutMs?: number;
  /** Largest .torrent accepted, file or URL. Default codec's MAX_TORRENT_BYTES. */
  readonly maxBytes?: number;
  /** How strictly the .torrent is parsed (default lenient). */
  readonly parse?: ParseMetainfoOptions;
  /** What `-` reads (io.stdin); without it `-` is a usage error. */
  readonly stdin?: InStream | undefined;
}

/** The argument that means standard input. */
export const STDIN_ARG = '-';

/**
 * The bytes of a .torrent named by a command's argument: `-` reads standard input (bounded by
 * `maxBytes`, a terminal refused), anything else a file or an http(s) URL (readFileOrUrl).
 */
export async function readTorrentBytes(arg: string, opts: TorrentArgOptions): Promise<Buffer> {
  const maxBytes = opts.maxBytes ?? MAX_TORRENT_BYTES;
  if (arg !== STDIN_ARG)
    return readFileOrUrl(arg, { cwd: opts.cwd, maxBytes, signal: opts.signal, ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}) });
  const stdin = opts.stdin;
  if (stdin === undefined) throw new UsageError('standard input: not available to this command');
  if (stdin.isTTY === true) throw new UsageError('standard input is a terminal, not a .torrent', 'pipe one in: tc-… - < file.torrent');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    if (opts.signal?.aborted) throw new CliError('CLI_INTERRUPTED', 'standard input: interrupted');
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += b.length;
    if (size > maxBytes) throw new CliError('CLI_BAD_INPUT', `standard input: more than ${maxBytes} bytes, larger than any sane .torrent`);
    chunks.push(b);
  }
  if (size === 0) throw new UsageError('standard input: empty, no .torrent was piped in');
  return Buffer.concat(chunks, size);
}

/** A magnet link (BEP 9) rather than a path or URL: `magnet:?…`, in any case. */
export function isMagnet(arg: string): boolean {
  return /^magnet:/i.test(arg.trim());
}

/** A bare info-hash, 40 hex or 32 base32 characters: read as a magnet link with only `xt=`. */
export function isBareInfoHash(arg: string): boolean {
  return /^(?:[0-9a-fA-F]{40}|[a-zA-Z2-7]{32})$/.test(arg.trim());
}

/**
 * Reads the torrent argument of a command: a magnet link, an http(s) URL of a .torrent, a path
 * to one, or `-` (standard input), all under one size limit. Throws typed errors mapped by the exit-code table: CodecError
 * for a bad torrent or magnet (exit 3), CliError CLI_BAD_INPUT for one over the size limit (3),
 * CLI_FETCH_FAILED for a URL that could not be fetched (4), CLI_FILE_UNREADABLE for a file that
 * could not be read (5), USAGE for a missing file or a folder (2), CLI_INTERRUPTED (130).
 */
export async function readTorrentArg(arg: string, opts: TorrentArgOptions): Promise<TorrentArg> {
  try {
    if (isMagnet(arg) || isBareInfoHash(arg)) {
      const { magnet, warnings } = parseMagnet(isMagnet(arg) ? arg : `magnet:?xt=urn:btih:${arg.trim()}`);
      return { kind: 'magnet', source: arg, magnet, warnings };
    }
    const bytes = await readTorrentBytes(arg, opts);
    const { metainfo, warnings } = parseMetainfo(bytes, opts.parse ?? { mode: 'lenient', allowV2Only: true });
    return { kind: 'torrent', source: arg, bytes, metainfo, warnings };
  } catch (e) {
    throw inContext(e, isMagnet(arg) ? 'magnet link' : arg === STDIN_ARG ? 'standard input' : arg);
  }
}

/** The same error (class, code, hint) with the argument it concerns named first; the original as its cause. */
function inContext(e: unknown, what: string): unknown {
  const message = (m: string): string => `${what}: ${m}`;
  if (e instanceof CodecError)
    return new CodecError(e.code, message(e.message), { ...(e.field !== undefined ? { field: e.field } : {}), problems: e.problems, cause: e });
  if (e instanceof UsageError) return Object.assign(new UsageError(message(e.message), e.hint), { cause: e });
  if (e instanceof CliError) return new CliError(e.code, message(e.message), { ...(e.hint !== undefined ? { hint: e.hint } : {}), cause: e });
  return e;
}
