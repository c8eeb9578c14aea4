import { randomInt } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import {
  colours,
  commandParser,
  CommandError,
  ExitCode,
  parseCommand,
  readTorrentArg,
  reportError,
  reportWarning,
  UsageError,
  withExamples,
  writeJson,
  type Io,
} from '@tc/cli';
import { parseInfoHash } from '@tc/codec';
import { TrackerProber } from '@tc/tracker';
import { generatePeerId, USER_AGENT } from '@tc/wire';
import { probeTracker, type ProbeContext, type TrackerProbe } from './probe.js';
import { renderReport, reportJson, type Report } from './render.js';

const USAGE = `$0 TORRENT|MAGNET|URL [--tracker URL]...

Checks every tracker of a torrent (a .torrent file, a magnet link, or an http(s) URL of a .torrent),
or only the ones given with --tracker: resolves the host, times the connect, announces (peers,
interval, seeders, leechers, warnings), scrapes, and says what failed and the likely cause.
Trackers are probed in parallel within one time limit.`;

const EPILOGUE = `Exit codes: 0 at least one tracker answered the announce · 2 usage · 3 invalid torrent or
magnet · 4 no tracker answered · 130 interrupted.`;

/** The total time limit by default: long enough for a slow tracker, short enough for a person waiting. */
const DEFAULT_TIMEOUT_S = 15;
const MAX_TIMEOUT_S = 300;
/** Peers dialled per tracker at most with --handshake. */
const MAX_HANDSHAKES = 50;
/**
 * UDP retransmission base for a probe: BEP 15's 15 s would spend the whole time limit on one
 * silence; 2 s then 4 s, 8 s still tells a slow tracker from a dead one.
 */
const PROBE_UDP_BASE_MS = 2_000;
const PROBE_UDP_RETRANSMITS = 2;
/** Peers asked of each tracker: enough to show and to dial a few, far below the trackers' caps. */
const PROBE_NUMWANT = 50;
/**
 * The port we announce is a random one from the dynamic range (RFC 6335): we do not listen on it,
 * the probe announces `stopped` right after, and it must not look like a real local client's port.
 */
const PROBE_PORT_MIN = 49152;
const PROBE_PORT_MAX = 65535;

interface Target {
  readonly infoHash: Buffer;
  readonly name: string | undefined;
  readonly tiers: readonly (readonly string[])[];
}

