import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatBytes, reportWarning, sanitize, writeFileAtomic, type Io } from '@tc/cli';
import { parseMetainfo, toTorrentFile, type Magnet, type Metainfo } from '@tc/codec';
import type { PeerAddress, Session } from '@tc/engine';
import { awaitMetadata } from '@tc/job/cli';

/** Where a magnet's fetched metadata is saved as a .torrent: the download folder, named by info-hash (a later run of the same magnet reads it). */
export function magnetTorrentPath(dir: string, infoHashHex: string): string {
  return join(dir, `${infoHashHex}.torrent`);
}

interface MagnetRun {
  readonly io: Io;
  readonly say: (line: string) => void;
  readonly openSession: () => Promise<Session>;
  readonly peers: readonly PeerAddress[];
  readonly maxPeers: number;
  readonly noPeersS: number;
  readonly quiet: boolean;
  readonly verbose: boolean;
}

/**
 * The metainfo of a magnet link: from the .torrent an earlier run saved in `dir`, else fetched
 * from peers (BEP 9) and saved there. Returns an exit code when it cannot be had: 4 when no peer
 * offered the metadata within the no-peers timeout, 130 on a signal, 3 for a hostile torrent.
 * The session is the caller's: it stays open (on success the torrent takes over the fetch's
 * connections; on failure the caller closes it, which ends the fetch).
 */
export async function metainfoOfMagnet(magnet: Magnet, dir: string, o: MagnetRun): Promise<Metainfo | number> {
  const saved = magnetTorrentPath(dir, magnet.infoHashHex);
  try {
    const m = parseMetainfo(await readFile(saved)).metainfo;
    if (m.infoHash.equals(magnet.infoHash)) {
      o.say(`using the metadata fetched by an earlier run: ${sanitize(saved)}`);
      return m;
    }
  } catch {
    // None yet (or unreadable, or not this torrent): fetch it again.
  }
  const outcome = await awaitMetadata(magnet, {
    io: o.io,
    say: o.say,
    session: await o.openSession(),
    peers: o.peers,
    maxPeers: o.maxPeers,
    noPeersS: o.noPeersS,
    quiet: o.quiet,
    verbose: o.verbose,
    noPeersHint:
      'add a peer that has the torrent with --peer HOST:PORT (or x.pe= in the link), a DHT node with --dht-bootstrap HOST:PORT, or use the .torrent file',
  });
  if (typeof outcome === 'number') return outcome;
  o.say(
    `metadata received: ${sanitize(outcome.name)} (${outcome.files.length} file${outcome.files.length === 1 ? '' : 's'}, ${formatBytes(outcome.totalLength)})`,
  );
  // Saved atomically, so a later run (resume) starts from it without asking peers again.
  try {
    await mkdir(dir, { recursive: true });
    await writeFileAtomic(saved, toTorrentFile(outcome));
  } catch (e) {
    if (!o.quiet) reportWarning(o.io, `cannot save the metadata as ${sanitize(saved)}: ${(e as Error).message}`);
  }
  return outcome;
}
