import { CommandError, ExitCode, isMagnet, isWebUrl, worstExitCode, type Io } from '@tc/cli';
import type { Session } from '@tc/engine';
import { openSession } from '@tc/job/cli';
import { parseFetchArgs, type FetchArgs } from './args.js';
import { loadCatalog, pickEntries, printCatalog } from './catalog.js';
import { fetchMagnet } from './magnet.js';
import { printResult } from './render.js';
import { failedResult, savedResult, type ItemResult } from './result.js';
import { saveTorrent } from './save.js';
import { fetchTorrent } from './web.js';

/** `tc-fetch`: saves .torrent files from URLs, magnet links, the catalogue or a feed. Returns the exit code. */
export async function run(argv: string[], io: Io): Promise<number> {
  const args = await parseFetchArgs(argv, io);
  if (args === undefined) return ExitCode.OK;
  // One session for every magnet link, opened on first use (URLs need none).
  let opening: Promise<Session> | undefined;
  const session = (): Promise<Session> => (opening ??= openSession({ port: 0, listen: args.listen }));
  try {
    let items: { source: string; options: ItemOptions }[] = args.sources.map((source) => ({ source, options: {} }));
    if (args.catalog) {
      const catalog = await loadCatalog(args.catalogFile);
      if (args.sources.length === 0) {
        printCatalog(io, catalog, args.json);
        return ExitCode.OK;
      }
      items = pickEntries(catalog, args.sources).map((e) => ({ source: e.url, options: { label: e.name, infoHash: e.infoHash } }));
    }
    const codes: number[] = [];
    for (const { source, options } of items) {
      if (io.signal?.aborted) return ExitCode.INTERRUPTED;
      const r = await fetchItem(source, args, io, session, options);
      printResult(io, r, args.json);
      codes.push(r.exitCode);
    }
    return worstExitCode(codes);
  } finally {
    await (await opening?.catch(() => undefined))?.close();
  }
}

export interface ItemOptions {
  /** The SSRF guard for URLs from the network; undefined for the user's own. */
  readonly allowAddress?: ((ip: string) => boolean) | undefined;
  /** What the result names as its source (a catalogue entry's name, say); default the URL. */
  readonly label?: string;
  /** The info-hash the torrent must have (a catalogue's pin): another one is refused, exit 6. */
  readonly infoHash?: string | undefined;
}

/** Fetches, validates and saves one URL or magnet link; never throws (a failure is a result). */
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
    return savedResult(label, got.metainfo, await saveTorrent(args.dir, got.metainfo, got.bytes, args.force));
  } catch (e) {
    return failedResult(label, e);
  }
}
