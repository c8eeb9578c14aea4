import { colours, commandParser, ExitCode, listenPort, parseCommand, readTorrentArg, reportError, UsageError, type Io } from '@tc/cli';
import { PUBLIC_TRACKERS } from '@tc/codec';
import { DEFAULT_LISTEN_PORT } from './checks/listen.js';
import { DEFAULT_PEERS_TRIED, MAX_PEERS_TRIED } from './checks/peers.js';
import { CHECK_IDS, CHECK_TITLES, type CheckId } from './checks/types.js';
import { runNetcheck, type NetcheckDeps, type NetcheckPlan } from './netcheck.js';
import { renderChecklist, renderJson, type Heading } from './render.js';

/** Default overall bound: long enough for slow trackers, short enough for a user waiting at a prompt. */
export const DEFAULT_TIMEOUT_S = 30;
/** Bound on each single probe (a DNS lookup, a tracker request, a handshake), milliseconds. */
export const DEFAULT_PROBE_TIMEOUT_MS = 5_000;
/** --timeout above this is a typo, not a wish. */
const MAX_TIMEOUT_S = 600;

const USAGE = `$0 [torrent-or-magnet] [options]

Checks what a download needs from the network, and says what to do about what fails:
addresses, listening ports, DNS, trackers, peers (with a torrent), inbound reachability, environment.
Exit status: 0 when nothing checked failed, 2 on bad usage, 3 for an invalid torrent or magnet
link, 4 when something a download needs fails (or the torrent's URL cannot be fetched), 130 on Ctrl-C.`;

/** Names accepted by --only, with friendly aliases. */
const ONLY_ALIASES: Readonly<Record<string, CheckId>> = {
  addresses: 'addresses',
  address: 'addresses',
  interfaces: 'addresses',
  listen: 'listen',
  ports: 'listen',
  port: 'listen',
  dns: 'dns',
  trackers: 'trackers',
  tracker: 'trackers',
  peers: 'peers',
  peer: 'peers',
  inbound: 'inbound',
  nat: 'inbound',
  env: 'env',
  environment: 'env',
};

export function parseOnly(text: string | undefined): Set<CheckId> {
  if (text === undefined || text.trim() === '') return new Set(CHECK_IDS);
  const out = new Set<CheckId>();
  for (const raw of text.split(',')) {
    const name = raw.trim().toLowerCase();
    if (name === '') continue;
    const id = ONLY_ALIASES[name];
    if (id === undefined) throw new UsageError(`--only: unknown check ${JSON.stringify(raw.trim())}`, `choose from ${CHECK_IDS.join(', ')}`);
    out.add(id);
  }
  if (out.size === 0) throw new UsageError('--only: no check named', `choose from ${CHECK_IDS.join(', ')}`);
  return out;
}

/** `127.0.0.1:5353`, `[::1]:53` or a bare address: what `Resolver#setServers` accepts. */
export function checkDnsServer(s: string): string {
  if (!/^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:.]+\]|[0-9a-f:]+)(:\d{1,5})?$/i.test(s)) {
    throw new UsageError(`--dns-server: ${JSON.stringify(s)} is not an IP address with an optional port`);
  }
  return s;
}

interface Target {
  readonly tiers: string[][];
  readonly source: string;
  readonly torrent?: { infoHash: Buffer; infoHashHex: string; name?: string; left: number };
}

/** Left to download, for the announce: a magnet's size is unknown, so claim one 16 KiB block (as a leecher). */
const UNKNOWN_LEFT_BYTES = 16 * 1024;

async function loadTarget(input: string | undefined, extra: readonly string[], io: Io): Promise<Target> {
  const extraTiers = extra.map((u) => [u]);
  if (input === undefined) {
    if (extraTiers.length > 0) return { tiers: extraTiers, source: '--tracker' };
    return { tiers: PUBLIC_TRACKERS.map((u) => [u]), source: 'the built-in public list' };
  }
  const arg = await readTorrentArg(input, { cwd: io.cwd, signal: io.signal, stdin: io.stdin });
  if (arg.kind === 'magnet') {
    const m = arg.magnet;
    return {
      tiers: [...m.trackers.map((u) => [u]), ...extraTiers],
      source: extraTiers.length > 0 ? 'the magnet link and --tracker' : 'the magnet link',
      torrent: { infoHash: Buffer.from(m.infoHash), infoHashHex: m.infoHashHex, ...(m.name !== undefined ? { name: m.name } : {}), left: UNKNOWN_LEFT_BYTES },
    };
  }
  const meta = arg.metainfo;
  return {
    tiers: [...meta.announceTiers.map((t) => [...t]), ...extraTiers],
    source: extraTiers.length > 0 ? 'the torrent and --tracker' : 'the torrent',
    torrent: { infoHash: Buffer.from(meta.infoHash), infoHashHex: meta.infoHashHex, name: meta.name, left: meta.totalLength },
  };
}

export interface RunOverrides {
  /** Builds the dependencies (the real ones in bin.ts, fakes in tests) once options are known. */
  readonly deps: (opts: { dnsServers: readonly string[]; probeTimeoutMs: number; io: Io }) => NetcheckDeps;
}

