import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import {
  colours,
  commandParser,
  CommandError,
  createProgress,
  ExitCode,
  exitCodeFor,
  formatBytes,
  parseCommand,
  positionals,
  reportError,
  UsageError,
  writeFileAtomic,
  writeJson,
  type Io,
  type Progress,
  type ProgressMode,
} from '@tc/cli';
import { checkUrl, isCodecError, MAX_PIECE_LENGTH_BYTES, parseMetainfo, safeFileName, toMagnet, TRACKER_PROTOCOLS, WEB_SEED_PROTOCOLS } from '@tc/codec';
import { choosePieceLength, createTorrent, defaultThreads, type TorrentVersion } from '@tc/create';
import { createJson, renderCreate, type CreateResult } from './render.js';

const USAGE = `$0 PATH [-o OUT] [options]

Makes a .torrent from a file or a folder: hybrid by default (v1 and v2 in one torrent, as
libtorrent 2 and qBittorrent make them), or v1 only (--v1) or v2 only (--v2). The data is read once
and hashed on every core. Writes OUT (default NAME.torrent in the current folder) atomically, and
never replaces a file unless --force is given.`;

const EPILOGUE = `Exit codes:
  0    written
  2    usage: a bad flag, size or URL, PATH missing, OUT exists without --force
  3    PATH cannot make a torrent: no files, only empty files, a symlink (see --symlinks), a name a torrent cannot hold
  5    disk error: a file could not be read, OUT could not be written
  130  interrupted`;

/** Smallest piece size we accept (BEP 52's 16 KiB block; mktorrent and libtorrent refuse smaller too). */
const MIN_PIECE_BYTES = 16 * 1024;
/** Most hashing threads one may ask for. */
const MAX_THREADS = 64;

export async function run(argv: string[], io: Io): Promise<number> {
  const parser = commandParser('tc-create', USAGE)
    .option('output', { alias: 'o', type: 'string', describe: 'where to write the .torrent (default NAME.torrent here)' })
    .option('v1', { type: 'boolean', default: false, describe: 'v1 only (BEP 3): for clients without BEP 52' })
    .option('v2', { type: 'boolean', default: false, describe: 'v2 only (BEP 52): no SHA-1 pieces' })
    .option('tracker', {
      alias: 't',
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'tracker URL (repeatable; each is a tier, commas join a tier)',
    })
    .option('web-seed', { alias: 'w', type: 'string', array: true, default: [] as string[], describe: 'web seed URL (BEP 19, repeatable)' })
    .option('private', { alias: 'p', type: 'boolean', default: false, describe: 'private torrent (BEP 27): no DHT or peer exchange' })
    .option('piece-size', { alias: 's', type: 'string', describe: 'bytes per piece, a power of two: 256k, 1M (default chosen from the total size)' })
    .option('name', { alias: 'n', type: 'string', describe: 'torrent name (default the name of PATH)' })
    .option('comment', { alias: 'c', type: 'string', describe: 'comment' })
    .option('source', { type: 'string', describe: 'info.source (private trackers use it to give the torrent its own info-hash)' })
    .option('created-by', { type: 'string', default: 'tc 0.1.0', describe: "'created by' (empty: none)" })
    .option('date', { type: 'boolean', default: true, describe: 'write the creation date (--no-date: none, for reproducible output)' })
    .option('include', { type: 'string', array: true, default: [] as string[], describe: 'only files matching this glob (* ? **; repeatable)' })
    .option('exclude', { type: 'string', array: true, default: [] as string[], describe: 'leave out files and folders matching this glob (repeatable)' })
    .option('hidden', { type: 'boolean', default: false, describe: 'include hidden files and folders (names starting with a dot)' })
    .option('symlinks', {
      choices: ['refuse', 'skip', 'follow'] as const,
      default: 'refuse' as 'refuse' | 'skip' | 'follow',
      describe: 'symlinks in PATH: refuse them, leave them out, or follow those that stay inside PATH',
    })
    .option('follow-symlinks', { type: 'boolean', default: false, describe: 'same as --symlinks follow' })
    .option('force', { alias: 'f', type: 'boolean', default: false, describe: 'replace OUT if it exists' })
    .option('threads', { type: 'number', describe: `hashing threads (default one per core: ${defaultThreads()})` })
    .option('progress', {
      choices: ['auto', 'bar', 'plain', 'none'] as const,
      default: 'auto' as ProgressMode,
      describe: 'hashing progress on stderr: a bar on a terminal, else a line every 5 s',
    })
    .example('$0 ~/share/album -t udp://tracker.example:1337/announce', 'hybrid torrent of a folder')
    .example('$0 big.iso --v1 -s 4M -p -t https://t.example/announce -o big.torrent', 'private v1 torrent, 4 MiB pieces')
    .epilogue(EPILOGUE);
  const args = await parseCommand(parser, argv, io);
  if (!args) return ExitCode.OK;
  const [input] = positionals(args, { command: 'tc-create', what: 'file or folder', min: 1, max: 1 });
  if (args.v1 && args.v2) throw new UsageError('--v1 and --v2 exclude each other', 'give neither for a hybrid torrent (both in one)');
  const version: TorrentVersion = args.v1 ? 'v1' : args.v2 ? 'v2' : 'hybrid';
  const pieceLength = args.pieceSize === undefined ? undefined : pieceSizeArg(args.pieceSize);
  const trackers = args.tracker.map((t, i) =>
    t
      .split(',')
      .map((u) => u.trim())
      .filter((u) => u !== '')
      .map((u) => urlArg(u, TRACKER_PROTOCOLS, `--tracker #${i + 1}`)),
  );
  const webSeeds = args.webSeed.map((u, i) => urlArg(u, WEB_SEED_PROTOCOLS, `--web-seed #${i + 1}`));
  if (args.threads !== undefined && (!Number.isInteger(args.threads) || args.threads < 1 || args.threads > MAX_THREADS)) {
    throw new UsageError(`--threads ${args.threads}: give a whole number from 1 to ${MAX_THREADS}`);
  }

  const path = resolve(io.cwd, input!);
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new UsageError(`${input}: no such file or folder`);
  const name = args.name ?? basename(path);
  const output = resolve(io.cwd, args.output ?? `${safeFileName(name)}.torrent`);
  const existing = await stat(output).catch(() => undefined);
  if (existing?.isDirectory()) throw new UsageError(`${args.output ?? output}: is a folder`, 'give the .torrent file to write with -o');
  if (existing && !args.force) throw new UsageError(`${args.output ?? output}: already exists`, 'add --force to replace it, or choose another name with -o');

  let progress: Progress | undefined;
  const started = Date.now();
  let bytes: Buffer;
  try {
    bytes = await createTorrent({
      path,
      version,
      name,
      ...(pieceLength !== undefined ? { pieceLength } : {}),
      trackers,
      webSeeds,
      private: args.private,
      ...(args.comment !== undefined ? { comment: args.comment } : {}),
      ...(args.source !== undefined ? { source: args.source } : {}),
      createdBy: args.createdBy === '' ? null : args.createdBy,
      creationDate: args.date ? new Date() : null,
      symlinks: args.followSymlinks ? 'follow' : args.symlinks,
      hidden: args.hidden,
      include: args.include,
      exclude: args.exclude,
      // A .torrent written into the folder it describes (a second run with --force) is not part of it.
      skipPaths: [output],
      ...(args.threads !== undefined ? { threads: args.threads } : {}),
      ...(io.signal ? { signal: io.signal } : {}),
      onProgress: (done, total) => {
        progress ??= createProgress(io, { mode: args.progress, total: Math.ceil(total / MIB), label: 'hashing (MiB)' });
        progress.update(done === total ? Math.ceil(total / MIB) : Math.floor(done / MIB));
      },
    });
  } catch (e) {
    if (io.signal?.aborted) {
      io.stderr.write('interrupted: nothing written\n');
      return ExitCode.INTERRUPTED;
    }
    return reportError(io, explain(e), { what: input!, verbose: args.verbose });
  } finally {
    progress?.stop();
  }
  const seconds = (Date.now() - started) / 1000;
  // Read back what we are about to write: what a user's client will see.
  const { metainfo } = parseMetainfo(bytes, { allowV2Only: true });
  try {
    await writeFileAtomic(output, bytes);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const why = code === 'ENOENT' ? 'its folder does not exist' : code === 'EACCES' ? 'permission denied' : undefined;
    const err = why ? new CommandError(`cannot write: ${why}`, ExitCode.DISK, { cause: e }) : e;
    return reportError(io, err, { what: args.output ?? output, verbose: args.verbose });
  }
  const result: CreateResult = {
    output,
    metainfo,
    pieceLengthChosen: pieceLength === undefined,
    magnet: toMagnet(metainfo),
    seconds,
  };
  if (args.json) writeJson(io, createJson(result));
  else io.stdout.write(renderCreate(result, { chalk: colours(args.color, io, io.stdout), verbose: args.verbose }));
  return ExitCode.OK;
}

