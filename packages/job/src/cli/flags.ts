import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { CommandError, DEFAULT_LISTEN_PORT, ExitCode, listenPort, parseSize, UsageError, type Io, type ProgressMode } from '@tc/cli';
import {
  checkWebSeedUrl,
  DEFAULT_MAX_PEERS,
  MAX_WEB_SEEDS,
  ENCRYPTION_MODES,
  isEngineError,
  parseHostPort,
  parseSeedGoal,
  Session,
  TRANSPORT_MODES,
  type EncryptionMode,
  type PeerAddress,
  type SeedGoal,
  type TransportMode,
} from '@tc/engine';

/** Without any peer for this long, give up and say why (trackers' errors). */
export const DEFAULT_FIRST_PEER_TIMEOUT_S = 60;
/** Most peers a command may ask for at once. */
export const MAX_COMMAND_PEERS = 1_000;

/**
 * The flags tc-download and tc-seed share (after the command's own first ones). `seedDescribe`
 * says what `--seed` means for the command.
 */
export function withJobFlags<T>(parser: Argv<T>, seedDescribe: string) {
  return parser
    .option('seed', { type: 'string', describe: seedDescribe })
    .option('port', { type: 'number', describe: `TCP/UDP port to listen on (default: TC_PORT, else ${DEFAULT_LISTEN_PORT} or a free one if taken; 0: any)` })
    .option('max-peers', { type: 'number', default: DEFAULT_MAX_PEERS, describe: 'most peers connected at once' })
    .option('peer', { type: 'string', array: true, default: [] as string[], describe: 'also connect to HOST:PORT (repeatable)' })
    .option('listen', { type: 'string', describe: 'listen only on this address (e.g. 127.0.0.1)' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress, no summary; errors only' })
    .option('progress', { choices: ['auto', 'bar', 'plain', 'none'] as const, default: 'auto' as ProgressMode, describe: 'progress display on stderr' })
    .option('log', { type: 'string', describe: 'write a structured log (JSON lines) to FILE' })
    .option('limit-up', { type: 'string', describe: 'upload rate limit (5M, 500k); default: none' })
    .option('recheck', { type: 'boolean', default: false, describe: 'ignore resume data and hash the data on disk again' })
    .option('first-peer-timeout', { type: 'number', default: DEFAULT_FIRST_PEER_TIMEOUT_S, describe: 'seconds to wait for a first peer before giving up' })
    .option('transport', { choices: TRANSPORT_MODES, default: 'both' as TransportMode, describe: 'dial peers over uTP then TCP (both), or only one' })
    .option('encryption', {
      choices: ENCRYPTION_MODES,
      default: 'prefer' as EncryptionMode,
      describe: 'MSE/PE: prefer (dial encrypted, plaintext if refused; accept both), require, allow (dial plaintext), off',
    })
    .option('dht', { type: 'boolean', default: true, describe: 'find peers in the DHT (--no-dht: not)' })
    .option('lsd', { type: 'boolean', default: true, describe: 'find peers on the local network, BEP 14 (--no-lsd or env TC_LSD=0: not)' })
    .option('pex', { type: 'boolean', default: true, describe: 'exchange peers with peers, ut_pex (--no-pex: not)' })
    .option('dht-bootstrap', { type: 'string', array: true, describe: 'join the DHT through HOST:PORT (repeatable; env TC_DHT_BOOTSTRAP, comma list)' });
}

/** tc-download's piece order: `--sequential` (issue 14; a seed-only command has no use for it). */
export function withOrderFlag<T>(parser: Argv<T>) {
  return parser.option('sequential', {
    type: 'boolean',
    default: false,
    describe: 'download pieces in order, first to last (to play a file while it downloads); rarest first otherwise',
  });
}

/** Most --dht-bootstrap nodes. */
export const MAX_DHT_BOOTSTRAP = 64;

/**
 * `--dht-bootstrap` (repeatable), else env TC_DHT_BOOTSTRAP (a comma list; empty: none, so that tests
 * reach no public router), else undefined: the public routers.
 */
export function readDhtBootstrap(given: readonly unknown[] | undefined, env: Readonly<Record<string, string | undefined>>): string[] | undefined {
  const fromEnv = env['TC_DHT_BOOTSTRAP'];
  const list =
    given !== undefined && given.length > 0
      ? given.map(String)
      : fromEnv !== undefined
        ? fromEnv
            .split(',')
            .map((x) => x.trim())
            .filter((x) => x !== '')
        : undefined;
  if (list === undefined) return undefined;
  if (list.length > MAX_DHT_BOOTSTRAP) throw new UsageError(`--dht-bootstrap: at most ${MAX_DHT_BOOTSTRAP} nodes`);
  for (const x of list)
    if (parseHostPort(x) === undefined)
      throw new UsageError(`--dht-bootstrap: cannot read ${JSON.stringify(x)} as HOST:PORT`, 'e.g. --dht-bootstrap 127.0.0.1:6881');
  return list;
}

/** The shared flags, read and checked (each mistake a UsageError, exit 2). */
export interface JobFlags {
  /** `--seed` as given; undefined when absent. */
  readonly seedGoal: SeedGoal | undefined;
  readonly port: number;
  /** Neither --port nor TC_PORT: the default port, and a free one when it is taken. */
  readonly portFallback: boolean;
  readonly maxPeers: number;
  readonly peers: readonly PeerAddress[];
  readonly listen: string | undefined;
  readonly quiet: boolean;
  readonly progress: ProgressMode;
  /** `--log FILE`, absolute. */
  readonly log: string | undefined;
  readonly limitUpBps: number | undefined;
  readonly recheck: boolean;
  readonly firstPeerTimeoutS: number;
  /** `--no-dht` makes it false. */
  readonly dht: boolean;
  /** DHT nodes to join; undefined: the public routers. */
  readonly dhtBootstrap: readonly string[] | undefined;
  /** `--no-pex` makes it false. */
  readonly pex: boolean;
  /** `--no-lsd` or env TC_LSD=0 make it false. */
  readonly lsd: boolean;
  readonly transport: TransportMode;
  readonly encryption: EncryptionMode;
}

type ParsedJobFlags = Awaited<ReturnType<ReturnType<typeof withJobFlags>['parseAsync']>>;

/** Reads the shared flags; relative paths are taken from `cwd`, `TC_PORT` from `env`. */
export function readJobFlags(args: ParsedJobFlags, cwd: string, env: Readonly<Record<string, string | undefined>> = {}): JobFlags {
  const seedGoal = args.seed !== undefined ? readSeedGoal(String(args.seed)) : undefined;
  const { port, isDefault: portFallback } = listenPort(args.port, env, { allowZero: true });
  const maxPeers = args['max-peers'];
  if (!Number.isInteger(maxPeers) || maxPeers < 1 || maxPeers > MAX_COMMAND_PEERS) throw new UsageError(`--max-peers must be in 1..${MAX_COMMAND_PEERS}`);
  const firstPeerTimeoutS = args['first-peer-timeout'];
  if (!Number.isFinite(firstPeerTimeoutS) || firstPeerTimeoutS <= 0) throw new UsageError('--first-peer-timeout must be a positive number of seconds');
  const peers = args.peer.map(String).map(parsePeer);
  const limitUpBps = args['limit-up'] !== undefined ? parseSize(String(args['limit-up']), '--limit-up') : undefined;
  return {
    seedGoal,
    port,
    portFallback,
    maxPeers,
    peers,
    listen: args.listen,
    quiet: args.quiet,
    progress: args.progress,
    log: args.log !== undefined ? resolve(cwd, args.log) : undefined,
    limitUpBps,
    recheck: args.recheck,
    firstPeerTimeoutS,
    dht: args.dht,
    dhtBootstrap: readDhtBootstrap(args['dht-bootstrap'], env),
    pex: args.pex,
    lsd: args.lsd && env['TC_LSD'] !== '0',
    transport: args.transport,
    encryption: args.encryption,
  };
}

/** tc-download's `--web-seed URL` (repeatable; read with readWebSeeds). */
export function withWebSeedFlag<T>(parser: Argv<T>) {
  return parser.option('web-seed', {
    type: 'string',
    array: true,
    default: [] as string[],
    describe: 'also download from this HTTP(S) web seed, BEP 19 (repeatable)',
  });
}

/** `--web-seed URL` (repeatable): each an http(s) URL (BEP 19), at most MAX_WEB_SEEDS. */
export function readWebSeeds(urls: readonly string[]): string[] {
  if (urls.length > MAX_WEB_SEEDS) throw new UsageError(`--web-seed: at most ${MAX_WEB_SEEDS} web seeds`);
  return urls.map((u) => {
    try {
      return checkWebSeedUrl(u).href;
    } catch (e) {
      if (isEngineError(e)) throw new UsageError(`--web-seed: ${e.message}`, 'e.g. --web-seed https://mirror.example/files/');
      throw e;
    }
  });
}

/** `--peer HOST:PORT` or `[v6]:PORT`. */
export function parsePeer(text: string): PeerAddress {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(text) ?? /^([^:\s]+):(\d+)$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`--peer: cannot read ${JSON.stringify(text)} as HOST:PORT`, 'e.g. --peer 127.0.0.1:6881 or --peer [::1]:6881');
  }
  return { host: m[1]!, port };
}

