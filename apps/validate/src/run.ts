import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  colours,
  commandParser,
  createProgress,
  ExitCode,
  exitCodeFor,
  formatProblem,
  parseCommand,
  positionals,
  readTorrentBytes,
  FETCH_TIMEOUT_MS,
  sanitize,
  timeoutMs,
  UsageError,
  worstExitCode,
  writeJson,
  type Io,
  type ProgressMode,
} from '@tc/cli';
import { inspectMetainfo, MAX_TORRENT_BYTES, type Metainfo } from '@tc/codec';
import { verifyData, type VerifyReport } from '@tc/create';
import { renderResult, renderSummary, resultJson, summarize, type ValidateResult } from './render.js';
import { contentFolderHint, sharedFailures } from './shared.js';

const USAGE = `$0 PATH... [--data DIR]

Validates .torrent files: each PATH is a .torrent, an http(s) URL of one, or a folder whose
*.torrent files are all checked (not its subfolders). With --data DIR, also hashes the downloaded data against the
pieces: DIR is the folder the torrents were downloaded into (a multi-file torrent's files are
under DIR/<name>/, a single file is DIR/<name>), and each file is reported complete, partial
(with the share of its pieces that verified), missing, wrong size, or unknown (none of its
pieces verified, and each also holds bytes of another file that is at fault or may be).`;

const EPILOGUE = `Exit codes:
  0    every torrent is valid (and, with --data, every piece verified)
  2    usage: a bad flag, a missing PATH or DIR, a folder without .torrent files
  3    some torrent is invalid or hostile (or has warnings, with --strict)
  4    a URL could not be fetched
  5    disk error while reading the data
  6    some data did not verify
  130  interrupted
With several torrents the highest code wins, so 6 outranks 3.`;

/** .torrent files taken from one folder: a bound on work for a folder full of junk. */
const MAX_TORRENTS_PER_FOLDER = 10_000;

export async function run(argv: string[], io: Io): Promise<number> {
  const parser = commandParser('tc-validate', USAGE)
    .option('data', { type: 'string', describe: 'check the data under this folder against the pieces' })
    .option('strict', { type: 'boolean', default: false, describe: 'count warnings (e.g. unsorted keys) as errors' })
    .option('progress', {
      choices: ['auto', 'bar', 'plain', 'none'] as const,
      default: 'auto' as ProgressMode,
      describe: 'hashing progress on stderr: a bar on a terminal, else a line every 5 s',
    })
    .option('timeout', { type: 'number', default: FETCH_TIMEOUT_MS / 1000, describe: 'seconds allowed to fetch a URL' })
    .example('$0 a.torrent b.torrent', 'check two torrents')
    .example('$0 ~/torrents', 'check every .torrent in a folder')
    .example('$0 a.torrent --data ~/Downloads', 'verify downloaded data')
    .epilogue(EPILOGUE);
  const args = await parseCommand(parser, argv, io);
  if (!args) return ExitCode.OK;
  const fetchTimeoutMs = timeoutMs(args.timeout);
  const paths = positionals(args, { command: 'tc-validate', what: '.torrent file or folder' });
  let dataDir: string | undefined;
  if (args.data !== undefined) {
    dataDir = resolve(io.cwd, args.data);
    const st = await stat(dataDir).catch(() => undefined);
    if (st?.isFile()) {
      throw new UsageError(`--data ${args.data} is a file`, 'give the folder the torrent was downloaded into (the one holding it)');
    }
    if (!st?.isDirectory()) throw new UsageError(`--data ${args.data}: no such folder`);
  }
  const sources = await expand(paths, io);

  const chalk = colours(args.color, io, io.stdout);
  const results: ValidateResult[] = [];
  for (const source of sources) {
    if (io.signal?.aborted) break;
    const r = await validateOne(source, io, { dataDir, dataGiven: args.data ?? '', strict: args.strict, progress: args.progress, timeoutMs: fetchTimeoutMs });
    results.push(r);
    for (const p of r.errors) io.stderr.write(`error: ${sanitize(source)}: ${formatProblem(p)}\n`);
    if (r.failure !== undefined) io.stderr.write(`error: ${sanitize(source)}: ${sanitize(r.failure)}\n`);
    if (!args.json) io.stdout.write(renderResult(r, { chalk, verbose: args.verbose }));
  }
  const summary = summarize(results, dataDir !== undefined);
  if (args.json) writeJson(io, { torrents: results.map(resultJson), summary });
  else if (results.length > 1 || dataDir !== undefined) io.stdout.write(renderSummary(summary, chalk));
  if (io.signal?.aborted) return ExitCode.INTERRUPTED;
  return worstExitCode(results.map((r) => r.exitCode));
}

