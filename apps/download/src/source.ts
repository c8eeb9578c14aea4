import { readFileOrUrl, reportError, reportWarning, type Io } from '@tc/cli';
import { MAX_TORRENT_BYTES, parseMagnet, parseMetainfo, type Magnet, type Metainfo } from '@tc/codec';
import type { Session } from '@tc/engine';
import type { DownloadArgs } from './args.js';
import { metainfoOfMagnet } from './magnet.js';

/** Longest a URL fetch of a .torrent may take (the shared fetch has 10 s; a busy tracker site gets more). */
const FETCH_TIMEOUT_MS = 30_000;

/**
 * tc-download's one argument: a .torrent file, an http(s) URL of one, or a magnet link (its
 * metadata from an earlier run's HASH.torrent, else from peers). Returns the exit code, after
 * printing why, when it cannot be had.
 */
export async function readTorrentArgument(args: DownloadArgs, io: Io, openSession: () => Promise<Session>): Promise<Metainfo | number> {
  const { source } = args;
  const say = (line: string): void => {
    if (!args.quiet && !args.json) io.stderr.write(`${line}\n`);
  };
  if (/^magnet:\?/i.test(source.trim())) {
    let magnet: Magnet;
    try {
      const parsed = parseMagnet(source);
      magnet = parsed.magnet;
      if (!args.quiet && !args.json) for (const w of parsed.warnings) reportWarning(io, `magnet link: ${w.message}`);
    } catch (e) {
      return reportError(io, e, { what: 'magnet link', verbose: args.verbose });
    }
    return metainfoOfMagnet(magnet, args.dir, {
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
  const bytes = await readFileOrUrl(source, { cwd: io.cwd, maxBytes: MAX_TORRENT_BYTES, timeoutMs: FETCH_TIMEOUT_MS, signal: io.signal });
  try {
    const parsed = parseMetainfo(bytes);
    if (!args.quiet && !args.json) for (const w of parsed.warnings) reportWarning(io, `${source}: ${w.message}`);
    return parsed.metainfo;
  } catch (e) {
    return reportError(io, e, { what: source, verbose: args.verbose });
  }
}
