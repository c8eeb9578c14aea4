import {
  colours,
  commandParser,
  exitCodeFor,
  FETCH_TIMEOUT_MS,
  formatProblem,
  ExitCode,
  parseCommand,
  positionals,
  isMagnet,
  readTorrentBytes,
  UsageError,
  sanitize,
  timeoutMs,
  worstExitCode,
  writeJson,
  type Io,
} from '@tc/cli';
import { decode, inspectMetainfo, MAX_TORRENT_BYTES, MAX_TORRENT_TOKENS, type BValue } from '@tc/codec';
import { renderTorrent, torrentJson, type FilesStyle, type TorrentReport } from './render.js';

const USAGE = `$0 FILE|URL|-...

Shows everything about .torrent files (read from disk, standard input with -, or fetched over http(s)): name, info-hash
(hex and base32), magnet link, sizes, pieces, private flag, files, trackers by tier, web seeds,
creator, date, comment, and every validation error and warning.`;

const EPILOGUE = `Exit codes:
  0  every torrent is valid (warnings allowed)
  2  usage: a bad flag, a missing file
  3  invalid or hostile torrent, or a download over ${MAX_TORRENT_BYTES} bytes
  4  URL fetch failed: HTTP error, timeout, redirect loop
  5  disk error
With several inputs each is shown and the highest code wins.`;

export async function run(argv: string[], io: Io): Promise<number> {
  const parser = commandParser('tc-debug-torrent', USAGE)
    .option('files', {
      choices: ['tree', 'list'] as const,
      default: 'tree' as FilesStyle,
      describe: 'show the files of a multi-file torrent as a folder tree or as full paths',
    })
    .option('timeout', {
      type: 'number',
      default: FETCH_TIMEOUT_MS / 1000,
      describe: 'seconds allowed to fetch a URL',
    })
    .example('$0 ubuntu.torrent', 'show one torrent')
    .example('$0 --json http://host/a.torrent', 'fetch one and print JSON')
    .example('$0 -v a.torrent', 'also dump the raw keys (and padding files)')
    .epilogue(EPILOGUE);
  const args = await parseCommand(parser, argv, io);
  if (!args) return ExitCode.OK;
  const sources = positionals(args, { command: 'tc-debug-torrent', what: '.torrent file or URL' });
  const fetchTimeoutMs = timeoutMs(args.timeout);
  const chalk = colours(args.color, io, io.stdout);
  const reports: TorrentReport[] = [];
  for (const source of sources) {
    if (io.signal?.aborted) return ExitCode.INTERRUPTED;
    const report = await inspect(source, { cwd: io.cwd, timeoutMs: fetchTimeoutMs, signal: io.signal, stdin: io.stdin, verbose: args.verbose });
    reports.push(report);
    writeProblems(io, report);
    // A torrent that could not be read at all is its error line, said once (on stderr).
    if (!args.json && !report.failure) {
      if (reports.length > 1) io.stdout.write('\n');
      io.stdout.write(renderTorrent(report, { chalk, verbose: args.verbose, files: args.files }));
    }
  }
  if (args.json) writeJson(io, { torrents: reports.map((r) => torrentJson(r, args.verbose)) });
  return worstExitCode(reports.map((r) => r.exitCode));
}

/** Errors and the load failure go to stderr as `error:` lines (CLI.md), whatever the output format. */
function writeProblems(io: Io, r: TorrentReport): void {
  const what = isMagnet(r.source) ? 'magnet link' : r.source === '-' ? 'standard input' : sanitize(r.source);
  if (r.failure) {
    io.stderr.write(`error: ${what}: ${sanitize(r.failure.message)}\n`);
    if (r.failure.hint) io.stderr.write(`hint: ${sanitize(r.failure.hint)}\n`);
  }
  for (const p of r.errors) io.stderr.write(`error: ${what}: ${formatProblem(p)}\n`);
}

async function inspect(
  source: string,
  opts: { cwd: string; timeoutMs: number; signal: AbortSignal | undefined; stdin: Io['stdin']; verbose: boolean },
): Promise<TorrentReport> {
  let bytes: Buffer;
  try {
    if (isMagnet(source))
      throw new UsageError(
        'tc-debug-torrent shows .torrent files; a magnet link has no metadata to show',
        'tc-download MAGNET fetches its metadata from peers and saves it as HASH.torrent; show that file',
      );
    bytes = await readTorrentBytes(source, { cwd: opts.cwd, maxBytes: MAX_TORRENT_BYTES, timeoutMs: opts.timeoutMs, signal: opts.signal, stdin: opts.stdin });
  } catch (e) {
    const hint = (e as { hint?: unknown }).hint;
    return {
      source,
      torrentBytes: undefined,
      metainfo: undefined,
      errors: [],
      warnings: [],
      failure: { message: e instanceof Error ? e.message : String(e), hint: typeof hint === 'string' ? hint : undefined },
      raw: undefined,
      exitCode: exitCodeFor(e),
    };
  }
  const report = inspectMetainfo(bytes, { mode: 'lenient', allowV2Only: true });
  return {
    source,
    torrentBytes: bytes.length,
    metainfo: report.metainfo,
    errors: report.errors,
    warnings: report.warnings,
    failure: undefined,
    raw: opts.verbose ? (report.metainfo?.raw ?? rawValue(bytes)) : undefined,
    exitCode: report.errors.length > 0 ? ExitCode.BAD_INPUT : ExitCode.OK,
  };
}

/** The bencode tree for `-v`, even when the torrent is invalid; undefined when it is not bencode at all. */
function rawValue(bytes: Buffer): BValue | undefined {
  try {
    return decode(bytes, { mode: 'lenient', maxBytes: MAX_TORRENT_BYTES, maxTokens: MAX_TORRENT_TOKENS });
  } catch {
    return undefined;
  }
}