const MIB = 1024 * 1024;

/** `--piece-size`: a power of two from 16 KiB to the largest piece any parser accepts. */
function pieceSizeArg(text: string): number {
  const n = parseSizeArg(text);
  if (n < MIN_PIECE_BYTES || n > MAX_PIECE_LENGTH_BYTES || (n & (n - 1)) !== 0) {
    throw new UsageError(
      `--piece-size ${text}: give a power of two from 16k to ${MAX_PIECE_LENGTH_BYTES / MIB}M`,
      `leave it out to have one chosen (e.g. ${formatBytes(choosePieceLength(1024 * MIB))} for 1 GiB)`,
    );
  }
  return n;
}

function parseSizeArg(text: string): number {
  const m = /^\s*(\d+)\s*([kmg]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) throw new UsageError(`--piece-size: cannot read ${JSON.stringify(text)} as a size`, 'use a number with an optional unit: 256k, 1M');
  const unit = { '': 1, k: 1024, m: MIB, g: 1024 * MIB }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * unit;
}

function urlArg(url: string, protocols: ReadonlySet<string>, what: string): string {
  const r = checkUrl(url, protocols);
  if ('why' in r) throw new UsageError(`${what} ${JSON.stringify(url)} ${r.why}`);
  return r.url;
}

/** A failure of createTorrent with the hint a tc-create user needs (the shared hints are a reader's). */
function explain(e: unknown): unknown {
  if (!isCodecError(e)) return e;
  const hint =
    e.code === 'CODEC_UNSAFE_PATH' && e.field === 'name'
      ? 'give a plain name with --name (no / or \\, not . or ..)'
      : e.code === 'CODEC_UNSAFE_PATH' && /symlink|links? /.test(e.message)
        ? 'leave symlinks out with --symlinks skip, or follow those inside the folder with --follow-symlinks'
        : e.code === 'CODEC_UNSAFE_PATH'
          ? 'rename it, or leave it out with --exclude'
          : e.code === 'CODEC_EMPTY_FILE_LIST' || e.code === 'CODEC_BAD_LENGTH'
            ? 'a torrent needs at least one non-empty file (hidden files need --hidden)'
            : e.code === 'CODEC_TOO_MANY_PIECES'
              ? 'choose a larger --piece-size'
              : undefined;
  return new CommandError(e.message, exitCodeFor(e), { cause: e, ...(hint !== undefined ? { hint } : {}) });
}
