import { CommandError, ExitCode, type Io } from '@tc/cli';
import { parseMagnet, toTorrentFile, type Metainfo } from '@tc/codec';
import type { Session } from '@tc/engine';
import { awaitMetadata } from '@tc/job/cli';
import type { FetchArgs } from './args.js';
import { validTorrent } from './web.js';

/**
 * A magnet link's .torrent: its metadata fetched from peers (BEP 9) in the command's session, made
 * into a .torrent file (with the magnet's trackers) and checked like a downloaded one. Returns the
 * exit code when it could not be had (awaitMetadata has printed why).
 */
export async function fetchMagnet(
  link: string,
  args: FetchArgs,
  io: Io,
  session: () => Promise<Session>,
): Promise<{ bytes: Buffer; metainfo: Metainfo } | number> {
  const { magnet } = parseMagnet(link);
  const got = await awaitMetadata(magnet, {
    io,
    say: (line) => {
      if (!args.quiet) io.stderr.write(`${line}\n`);
    },
    session: await session(),
    peers: args.peers,
    maxPeers: args.maxPeers,
    noPeersS: args.metadataTimeoutS,
    quiet: args.quiet,
    verbose: args.verbose,
  });
  if (typeof got === 'number') return got;
  const bytes = toTorrentFile(got);
  const metainfo = validTorrent(bytes);
  if (!metainfo.infoHash.equals(magnet.infoHash)) throw new CommandError('the metadata does not match the magnet link’s info-hash', ExitCode.BAD_INPUT);
  return { bytes, metainfo };
}
