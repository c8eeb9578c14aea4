import { CommandError, ExitCode, isMagnet, isWebUrl, type Io } from '@tc/cli';
import type { Session } from '@tc/engine';
import type { FetchArgs } from './args.js';
import { addToDaemon } from './add-to.js';
import { fetchMagnet } from './magnet.js';
import { addedResult, failedResult, savedResult, type ItemResult } from './result.js';
import { saveTorrent } from './save.js';
import { fetchTorrent } from './web.js';

export interface ItemOptions {
  /** The SSRF guard for URLs from the network; undefined for the user's own. */
  readonly allowAddress?: ((ip: string) => boolean) | undefined;
  /** What the result names as its source (a catalogue entry's name, say); default the URL. */
  readonly label?: string;
  /** The info-hash the torrent must have (a catalogue's pin): another one is refused, exit 6. */
  readonly infoHash?: string | undefined;
}

/** Fetches, validates and saves one URL or magnet link (or hands it to the --add-to daemon); never throws (a failure is a result). */
export async function fetchItem(source: string, args: FetchArgs, io: Io, session: () => Promise<Session>, o: ItemOptions = {}): Promise<ItemResult> {
  const label = o.label ?? source;
  try {
    let got;
    if (isMagnet(source)) {
      got = await fetchMagnet(source, args, io, session);
      if (typeof got === 'number') return { ...failedResult(label, new Error('no metadata (see above)'), got), reported: true };
    } else if (isWebUrl(source)) {
      got = await fetchTorrent(source, { timeoutMs: args.timeoutMs, signal: io.signal, allowAddress: o.allowAddress });
    } else {
      throw new CommandError('not an http(s) URL or a magnet link', ExitCode.USAGE, {
        hint: 'tc-fetch saves torrents from the web or from peers; a local file needs no fetching',
      });
    }
    if (o.infoHash !== undefined && got.metainfo.infoHashHex !== o.infoHash) {
      throw new CommandError(`its info-hash is ${got.metainfo.infoHashHex}, not the pinned ${o.infoHash}`, ExitCode.VERIFY_FAILED, {
        hint: 'the file changed at its source; nothing was saved (update the catalogue if the new one is genuine)',
      });
    }
    if (args.addTo !== undefined) {
      const added = await addToDaemon(args.addTo, got.bytes, { timeoutMs: args.timeoutMs, signal: io.signal });
      return addedResult(label, got.metainfo, args.addTo.url, added.isNew);
    }
    return savedResult(label, got.metainfo, await saveTorrent(args.dir, got.metainfo, got.bytes, args.force));
  } catch (e) {
    return failedResult(label, e);
  }
}
