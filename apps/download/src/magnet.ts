import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CommandError, ExitCode, formatBytes, reportError, reportWarning, sanitize, writeFileAtomic, type Io } from '@tc/cli';
import { parseMetainfo, toTorrentFile, type Magnet, type Metainfo } from '@tc/codec';
import { EngineError, type PeerAddress, type Session } from '@tc/engine';
import { trackerFailures } from '@tc/job/cli';

/** How often the metadata fetch's status line is refreshed (printed only when it changes). */
const FETCH_STATUS_INTERVAL_MS = 1_000;

/** Where a magnet's fetched metadata is saved as a .torrent: the download folder, named by info-hash (a later run of the same magnet reads it). */
export function magnetTorrentPath(dir: string, infoHashHex: string): string {
  return join(dir, `${infoHashHex}.torrent`);
}

/** What the DHT did for a fetch that found no one, for the error line. */
function dhtSummary(session: Session): string {
  const d = session.dht;
  if (d === undefined) return 'DHT off';
  return `DHT: ${d.nodes[4] + d.nodes[6]} nodes, ${d.lookups} lookups, ${d.peersFound} peers found`;
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
  const session = await o.openSession();
  const fetch = session.fetchMetadata(magnet, { maxPeers: o.maxPeers, peers: o.peers });
  fetch.on('peer-banned', (e) => {
    if (!o.quiet) reportWarning(o.io, `banned peer ${e.address}: ${e.reason}`);
  });
  fetch.on('warning', (w) => {
    // Metadata problems (a size over the cap, data that does not hash) are shown; the rest with --verbose.
    if (!o.quiet && (o.verbose || w.message.includes('metadata'))) reportWarning(o.io, sanitize(w.peer !== undefined ? `${w.peer}: ${w.message}` : w.message));
  });
  const started = performance.now();
  const label = sanitize(magnet.name ?? magnet.infoHashHex).slice(0, 60);
  let timer: NodeJS.Timeout | undefined;
  let shown = '';
  const show = (): void => {
    const st = fetch.stats();
    const line = `fetching metadata of ${label} from ${st.peers} peer${st.peers === 1 ? '' : 's'}…${st.pieceCount > 0 ? ` (${st.piecesHave}/${st.pieceCount} pieces)` : ''}`;
    if (line !== shown) o.say(line);
    shown = line;
  };
  show();
  const outcome = await new Promise<Metainfo | 'interrupted' | 'no-peers' | EngineError>((resolveOutcome) => {
    const onAbort = (): void => resolveOutcome('interrupted');
    if (o.io.signal?.aborted) return onAbort();
    o.io.signal?.addEventListener('abort', onAbort, { once: true });
    fetch.metadata.then(resolveOutcome, (e: unknown) => resolveOutcome(e instanceof EngineError ? e : new EngineError('ENGINE_BAD_TORRENT', String(e))));
    timer = setInterval(() => {
      show();
      // Give up like a .torrent download does, when nobody has offered the metadata by then, or
      // the peers that offer it send none of it (they reject every request: issue 15).
      const st = fetch.stats();
      const stuck = st.sources === 0 || (st.piecesHave === 0 && fetch.diagnose().length > 0);
      if (stuck && (performance.now() - started) / 1000 > o.noPeersS) resolveOutcome('no-peers');
    }, FETCH_STATUS_INTERVAL_MS);
  });
  clearInterval(timer);
  if (outcome === 'interrupted') {
    if (!o.quiet) o.io.stderr.write('interrupted while fetching the metadata\n');
    return ExitCode.INTERRUPTED;
  }
  if (outcome === 'no-peers') {
    const st = fetch.stats();
    const trackers = fetch.trackerStatus();
    const finding = fetch.diagnose()[0];
    const tracked = `trackers: ${trackers.length === 0 ? 'the magnet link lists none' : trackerFailures(trackers)}; ${dhtSummary(session)}`;
    const why =
      st.sources > 0 && finding !== undefined
        ? `${sanitize(finding.text)}; ${tracked}`
        : `${st.peers} peer${st.peers === 1 ? '' : 's'} connected, none offering it; ${tracked}`;
    return reportError(
      o.io,
      new CommandError(`no peer sent the metadata within ${o.noPeersS} s (${why})`, ExitCode.NETWORK, {
        hint: 'add a peer that has the torrent with --peer HOST:PORT (or x.pe= in the link), a DHT node with --dht-bootstrap HOST:PORT, or use the .torrent file',
      }),
      { verbose: o.verbose },
    );
  }
  if (outcome instanceof EngineError) {
    return reportError(o.io, outcome, { what: 'magnet link', verbose: o.verbose });
  }
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