/** `--seed [RATIO|TIME]`; a bad value is a usage error. */
export function readSeedGoal(text: string): SeedGoal {
  try {
    return parseSeedGoal(text);
  } catch (e) {
    if (isEngineError(e)) throw new UsageError(`--seed: ${e.message}`, 'e.g. --seed (until interrupted), --seed 2 (ratio), --seed 30m (time)');
    throw e;
  }
}

/** What a command's flags say about its session. */
export interface SessionFlags {
  /** `--port`: 0 picks a free one. */
  readonly port: number;
  /** When `port` is taken, listen on a free one instead (the default port, not a chosen one). */
  readonly portFallback?: boolean | undefined;
  /** `--listen ADDRESS`: only this address (IPv4 or IPv6); default every address. */
  readonly listen?: string | undefined;
  readonly limitDownBps?: number | undefined;
  readonly limitUpBps?: number | undefined;
  /** Run a DHT node (default true). */
  readonly dht?: boolean;
  readonly dhtBootstrap?: readonly string[] | undefined;
  /** Peer exchange (default true). */
  readonly pex?: boolean;
  /** Local service discovery (default true). */
  readonly lsd?: boolean;
  /** `--transport` and `--encryption` (issue 12); the engine's defaults (both, prefer) when absent. */
  readonly transport?: TransportMode | undefined;
  readonly encryption?: EncryptionMode | undefined;
}

