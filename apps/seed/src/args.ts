import { resolve } from 'node:path';
import { commandParser, parseCommand, UsageError, type Io } from '@tc/cli';
import { DEFAULT_FIRST_PEER_TIMEOUT_S, readJobFlags, withJobFlags, type JobFlags } from '@tc/job/cli';

const USAGE = `$0 TORRENT DATA [options]

Verifies the data (DATA: the folder holding the torrent's file or folder) against the torrent, then
seeds it until interrupted (or --seed RATIO|TIME), with a status line of upload rate, ratio and peers.`;

const EPILOGUE = `Exit codes: 0 stopped (Ctrl-C or the --seed goal) · 2 usage · 3 invalid torrent · 4 network
failure · 5 disk error · 6 the data does not match the torrent (not every piece verified).`;

/** tc-seed's arguments, read and checked. */
export interface SeedArgs extends JobFlags {
  /** The .torrent path or URL, as given. */
  readonly source: string;
  /** DATA, absolute, as given (it may name the torrent's own file or folder). */
  readonly data: string;
  readonly json: boolean;
  readonly verbose: boolean;
}

/** Parses argv; undefined when --help or --version was shown. Mistakes are UsageErrors (exit 2). */
export async function parseSeedArgs(argv: readonly string[], io: Io): Promise<SeedArgs | undefined> {
  const parser = withJobFlags(commandParser('tc-seed', USAGE), 'stop at a ratio (2) or after a time (30m, 1h); default: until interrupted')
    // A seeder waits for peers as long as it seeds: the shared flag has no meaning here (issue 17).
    .option('first-peer-timeout', { type: 'number', hidden: true, default: undefined })
    .example('$0 ubuntu.torrent ~/Downloads', 'seed ~/Downloads/ubuntu…iso')
    .example('$0 x.torrent . --seed 2', 'seed until twice the size is uploaded')
    .epilogue(EPILOGUE);
  const args = await parseCommand(parser, argv, io);
  if (!args) return undefined;
  const sources = args._.map(String);
  if (sources.length !== 2) throw new UsageError('give a .torrent file (or URL) and the DATA folder', 'run tc-seed --help for usage');
  if (args['first-peer-timeout'] !== undefined) {
    throw new UsageError('--first-peer-timeout: tc-seed waits for peers as long as it seeds', 'to stop after a while, give --seed a time (--seed 30m)');
  }
  return {
    ...readJobFlags({ ...args, 'first-peer-timeout': DEFAULT_FIRST_PEER_TIMEOUT_S, firstPeerTimeout: DEFAULT_FIRST_PEER_TIMEOUT_S }, io.cwd, io.env),
    source: sources[0]!,
    data: resolve(io.cwd, sources[1]!),
    json: args.json,
    verbose: args.verbose,
  };
}
