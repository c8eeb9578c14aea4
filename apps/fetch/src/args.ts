import { resolve } from 'node:path';
import { commandParser, parseCommand, timeoutMs, UsageError, type Io } from '@tc/cli';
import type { PeerAddress } from '@tc/engine';
import { DEFAULT_FIRST_PEER_TIMEOUT_S, MAX_COMMAND_PEERS, parsePeer, readDhtBootstrap } from '@tc/job/cli';
import { parseAddTo, type DaemonTarget } from './add-to.js';

const USAGE = `$0 URL|MAGNET... -o DIR
$0 --catalog [NAME... -o DIR]
$0 --feed URL -o DIR [--match REGEX] [--every 15m] [--once]
$0 URL|MAGNET...|--catalog NAME...|--feed URL --add-to http://HOST:PORT [--add-to-auth USER:PASS]

Saves .torrent files into a folder: downloaded over http(s), made from a magnet link's metadata
(fetched from peers, BEP 9; no data is downloaded), taken from a built-in catalogue of legal test
torrents, or picked from an RSS or Atom feed. Every file saved has passed tc-validate's checks and
is named after the torrent (NAME.torrent); a different file already there is kept unless --force.
With --add-to each torrent is handed to a running tc-daemon instead of being saved.`;

const EPILOGUE = `Exit codes: 0 ok · 1 a different file is in the way (use --force) · 2 usage · 3 not a torrent,
invalid or hostile, or too large · 4 network: HTTP error, timeout, redirect loop, no peer sent the
metadata, or the --add-to daemon unreachable · 5 disk · 130 interrupted. The daemon refusing a torrent
or the credentials is 1. With several items each is reported and the highest code wins.`;

/** Default and bounds of --every: a feed is not polled more often than once a minute. */
export const DEFAULT_EVERY_S = 15 * 60;
export const MIN_EVERY_S = 60;
export const MAX_EVERY_S = 7 * 24 * 3600;
/** Default seconds for one URL fetch (a busy site gets more than the shared 10 s). */
export const DEFAULT_TIMEOUT_S = 30;
/** Longest --match pattern: a regular expression from the command line, not a program. */
const MAX_MATCH_CHARS = 500;

export interface FetchArgs {
  readonly sources: readonly string[];
  /** `-o`, absolute. */
  readonly dir: string;
  readonly force: boolean;
  readonly json: boolean;
  readonly verbose: boolean;
  readonly quiet: boolean;
  readonly timeoutMs: number;
  /** `--catalog` given (list, or fetch the named entries). */
  readonly catalog: boolean;
  /** `--catalog-file`: another catalogue (tests; a private list), absolute. */
  readonly catalogFile: string | undefined;
  readonly feed: string | undefined;
  readonly match: RegExp | undefined;
  readonly everyS: number;
  readonly once: boolean;
  /** Let feed items point at private and loopback addresses. */
  readonly allowPrivate: boolean;
  readonly peers: readonly PeerAddress[];
  readonly listen: string | undefined;
  readonly maxPeers: number;
  readonly metadataTimeoutS: number;
  /** magnet: run a DHT node (`--no-dht`: not). */
  readonly dht: boolean;
  /** magnet: DHT nodes to join (--dht-bootstrap, else TC_DHT_BOOTSTRAP); undefined: the public routers. */
  readonly dhtBootstrap: readonly string[] | undefined;
  /** `--add-to`: hand each torrent to this tc-daemon instead of saving it. */
  readonly addTo: DaemonTarget | undefined;
}

/** `15m`, `1h`, `90s`, `2d` or plain seconds. */
export function parseDuration(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$/i.exec(text.trim());
  if (!m) throw new UsageError(`${option}: cannot read ${JSON.stringify(text)} as a duration`, 'e.g. 90s, 15m, 1h, 1d');
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's').toLowerCase() as 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

