import { ExitCode, worstExitCode, type Io } from '@tc/cli';
import type { Session } from '@tc/engine';
import { openSession } from '@tc/job/cli';
import { parseFetchArgs } from './args.js';
import { loadCatalog, pickEntries, printCatalog } from './catalog.js';
import { fetchItem, type ItemOptions } from './item.js';
import { printResult } from './render.js';
import { runFeed } from './watch.js';

/** `tc-fetch`: saves .torrent files from URLs, magnet links, the catalogue or a feed. Returns the exit code. */
export async function run(argv: string[], io: Io): Promise<number> {
  const args = await parseFetchArgs(argv, io);
  if (args === undefined) return ExitCode.OK;
  // One session for every magnet link, opened on first use (URLs need none).
  let opening: Promise<Session> | undefined;
  const session = (): Promise<Session> => (opening ??= openSession({ port: 0, listen: args.listen, dht: args.dht, dhtBootstrap: args.dhtBootstrap }));
  try {
    if (args.feed !== undefined) return await runFeed(args, io, session);
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