/** The command: parses arguments, runs the checks, prints the checklist or JSON, returns the exit code. */
export async function run(argv: readonly string[], io: Io, o: RunOverrides): Promise<number> {
  let verbose = argv.includes('--verbose') || argv.includes('-v');
  try {
    const parser = commandParser('tc-netcheck', USAGE)
      .positional('torrent', { type: 'string', describe: '.torrent file, its http(s) URL, or a magnet link (enables the peer check)' })
      .option('port', { alias: 'p', type: 'number', describe: `listen port to check (default ${DEFAULT_LISTEN_PORT}, or TC_PORT)` })
      .option('tracker', { alias: 't', type: 'string', array: true, describe: "tracker URL to check (repeatable); added to the torrent's" })
      .option('only', { type: 'string', describe: `checks to run, comma-separated: ${CHECK_IDS.join(',')}` })
      .option('timeout', { type: 'number', default: DEFAULT_TIMEOUT_S, describe: 'overall time limit, seconds' })
      .option('peers', { type: 'number', default: DEFAULT_PEERS_TRIED, describe: `peers to handshake with at most (1-${MAX_PEERS_TRIED})` })
      .option('dns-server', { type: 'string', array: true, hidden: true, describe: 'resolver address(es), ip[:port], instead of the system ones' })
      .option('probe-timeout', { type: 'number', hidden: true, describe: 'time limit of each probe, milliseconds' });
    const args = await parseCommand(parser, argv, io);
    if (args === undefined) return ExitCode.OK;
    verbose = args.verbose;
    const positional = (args._ ?? []).map(String);
    if (positional.length > 1) throw new UsageError(`expected at most one torrent or magnet, got ${positional.length}`);
    // The same default and variable as tc-download and tc-seed (issue 17).
    const { port, isDefault: portIsDefault } = listenPort(args.port, io.env, { allowZero: false });
    const only = parseOnly(args.only);
    const timeout = args.timeout;
    if (!Number.isFinite(timeout) || timeout <= 0 || timeout > MAX_TIMEOUT_S)
      throw new UsageError(`--timeout: ${timeout} is not between 0 and ${MAX_TIMEOUT_S} seconds`);
    const peers = args.peers;
    if (!Number.isInteger(peers) || peers < 1 || peers > MAX_PEERS_TRIED) throw new UsageError(`--peers: ${peers} is not between 1 and ${MAX_PEERS_TRIED}`);
    const timeoutMs = Math.round(timeout * 1000);
    const probeArg = args.probeTimeout;
    if (probeArg !== undefined && (!Number.isFinite(probeArg) || probeArg <= 0))
      throw new UsageError('--probe-timeout must be a positive number of milliseconds');
    const probeTimeoutMs = Math.min(probeArg ?? DEFAULT_PROBE_TIMEOUT_MS, timeoutMs);
    const dnsServers = (args.dnsServer ?? []).map(String).map(checkDnsServer);
    const trackers = (args.tracker ?? []).map(String);
    for (const t of trackers) {
      if (!/^(https?|udp):\/\//i.test(t)) throw new UsageError(`--tracker: ${JSON.stringify(t)} is not an http(s):// or udp:// URL`);
    }
    const target = await loadTarget(positional[0], trackers, io);
    const plan: NetcheckPlan = {
      only,
      port,
      portIsDefault,
      tiers: target.tiers,
      trackerSource: target.source,
      ...(target.torrent ? { torrent: target.torrent } : {}),
      peers,
      timeoutMs,
      probeTimeoutMs,
    };
    const report = await runNetcheck(plan, o.deps({ dnsServers, probeTimeoutMs, io }));
    // Ctrl-C stops the probes early; what was found is still printed, with the interrupted status.
    const code = io.signal?.aborted ? ExitCode.INTERRUPTED : report.ok ? ExitCode.OK : ExitCode.NETWORK;
    const heading: Heading = {
      trackerSource: target.source,
      trackerCount: new Set(target.tiers.flat()).size,
      port,
      ...(target.torrent
        ? { torrent: { infoHashHex: target.torrent.infoHashHex, ...(target.torrent.name !== undefined ? { name: target.torrent.name } : {}) } }
        : {}),
    };
    if (args.json) renderJson(io, report, heading, code);
    else io.stdout.write(renderChecklist(report, heading, colours(args.color, io)));
    if (code === ExitCode.NETWORK) {
      // Every non-zero exit says why on stderr too (the checklist on stdout has the details).
      const failed = report.checks.filter((r) => r.status === 'fail').map((r) => CHECK_TITLES[r.id].toLowerCase());
      io.stderr.write(`error: ${failed.length} check${failed.length === 1 ? '' : 's'} failed: ${failed.join(', ')}\n`);
    }
    return code;
  } catch (e) {
    // The shared table: 2 for how the command was called, 3 for a bad torrent or magnet link.
    return reportError(io, e, { verbose });
  }
}
