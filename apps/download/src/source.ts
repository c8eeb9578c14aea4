import { readTorrentArg, reportError, reportWarning, type Io } from '@tc/cli';
import type { Metainfo } from '@tc/codec';
import type { Session } from '@tc/engine';
import type { DownloadArgs } from './args.js';
import { metainfoOfMagnet } from './magnet.js';

/** Longest a URL fetch of a .torrent may take (the shared fetch has 10 s; a busy tracker site gets more). */
export const FETCH_TIMEOUT_MS = 30_000;

/**
 * tc-download's one argument: a .torrent file, an http(s) URL of one, or a magnet link (its
 * metadata from an earlier run's HASH.torrent, else from peers). Returns the exit code, after
 * printing why, when it cannot be had.
 */
export async function readTorrentArgument(args: DownloadArgs, io: Io, openSession: () => Promise<Session>): Promise<Metainfo | number> {
  const say = (line: string): void => {
    if (!args.quiet && !args.json) io.stderr.write(`${line}\n`);
  };
  let arg;
  try {
    arg = await readTorrentArg(args.source, { cwd: io.cwd, signal: io.signal, timeoutMs: FETCH_TIMEOUT_MS, stdin: io.stdin });
  } catch (e) {
    return reportError(io, e, { verbose: args.verbose });
  }
  const where = arg.kind === 'magnet' ? 'magnet link' : args.source;
  if (!args.quiet && !args.json) for (const w of arg.warnings) reportWarning(io, `${where}: ${w.message}`);
  if (arg.kind === 'torrent') return arg.metainfo;
  return metainfoOfMagnet(arg.magnet, args.dir, {
    io,
    say,
    openSession,
    peers: args.peers,
    maxPeers: args.maxPeers,
    noPeersS: args.firstPeerTimeoutS,
    quiet: args.quiet,
    verbose: args.verbose,
  });
}