/** Files as given; folders replaced by their *.torrent files, sorted so runs are reproducible. */
async function expand(paths: readonly string[], io: Io): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const st = await stat(resolve(io.cwd, p)).catch(() => undefined);
    if (!st?.isDirectory()) {
      out.push(p); // a missing file is reported with the others, not here
      continue;
    }
    const names = (await readdir(resolve(io.cwd, p), { withFileTypes: true }))
      .filter((d) => !d.isDirectory() && /\.torrent$/i.test(d.name))
      .map((d) => d.name)
      .sort();
    if (names.length === 0) throw new UsageError(`${p}: no .torrent files in this folder`);
    if (names.length > MAX_TORRENTS_PER_FOLDER) throw new UsageError(`${p}: more than ${MAX_TORRENTS_PER_FOLDER} .torrent files`);
    out.push(...names.map((n) => join(p, n)));
  }
  return out;
}

async function validateOne(
  source: string,
  io: Io,
  opts: { dataDir: string | undefined; dataGiven: string; strict: boolean; progress: ProgressMode; timeoutMs: number },
): Promise<ValidateResult> {
  const base = { source, metainfo: undefined, errors: [], warnings: [], failure: undefined, data: undefined };
  let bytes: Buffer;
  try {
    bytes = await readTorrentBytes(source, { cwd: io.cwd, maxBytes: MAX_TORRENT_BYTES, timeoutMs: opts.timeoutMs, signal: io.signal, stdin: io.stdin });
  } catch (e) {
    return { ...base, failure: e instanceof Error ? e.message : String(e), exitCode: exitCodeFor(e) };
  }
  const report = inspectMetainfo(bytes, { mode: 'lenient', allowV2Only: true });
  // --strict: a warning is as bad as an error; it is moved over so it is reported as one.
  const errors = opts.strict ? [...report.errors, ...report.warnings] : report.errors;
  const warnings = opts.strict ? [] : report.warnings;
  const m = report.metainfo;
  if (m === undefined || errors.length > 0) {
    return { ...base, metainfo: m, errors, warnings, exitCode: ExitCode.BAD_INPUT };
  }
  if (opts.dataDir === undefined) return { ...base, metainfo: m, warnings, exitCode: ExitCode.OK };
  let data: VerifyReport;
  try {
    data = await checkData(m, opts.dataDir, io, opts.progress);
  } catch (e) {
    return { ...base, metainfo: m, warnings, failure: e instanceof Error ? e.message : String(e), exitCode: dataErrorCode(e) };
  }
  const shared = sharedFailures(m, data);
  const hint = await contentFolderHint(m, data, opts.dataDir, opts.dataGiven);
  return { ...base, metainfo: m, warnings, data, shared, hint, exitCode: data.piecesOk === data.pieceCount ? ExitCode.OK : ExitCode.VERIFY_FAILED };
}

/** Hashes every piece with a progress display on stderr (CLI.md: never on stdout). */
async function checkData(m: Metainfo, dir: string, io: Io, mode: ProgressMode): Promise<VerifyReport> {
  const progress = createProgress(io, { mode, total: m.pieceCount, label: `verifying ${sanitize(m.name)}` });
  let done = 0;
  try {
    return await verifyData(m, dir, {
      ...(io.signal ? { signal: io.signal } : {}),
      onPiece: () => progress.update(++done),
    });
  } finally {
    progress.stop();
  }
}

/**
 * An error while hashing: the shared table's code (CODEC_IO is a disk error there), an abort
 * without a code is an interrupt (130), and one the table does not know is taken as the disk's (5).
 */
function dataErrorCode(e: unknown): number {
  if (e instanceof Error && e.name === 'AbortError') return ExitCode.INTERRUPTED;
  const mapped = exitCodeFor(e);
  return mapped === ExitCode.FAILURE ? ExitCode.DISK : mapped;
}