export async function run(argv: string[], io: Io): Promise<number> {
  const options = commandParser('tc-debug-tracker', USAGE)
    .option('tracker', { type: 'string', array: true, describe: 'probe this tracker URL instead of the torrent’s (repeatable)' })
    .option('info-hash', { type: 'string', describe: 'info-hash (hex or base32) to announce when no torrent is given' })
    .option('timeout', { type: 'number', default: DEFAULT_TIMEOUT_S, describe: 'total time limit in seconds' })
    .option('handshake', { type: 'number', default: 0, describe: 'connect to up to N returned peers per tracker and check their BitTorrent handshake' })
    .epilogue(EPILOGUE);
  const parser = withExamples(options, 'tc-debug-tracker', [
    ['$0 ubuntu.torrent', 'probe every tracker of a torrent'],
    ['$0 "magnet:?xt=urn:btih:…" --json', 'probe a magnet’s trackers, JSON output'],
    ['$0 a.torrent --tracker udp://tracker.example:6969/announce --handshake 5', 'probe one tracker and dial 5 peers'],
  ]);
  const args = await parseCommand(parser, argv, io);
  if (!args) return ExitCode.OK;
  if (!Number.isFinite(args.timeout) || args.timeout <= 0 || args.timeout > MAX_TIMEOUT_S) {
    throw new UsageError(`--timeout must be a number of seconds in (0, ${MAX_TIMEOUT_S}]`);
  }
  if (!Number.isInteger(args.handshake) || args.handshake < 0 || args.handshake > MAX_HANDSHAKES) {
    throw new UsageError(`--handshake must be an integer from 0 to ${MAX_HANDSHAKES}`);
  }
  const inputs = args._.map(String);
  if (inputs.length > 1) throw new UsageError('give one torrent, magnet or URL', 'run tc-debug-tracker --help for usage');
  const timeoutMs = args.timeout * 1000;
  const target = await loadTarget(inputs[0], args['info-hash'], args.tracker, io, timeoutMs);
  if (target.tiers.length === 0) throw new CommandError('the torrent has no tracker', ExitCode.BAD_INPUT, { hint: 'name one with --tracker URL' });

  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  const onInterrupt = (): void => deadline.abort();
  io.signal?.addEventListener('abort', onInterrupt, { once: true });
  const prober = new TrackerProber({
    userAgent: USER_AGENT,
    connectTimeoutMs: timeoutMs,
    udpRetransmitBaseMs: PROBE_UDP_BASE_MS,
    udpMaxRetransmits: PROBE_UDP_RETRANSMITS,
    // The overall limit aborts every step still running: for the user that is a timeout.
    deadlineMs: timeoutMs,
    keepRaw: args.verbose,
  });
  const ctx: ProbeContext = {
    prober,
    request: {
      infoHash: target.infoHash,
      peerId: generatePeerId(),
      port: randomInt(PROBE_PORT_MIN, PROBE_PORT_MAX + 1),
      uploaded: 0,
      downloaded: 0,
      left: 1,
      event: 'started',
      key: randomInt(0, 0xffffffff),
      numwant: PROBE_NUMWANT,
    },
    selfAddresses: new Set(Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address))),
    signal: deadline.signal,
    handshakes: args.handshake,
  };
  let probes: TrackerProbe[];
  const started = performance.now();
  try {
    probes = await Promise.all(target.tiers.flatMap((tier, i) => tier.map((url) => probeTracker(url, i + 1, ctx))));
  } finally {
    clearTimeout(timer);
    io.signal?.removeEventListener('abort', onInterrupt);
    await prober.close();
  }
  if (io.signal?.aborted) return ExitCode.INTERRUPTED;
  const report: Report = {
    infoHash: target.infoHash,
    name: target.name,
    trackers: probes,
    ms: Math.round(performance.now() - started),
  };
  if (args.json) writeJson(io, reportJson(report, args.verbose));
  else io.stdout.write(renderReport(report, { chalk: colours(args.color, io, io.stdout), verbose: args.verbose }));
  const answered = probes.filter((p) => p.announce !== undefined && 'result' in p.announce).length;
  if (answered > 0) return ExitCode.OK;
  // Every non-zero exit says why on stderr, whatever stdout carried (CLI.md).
  return reportError(
    io,
    new CommandError(`no tracker answered (0 of ${probes.length})`, ExitCode.NETWORK, {
      hint:
        probes.length > 0
          ? "each tracker above says where it failed; run tc-netcheck to check this machine's network"
          : 'the torrent lists no trackers: give one with --tracker',
    }),
  );
}

async function loadTarget(
  input: string | undefined,
  infoHashText: string | undefined,
  trackers: string[] | undefined,
  io: Io,
  timeoutMs: number,
): Promise<Target> {
  const override = trackers && trackers.length > 0 ? trackers.map((t) => [t]) : undefined;
  if (input === undefined) {
    if (override === undefined || infoHashText === undefined) {
      throw new UsageError('give a torrent, magnet or URL (or --tracker with --info-hash)', 'run tc-debug-tracker --help for usage');
    }
    return { infoHash: parseInfoHash(infoHashText), name: undefined, tiers: override };
  }
  const arg = await readTorrentArg(input, { cwd: io.cwd, signal: io.signal, timeoutMs, stdin: io.stdin });
  if (arg.kind === 'magnet') {
    for (const w of arg.warnings) reportWarning(io, w.message);
    // A magnet has no tiers (BEP 9): each `tr` is probed, numbered in order.
    return { infoHash: arg.magnet.infoHash, name: arg.magnet.name, tiers: override ?? arg.magnet.trackers.map((t) => [t]) };
  }
  return { infoHash: arg.metainfo.infoHash, name: arg.metainfo.name, tiers: override ?? arg.metainfo.announceTiers };
}
