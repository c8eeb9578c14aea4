import { resolve } from 'node:path';
import { commandParser, parseCommand, parseSize, UsageError, type Io } from '@tc/cli';
import type { Metainfo } from '@tc/codec';
import { parseSelection, SelectionError } from '@tc/engine';
import { readJobFlags, readWebSeeds, withJobFlags, withOrderFlag, withWebSeedFlag, type JobFlags } from '@tc/job/cli';

const USAGE = `$0 FILE.torrent|URL|MAGNET [options]

Downloads a torrent into a folder, verifying every piece (SHA-1) before it counts, and exits when done.
A magnet link's metadata is fetched from its peers first (BEP 9) and saved as HASH.torrent in the
download folder, where the next run finds it (so resuming works as for a .torrent).`;

const EPILOGUE = `Exit codes: 0 done · 1 failure · 2 usage · 3 invalid or hostile torrent · 4 no peers or network
failure · 5 disk error (full, read-only, unwritable folder; with --seed, exits once seeding what it
verified ends) · 130 interrupted (Ctrl-C; a second one forces exit).`;

/** tc-download's arguments, read and checked. */
export interface DownloadArgs extends JobFlags {
  /** The .torrent path, URL or magnet link, as given. */
  readonly source: string;
  /** `-o`: the download folder, absolute. */
  readonly dir: string;
  readonly json: boolean;
  readonly verbose: boolean;
  /** `--select` as given (read against the torrent's files once they are known). */
  readonly select: string | undefined;
  readonly list: boolean;
  readonly limitDownBps: number | undefined;
  /** `--sequential`: pieces in index order. */
  readonly sequential: boolean;
  /** `--web-seed URL` (repeatable), checked (BEP 19). */
  readonly webSeeds: readonly string[];
}

/** Parses argv; undefined when --help or --version was shown. Mistakes are UsageErrors (exit 2). */
export async function parseDownloadArgs(argv: readonly string[], io: Io): Promise<DownloadArgs | undefined> {
  const parser = withWebSeedFlag(
    withOrderFlag(
      withJobFlags(
        commandParser('tc-download', USAGE).option('output', { alias: 'o', type: 'string', describe: 'download folder (default: the current folder)' }),
        'once done, seed: until interrupted (--seed), to a ratio (--seed 2) or for a time (--seed 30m)',
      ),
    ),
  )
    .option('select', { type: 'string', describe: 'download only these files: indices (0,2-5) or globs (*.flac), comma-separated; see --list' })
    .option('list', { type: 'boolean', default: false, describe: 'print the files with their indices and exit' })
    .option('limit-down', { type: 'string', describe: 'download rate limit, bytes/s with a unit (5M, 500k); default: none' })
    .example('$0 ubuntu.torrent -o ~/Downloads', 'download into ~/Downloads')
    // Too long for yargs' column: on a line of its own, as withExamples lays it out (no mid-command wrap, issue 17).
    .example('# private swarm, JSON status for scripts:', '')
    .example('$0 x.torrent --peer 127.0.0.1:51413 --json', '')
    .epilogue(EPILOGUE);
  const args = await parseCommand(parser, argv, io);
  if (!args) return undefined;
  const sources = args._.map(String);
  if (sources.length !== 1) throw new UsageError('give exactly one .torrent file, URL or magnet link', 'run tc-download --help for usage');
  const flags = readJobFlags(args, io.cwd, io.env);
  const limitDownBps = args['limit-down'] !== undefined ? parseSize(String(args['limit-down']), '--limit-down') : undefined;
  return {
    ...flags,
    source: sources[0]!,
    dir: resolve(io.cwd, args.output ?? '.'),
    json: args.json,
    verbose: args.verbose,
    select: args.select,
    list: args.list,
    limitDownBps,
    sequential: args.sequential,
    webSeeds: readWebSeeds(args['web-seed'].map(String)),
  };
}

/** `--select` read against the torrent's files (a bad one is a usage error). */
export function readSelection(spec: string, metainfo: Metainfo): number[] {
  try {
    return parseSelection(
      spec,
      metainfo.files.map((f) => ({ path: f.safePath, length: f.length, padding: f.padding })),
    );
  } catch (e) {
    if (e instanceof SelectionError) throw new UsageError(`--select: ${e.message}`, 'see the files and their indices with --list');
    throw e;
  }
}