/**
 * Opens the one session of a command; a port that cannot be listened on is a network error (exit 4),
 * except that the default port, when taken, gives way to a free one (`onPortFallback` is told). Taken
 * means for TCP or for UDP: without its UDP port a session has no DHT and no uTP.
 */
export async function openSession(f: SessionFlags, o: { onPortFallback?: (wanted: number, got: number) => void } = {}): Promise<Session> {
  const fallback = f.portFallback === true && f.port !== 0;
  let s: Session;
  try {
    s = await createSession(f, f.port);
  } catch (e) {
    if (!fallback || !causedBy(e, 'EADDRINUSE')) throw e;
    s = await createSession(f, 0);
    o.onPortFallback?.(f.port, s.port);
    return s;
  }
  if (fallback && s.udp === undefined) {
    await s.close();
    s = await createSession(f, 0);
    o.onPortFallback?.(f.port, s.port);
  }
  return s;
}

/** True when `code` is the errno of `e` or of one of its causes. */
function causedBy(e: unknown, code: string): boolean {
  for (let c = e, depth = 0; c !== undefined && c !== null && depth < 8; c = (c as { cause?: unknown }).cause, depth++) {
    if ((c as { code?: unknown }).code === code) return true;
  }
  return false;
}

async function createSession(f: SessionFlags, port: number): Promise<Session> {
  const listen = f.listen;
  try {
    return await Session.create({
      port,
      ...(f.limitDownBps !== undefined ? { downloadRateBps: f.limitDownBps } : {}),
      ...(f.limitUpBps !== undefined ? { uploadRateBps: f.limitUpBps } : {}),
      ...(f.dht !== false ? { dht: { bootstrap: f.dhtBootstrap } } : {}),
      pex: f.pex !== false,
      // With --listen on an IPv4 address, LSD uses that interface too.
      ...(f.lsd !== false ? { lsd: listen !== undefined && !listen.includes(':') ? { interface: listen } : {} } : {}),
      ...(f.transport !== undefined ? { transport: f.transport } : {}),
      ...(f.encryption !== undefined ? { encryption: f.encryption } : {}),
      ...(listen !== undefined ? (listen.includes(':') ? { listenHost4: null, listenHost6: listen } : { listenHost4: listen, listenHost6: null }) : {}),
    });
  } catch (e) {
    throw new CommandError(`cannot listen on port ${port}: ${(e as Error).message}`, ExitCode.NETWORK, { cause: e });
  }
}

/** openSession's option that says, on stderr (not with --quiet or --json), that the default port was taken. */
export function portFallbackNotice(io: Io, f: { readonly quiet: boolean; readonly json: boolean }): { onPortFallback: (wanted: number, got: number) => void } {
  return {
    onPortFallback: (wanted, got) => {
      if (!f.quiet && !f.json) io.stderr.write(`port ${wanted} is taken: listening on port ${got} instead (choose one with --port or TC_PORT)\n`);
    },
  };
}