/** Parses argv; undefined when --help or --version was shown. Mistakes are UsageErrors (exit 2). */
export async function parseFetchArgs(argv: readonly string[], io: Io): Promise<FetchArgs | undefined> {
  const parser = commandParser('tc-fetch', USAGE)
    .option('output', { alias: 'o', type: 'string', describe: 'folder the .torrent files are saved in (default: the current folder)' })
    .option('force', { type: 'boolean', default: false, describe: 'replace a NAME.torrent that has other content' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress lines on stderr; errors only' })
    .option('timeout', { type: 'number', default: DEFAULT_TIMEOUT_S, describe: 'seconds allowed for each URL fetch' })
    .option('catalog', { type: 'boolean', default: false, describe: 'list the built-in catalogue of legal test torrents, or fetch the NAMEs given' })
    .option('catalog-file', { type: 'string', describe: 'read the catalogue from this JSON file instead of the built-in one' })
    .option('feed', { type: 'string', describe: 'an RSS or Atom feed: fetch the .torrent and magnet links of its new items' })
    .option('match', { type: 'string', describe: 'with --feed: only items whose title matches this regular expression (case-insensitive)' })
    .option('every', { type: 'string', default: '15m', describe: 'with --feed: poll this often (90s, 15m, 1h; at least 1m)' })
    .option('once', { type: 'boolean', default: false, describe: 'with --feed: read the feed once and exit' })
    .option('allow-private', { type: 'boolean', default: false, describe: 'with --feed: let items point at loopback or LAN addresses' })
    .option('peer', { type: 'string', array: true, default: [] as string[], describe: 'magnet: also ask HOST:PORT for the metadata (repeatable)' })
    .option('listen', { type: 'string', describe: 'magnet: listen only on this address (e.g. 127.0.0.1)' })
    .option('max-peers', { type: 'number', default: 50, describe: 'magnet: most peers asked at once' })
    .option('metadata-timeout', { type: 'number', default: DEFAULT_FIRST_PEER_TIMEOUT_S, describe: 'magnet: seconds to wait for a peer that has the metadata' })
    .option('dht', { type: 'boolean', default: true, describe: 'magnet: find peers in the DHT (--no-dht: not)' })
    .option('dht-bootstrap', { type: 'string', array: true, describe: 'magnet: join the DHT through HOST:PORT (repeatable; env TC_DHT_BOOTSTRAP, comma list)' })
    .option('add-to', { type: 'string', describe: 'hand each torrent to the tc-daemon at this URL (http://HOST:PORT) instead of saving it' })
    .option('add-to-auth', { type: 'string', describe: "with --add-to: the daemon's USER:PASS (default: env TC_ADD_TO_AUTH)" })
    .example('$0 --catalog', 'list the catalogue')
    .example('$0 --catalog debian-netinst -o ~/torrents', 'fetch one catalogue entry')
    .example('$0 https://host/a.torrent -o .', 'save a .torrent from the web')
    .example("$0 'magnet:?xt=urn:btih:…' -o .", 'make a .torrent from a magnet link')
    .example('$0 https://host/a.torrent --add-to http://127.0.0.1:9091', 'add a torrent to a running tc-daemon')
    .example("$0 --feed https://host/rss --match 'debian.*amd64' -o ~/torrents", 'follow a feed')
    .epilogue(EPILOGUE);
  const args = await parseCommand(parser, argv, io);
  if (!args) return undefined;
  const sources = args._.map(String);
  const feed = args.feed;
  if (feed !== undefined && (sources.length > 0 || args.catalog))
    throw new UsageError('--feed takes no other URL, magnet or --catalog', 'run tc-fetch --help for usage');
  if (feed === undefined && !args.catalog && sources.length === 0)
    throw new UsageError('give a URL or magnet link, --catalog or --feed URL', 'run tc-fetch --help for usage');
  if (feed === undefined && (args.match !== undefined || args.once)) throw new UsageError('--match and --once go with --feed');
  let match: RegExp | undefined;
  if (args.match !== undefined) {
    if (args.match.length > MAX_MATCH_CHARS) throw new UsageError(`--match: longer than ${MAX_MATCH_CHARS} characters`);
    try {
      match = new RegExp(args.match, 'i');
    } catch (e) {
      throw new UsageError(`--match: ${(e as Error).message}`);
    }
  }
  const everyS = parseDuration(args.every, '--every');
  if (everyS < MIN_EVERY_S || everyS > MAX_EVERY_S) throw new UsageError(`--every must be between 1m and 7d`);
  const maxPeers = args['max-peers'];
  if (!Number.isInteger(maxPeers) || maxPeers < 1 || maxPeers > MAX_COMMAND_PEERS) throw new UsageError(`--max-peers must be in 1..${MAX_COMMAND_PEERS}`);
  const metadataTimeoutS = args['metadata-timeout'];
  if (!Number.isFinite(metadataTimeoutS) || metadataTimeoutS <= 0) throw new UsageError('--metadata-timeout must be a positive number of seconds');
  if (args['add-to-auth'] !== undefined && args['add-to'] === undefined) throw new UsageError('--add-to-auth goes with --add-to');
  if (args['add-to'] !== undefined && args['output'] !== undefined) throw new UsageError('--add-to saves nothing: -o has no use with it');
  const addTo = args['add-to'] !== undefined ? parseAddTo(args['add-to'], args['add-to-auth'], io.env) : undefined;
  return {
    sources,
    dir: resolve(io.cwd, args.output ?? '.'),
    force: args.force,
    json: args.json,
    verbose: args.verbose,
    quiet: args.quiet,
    timeoutMs: timeoutMs(args.timeout),
    catalog: args.catalog,
    catalogFile: args['catalog-file'] !== undefined ? resolve(io.cwd, args['catalog-file']) : undefined,
    feed,
    match,
    everyS,
    once: args.once,
    allowPrivate: args['allow-private'],
    peers: args.peer.map(String).map(parsePeer),
    listen: args.listen,
    maxPeers,
    metadataTimeoutS,
    dht: args.dht,
    dhtBootstrap: readDhtBootstrap(args['dht-bootstrap'], io.env),
    addTo,
  };
}
