import { CommandError, ExitCode, reportError, reportWarning, sanitize, type Io } from '@tc/cli';
import type { Magnet, Metainfo } from '@tc/codec';
import { EngineError, type PeerAddress, type Session } from '@tc/engine';
import { trackerFailures } from './render.js';

/** How often the metadata fetch's status line is refreshed (printed only when it changes). */
export const METADATA_STATUS_INTERVAL_MS = 1_000;

export interface AwaitMetadataOptions {
  readonly io: Io;
  /** Prints a progress line (stderr), or nothing when the command is quiet. */
  readonly say: (line: string) => void;
  readonly session: Session;
  readonly peers: readonly PeerAddress[];
  readonly maxPeers: number;
  /** Give up when no peer has offered the metadata after this many seconds. */
  readonly noPeersS: number;
  readonly quiet: boolean;
  readonly verbose: boolean;
  /** The hint under the no-peers error (what the command's options offer); a generic one by default. */
  readonly noPeersHint?: string;
}

/** What the DHT did for a fetch that found no one, for the error line. */
function dhtSummary(session: Session): string {
  const d = session.dht;
  if (d === undefined) return 'DHT off';
  return `DHT: ${d.nodes[4] + d.nodes[6]} nodes, ${d.lookups} lookups, ${d.peersFound} peers found`;
}

/**
 * Fetches a magnet link's metadata from peers (BEP 9, the engine's fetch: trackers, `x.pe`, the
 * DHT when the session has one) with a status line, and returns the metainfo, or the exit code
 * after printing why not: 4 when no peer offered it within `noPeersS` (or the peers that offer it
 * sent none of it by then: they reject every request, issue 15), 130 on a signal, 3 for a
 * hostile torrent. The session stays the caller's (closing it ends the fetch). Shared by
 * tc-download and tc-fetch.
 */
export async function awaitMetadata(magnet: Magnet, o: AwaitMetadataOptions): Promise<Metainfo | number> {
  const fetch = o.session.fetchMetadata(magnet, { maxPeers: o.maxPeers, peers: o.peers });
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
  let onAbort: (() => void) | undefined;
  const outcome = await new Promise<Metainfo | 'interrupted' | 'no-peers' | EngineError>((resolveOutcome) => {
    onAbort = (): void => resolveOutcome('interrupted');
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
    }, METADATA_STATUS_INTERVAL_MS);
  });
  clearInterval(timer);
  if (onAbort) o.io.signal?.removeEventListener('abort', onAbort);
  if (outcome === 'interrupted') {
    if (!o.quiet) o.io.stderr.write('interrupted while fetching the metadata\n');
    return ExitCode.INTERRUPTED;
  }
  if (outcome === 'no-peers') {
    const st = fetch.stats();
    const trackers = fetch.trackerStatus();
    const finding = fetch.diagnose()[0];
    const tracked = `trackers: ${trackers.length === 0 ? 'the magnet link lists none' : trackerFailures(trackers)}; ${dhtSummary(o.session)}`;
    const why =
      st.sources > 0 && finding !== undefined
        ? `${sanitize(finding.text)}; ${tracked}`
        : `${st.peers} peer${st.peers === 1 ? '' : 's'} connected, none offering it; ${tracked}`;
    return reportError(
      o.io,
      new CommandError(`no peer sent the metadata within ${o.noPeersS} s (${why})`, ExitCode.NETWORK, {
        hint: o.noPeersHint ?? 'add a peer that has the torrent with --peer HOST:PORT (or x.pe= in the link), or use the .torrent file',
      }),
      { verbose: o.verbose },
    );
  }
  if (outcome instanceof EngineError) {
    return reportError(o.io, outcome, { what: 'magnet link', verbose: o.verbose });
  }
  return outcome;
}
