import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { basename, dirname, join, resolve } from 'node:path';
import {
  CommandError,
  commandParser,
  createProgress,
  ExitCode,
  exitCodeFor,
  formatBytes,
  parseSize,
  parseCommand,
  readFileOrUrl,
  reportError,
  reportWarning,
  sanitize,
  UsageError,
  writeFileAtomic,
  writeJson,
  type Io,
  type ProgressMode,
} from '@tc/cli';
import { BRaw, encode, MAX_TORRENT_BYTES, parseMagnet, parseMetainfo, type BEncodable, type Magnet, type Metainfo } from '@tc/codec';
import { DEFAULT_MAX_PEERS, EngineError, FsStorage, isEngineError, parseSeedGoal, parseSelection, planPieces, SelectionError, type PiecePlan, seedGoalReached, type SeedGoal, inlineVerifier, restore, ResumeKeeper, Session, sourceFromMetainfo, systemClock, type PeerAddress, type Torrent, type TorrentStats } from '@tc/engine';
import { seedSummaryText, seedText, statusJson, statusText, summaryText, trackerFailures } from './render.js';

const USAGE = `$0 FILE.torrent|URL|MAGNET [options]

Downloads a torrent into a folder, verifying every piece (SHA-1) before it counts, and exits when done.
A magnet link's metadata is fetched from its peers first (BEP 9) and saved as HASH.torrent in the
download folder, where the next run finds it (so resuming works as for a .torrent).`;

const EPILOGUE = `Exit codes: 0 done · 1 failure · 2 usage · 3 invalid or hostile torrent · 4 no peers or network
failure · 5 disk error (full, read-only, unwritable folder; with --seed, exits once seeding what it
verified ends) · 130 interrupted (Ctrl-C; a second one forces exit).`;

/** Without any peer for this long, give up and say why (trackers' errors). */
const DEFAULT_NO_PEERS_S = 60;
/** How often the status is rendered. */
const STATUS_INTERVAL_MS = 1_000;
/** Longest a URL fetch of a .torrent may take (the shared fetch has 10 s; a busy tracker site gets more). */
const FETCH_TIMEOUT_MS = 30_000;

/** Where a magnet's fetched metadata is saved as a .torrent: the download folder, named by info-hash (a later run of the same magnet reads it). */
export function magnetTorrentPath(dir: string, infoHashHex: string): string {
  return join(dir, `${infoHashHex}.torrent`);
}

/** A .torrent for fetched metadata: the raw info bytes (so the info-hash holds) with the magnet's trackers. */
function torrentBytes(m: Metainfo): Buffer {
  const top = new Map<string, BEncodable>();
  const tiers = m.announceTiers.filter((t) => t.length > 0);
  if (tiers[0]?.[0] !== undefined) top.set('announce', tiers[0][0]);
  if (tiers.length > 1 || (tiers[0]?.length ?? 0) > 1) top.set('announce-list', tiers.map((t) => [...t]));
  top.set('info', new BRaw(m.infoBytes));
  return encode(top);
}

function parsePeer(text: string): PeerAddress {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(text) ?? /^([^:\s]+):(\d+)$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`--peer: cannot read ${JSON.stringify(text)} as HOST:PORT`, 'e.g. --peer 127.0.0.1:6881 or --peer [::1]:6881');
  }
  return { host: m[1]!, port };
}

const SEED_USAGE = `$0 TORRENT DATA [options]

Verifies the data (DATA: the folder holding the torrent's file or folder) against the torrent, then
seeds it until interrupted (or --seed RATIO|TIME), with a status line of upload rate, ratio and peers.`;

const SEED_EPILOGUE = `Exit codes: 0 stopped (Ctrl-C or the --seed goal) · 2 usage · 3 invalid torrent · 4 network
failure · 5 disk error · 6 the data does not match the torrent (not every piece verified).`;

function readSeedGoal(text: string): SeedGoal {
  try {
    return parseSeedGoal(text);
  } catch (e) {
    if (isEngineError(e)) throw new UsageError(`--seed: ${e.message}`, 'e.g. --seed (until interrupted), --seed 2 (ratio), --seed 30m (time)');
    throw e;
  }
}

/** `tc-download` (and, with `command: 'tc-seed'`, `tc-seed TORRENT DATA`: verify, then seed only). */
export async function run(argv: string[], io: Io, command: 'tc-download' | 'tc-seed' = 'tc-download'): Promise<number> {
  const seedOnly = command === 'tc-seed';
  const parser = commandParser(command, seedOnly ? SEED_USAGE : USAGE)
    .option('output', { alias: 'o', type: 'string', hidden: seedOnly, describe: 'download folder (default: the current folder)' })
    .option('seed', {
      type: 'string',
      describe: seedOnly ? 'stop at a ratio (2) or after a time (30m, 1h); default: until interrupted' : 'once done, seed: until interrupted (--seed), to a ratio (--seed 2) or for a time (--seed 30m)',
    })
    .option('port', { type: 'number', describe: 'TCP port to listen on (default: any free port)', default: 0 })
    .option('max-peers', { type: 'number', default: DEFAULT_MAX_PEERS, describe: 'most peers connected at once' })
    .option('peer', { type: 'string', array: true, default: [] as string[], describe: 'also connect to HOST:PORT (repeatable)' })
    .option('listen', { type: 'string', describe: 'listen only on this address (e.g. 127.0.0.1)' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress, no summary; errors only' })
    .option('progress', { choices: ['auto', 'bar', 'plain', 'none'] as const, default: 'auto' as ProgressMode, describe: 'progress display on stderr' })
    .option('log', { type: 'string', describe: 'write a structured log (JSON lines) to FILE' })
    .option('select', { type: 'string', hidden: seedOnly, describe: 'download only these files: indices (0,2-5) or globs (*.flac), comma-separated; see --list' })
    .option('list', { type: 'boolean', default: false, hidden: seedOnly, describe: 'print the files with their indices and exit' })
    .option('limit-down', { type: 'string', hidden: seedOnly, describe: 'download rate limit, bytes/s with a unit (5M, 500k); default: none' })
    .option('limit-up', { type: 'string', describe: 'upload rate limit (5M, 500k); default: none' })
    .option('recheck', { type: 'boolean', default: false, describe: 'ignore resume data and hash the data on disk again' })
    .option('first-peer-timeout', { type: 'number', default: DEFAULT_NO_PEERS_S, describe: 'seconds to wait for a first peer before giving up' })
    .example(seedOnly ? '$0 ubuntu.torrent ~/Downloads' : '$0 ubuntu.torrent -o ~/Downloads', seedOnly ? 'seed ~/Downloads/ubuntu…iso' : 'download into ~/Downloads')
    .example(seedOnly ? '$0 x.torrent . --seed 2' : '$0 x.torrent --peer 127.0.0.1:51413 --json', seedOnly ? 'seed until twice the size is uploaded' : 'private swarm, JSON status for scripts')
    .epilogue(seedOnly ? SEED_EPILOGUE : EPILOGUE);
  const args = await parseCommand(parser, argv, io);
  if (!args) return ExitCode.OK;
  const sources = args._.map(String);
  if (seedOnly && sources.length !== 2) throw new UsageError('give a .torrent file (or URL) and the DATA folder', 'run tc-seed --help for usage');
  if (!seedOnly && sources.length !== 1) throw new UsageError('give exactly one .torrent file, URL or magnet link', 'run tc-download --help for usage');
  const seedGoal = args.seed !== undefined ? readSeedGoal(String(args.seed)) : seedOnly ? ({ kind: 'forever' } as const) : undefined;
  const port = args.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be in 0..65535');
  const maxPeers = args['max-peers'] as number;
  if (!Number.isInteger(maxPeers) || maxPeers < 1 || maxPeers > 1000) throw new UsageError('--max-peers must be in 1..1000');
  const noPeersS = args['first-peer-timeout'] as number;
  if (!Number.isFinite(noPeersS) || noPeersS <= 0) throw new UsageError('--first-peer-timeout must be a positive number of seconds');
  const peers = (args.peer as string[]).map(parsePeer);
  const limitDown = args['limit-down'] !== undefined ? parseSize(String(args['limit-down']), '--limit-down') : undefined;
  const limitUp = args['limit-up'] !== undefined ? parseSize(String(args['limit-up']), '--limit-up') : undefined;
  let dir = resolve(io.cwd, seedOnly ? sources[1]! : (args.output ?? '.'));

  const source = sources[0]!;
  const say = (line: string): void => {
    if (!args.quiet && !args.json) io.stderr.write(`${line}\n`);
  };
  const listen = args.listen;
  let sessionValue: Session | undefined;
  /** The session, created on first use: before the metadata for a magnet, after the torrent is read otherwise. */
  const openSession = async (): Promise<Session> => {
    sessionValue ??= await Session.create({
      port,
      ...(limitDown !== undefined ? { downloadRateBps: limitDown } : {}),
      ...(limitUp !== undefined ? { uploadRateBps: limitUp } : {}),
      ...(listen !== undefined ? (listen.includes(':') ? { listenHost4: null, listenHost6: listen } : { listenHost4: listen, listenHost6: null }) : {}),
    }).catch((e: unknown) => {
      throw new CommandError(`cannot listen on port ${port}: ${(e as Error).message}`, ExitCode.NETWORK, { cause: e });
    });
    return sessionValue;
  };
  let metainfo: Metainfo;
  if (!seedOnly && /^magnet:\?/i.test(source.trim())) {
    let magnet: Magnet;
    try {
      const parsed = parseMagnet(source);
      magnet = parsed.magnet;
      if (!args.quiet && !args.json) for (const w of parsed.warnings) reportWarning(io, `magnet link: ${w.message}`);
    } catch (e) {
      return reportError(io, e, { what: 'magnet link', verbose: args.verbose });
    }
    const got = await metainfoOfMagnet(magnet, resolve(io.cwd, args.output ?? '.'), {
      io,
      say,
      openSession,
      peers,
      maxPeers,
      noPeersS,
      quiet: args.quiet as boolean,
      verbose: args.verbose as boolean,
    });
    if (typeof got === 'number') return got;
    metainfo = got;
  } else {
    const bytes = await readFileOrUrl(source, { cwd: io.cwd, maxBytes: MAX_TORRENT_BYTES, timeoutMs: FETCH_TIMEOUT_MS, signal: io.signal });
    try {
      const parsed = parseMetainfo(bytes);
      metainfo = parsed.metainfo;
      if (!args.quiet && !args.json) for (const w of parsed.warnings) reportWarning(io, `${source}: ${w.message}`);
    } catch (e) {
      return reportError(io, e, { what: source, verbose: args.verbose });
    }
  }

  const selectable = metainfo.files.map((f) => ({ path: f.safePath, length: f.length, padding: f.padding }));
  if (args.list) {
    if (args.json) writeJson(io, { type: 'files', name: metainfo.name, files: metainfo.files.map((f, i) => ({ index: i, path: f.safePath.join('/'), length: f.length, padding: f.padding })) });
    else {
      const width = String(metainfo.files.length - 1).length;
      metainfo.files.forEach((f, i) => {
        if (!f.padding) io.stdout.write(`${String(i).padStart(width)}  ${formatBytes(f.length).padStart(10)}  ${sanitize(f.safePath.join('/'))}\n`);
      });
    }
    await sessionValue?.close();
    return ExitCode.OK;
  }
  let selected: number[] | undefined;
  if (args.select !== undefined) {
    try {
      selected = parseSelection(String(args.select), selectable);
    } catch (e) {
      await sessionValue?.close();
      if (e instanceof SelectionError) throw new UsageError(`--select: ${e.message}`, 'see the files and their indices with --list');
      throw e;
    }
  }

  let log: WriteStream | undefined;
  if (args.log !== undefined) {
    const logPath = resolve(io.cwd, args.log);
    const stream = createWriteStream(logPath, { flags: 'a' });
    // An unopenable log (missing folder, no permission) is one error line, not an unhandled 'error' event.
    try {
      await once(stream, 'open');
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      await sessionValue?.close();
      return reportError(io, new CommandError(`cannot open the log ${sanitize(logPath)}: ${why}`, ExitCode.DISK, { cause: e }), { verbose: args.verbose });
    }
    // A later write failure (disk full) stops logging with a warning; the download goes on.
    stream.on('error', (e) => {
      log = undefined;
      if (!args.quiet) reportWarning(io, `log ${sanitize(logPath)}: ${e.message}; logging stopped`);
    });
    log = stream;
  }
  const logEvent = (event: string, fields: object = {}): void => {
    log?.write(`${JSON.stringify({ t: new Date().toISOString(), event, ...fields })}\n`);
  };

  const session = await openSession();
  const started = performance.now();
  const elapsed = (): number => (performance.now() - started) / 1000;
  let torrent: Torrent | undefined;
  let keeper: ResumeKeeper | undefined;
  let timer: NodeJS.Timeout | undefined;
  // The final resume save: after the session closed, so no piece write is in flight.
  const saveResume = async (): Promise<void> => {
    await keeper?.flush().catch((e: unknown) => {
      if (!args.quiet) reportWarning(io, `cannot save resume data: ${(e as Error).message}`);
    });
  };
  const progressMode: ProgressMode = args.quiet || args.json ? 'none' : (args.progress as ProgressMode);
  // Created once the data on disk is checked: a re-check shows its own bar first.
  let progress = createProgress(io, { mode: 'none', total: 1, label: '' });
  let storage: FsStorage | undefined;
  try {
    const src = sourceFromMetainfo(metainfo);
    let plan: PiecePlan | undefined;
    if (selected !== undefined) {
      plan = planPieces(src.layout, selected);
      say(`selected ${selected.length} of ${metainfo.files.length} files: ${plan.wantedCount} of ${metainfo.pieceCount} pieces (${formatBytes(plan.wantedBytes)})`);
    }
    // The safe top-level name on disk (file or folder): the resume file sits beside it.
    const diskName = src.layout.files.find((f) => !f.padding)?.path[0] ?? 'torrent';
    // tc-seed DATA may name the torrent's own file or folder rather than the folder holding it.
    if (seedOnly && basename(dir) === diskName && !existsSync(join(dir, diskName))) dir = dirname(dir);
    const store = new FsStorage(src.layout, dir);
    storage = store;
    const restoreOpts = { dir, name: diskName, infoHash: src.infoHash, layout: src.layout, storage: store, verifier: inlineVerifier };
    let checking: ReturnType<typeof createProgress> | undefined;
    const restored = await restore({
      ...restoreOpts,
      recheck: args.recheck as boolean,
      ...(io.signal !== undefined ? { signal: io.signal } : {}),
      onCheck: (done, total) => {
        if (checking === undefined) {
          say(args.recheck ? 're-checking existing data (--recheck)' : 're-checking existing data');
          checking = createProgress(io, { mode: progressMode, total, label: 'checking' });
        }
        checking.update(done, `${done}/${total} pieces`);
        if (done === total) checking.stop();
      },
    });
    if (restored.rejected !== undefined && !args.quiet) reportWarning(io, `ignoring resume data: ${restored.rejected.message}`);
    const pct = (n: number): string => `${Math.floor((100 * n) / Math.max(1, metainfo.pieceCount))}%`;
    if (restored.source === 'resume') say(`resuming: ${pct(restored.have.count)} verified from resume data`);
    else if (restored.source === 'recheck') say(`re-checked: ${pct(restored.have.count)} verified (${restored.checkedOk} of ${restored.checked} pieces on disk good)`);
    logEvent('restore', { source: restored.source, have: restored.have.count, checked: restored.checked, rejected: restored.rejected?.reason });
    if (seedOnly && restored.have.count < metainfo.pieceCount) {
      // The session listens already: close it, or its socket and timer keep the process alive.
      await session.close();
      await store.close();
      storage = undefined;
      return reportError(
        io,
        new CommandError(`${sanitize(dir)}: only ${restored.have.count} of ${metainfo.pieceCount} pieces match the torrent`, ExitCode.VERIFY_FAILED, {
          hint: 'DATA must be the folder holding the complete data; finish it with tc-download first',
        }),
        { verbose: args.verbose },
      );
    }
    keeper = new ResumeKeeper({
      ...restoreOpts,
      clock: systemClock,
      have: restored.have,
      uploaded: restored.uploaded,
      downloaded: restored.downloaded,
      onError: (e) => logEvent('resume-save-failed', { message: e.message }),
      ...(selected !== undefined ? { selection: selected } : {}),
    });
    progress = createProgress(io, { mode: progressMode, total: metainfo.pieceCount, label: sanitize(metainfo.name).slice(0, 40) });
    torrent = await session.add(src, { dir, maxPeers, peers, have: restored.have.indices(), ...(plan !== undefined ? { wanted: plan.wanted } : {}), storage: { open: () => Promise.resolve(store) } });
    const t = torrent;
    keeper.attach(t);
    // A first save at once, so a crash before the first piece still finds the stamps of what was checked.
    if (restored.source !== 'resume') keeper.save().catch(() => undefined);
    logEvent('start', { name: metainfo.name, infoHash: metainfo.infoHashHex, dir, port: session.port });
    t.on('peer-connected', (e) => logEvent('peer-connected', e));
    t.on('peer-disconnected', (e) => logEvent('peer-disconnected', { address: e.address, reason: e.reason?.message }));
    t.on('peer-banned', (e) => {
      logEvent('peer-banned', e);
      if (!args.quiet && !args.json) reportWarning(io, `banned peer ${e.address}: ${e.reason}`);
    });
    t.on('hash-failure', (e) => {
      logEvent('hash-failure', e);
      if (!args.quiet && !args.json) reportWarning(io, `piece ${e.index} failed its hash check (from ${e.peers.join(', ') || 'a departed peer'}); downloading it again`);
    });
    t.on('piece-verified', (e) => logEvent('piece-verified', e));
    t.on('warning', (w) => {
      logEvent('warning', { message: w.message, peer: w.peer });
      if (args.verbose && !args.json) reportWarning(io, w.peer !== undefined ? `${w.peer}: ${w.message}` : w.message);
    });
    t.on('tracker-status', (s) => logEvent('tracker', { url: s.url, state: s.state, peers: s.peers, error: s.lastError?.message }));

    let everPeer = false;
    const outcome = await new Promise<'done' | 'interrupted' | 'no-peers' | EngineError>((resolveOutcome) => {
      const onAbort = (): void => resolveOutcome('interrupted');
      if (io.signal?.aborted) return onAbort();
      io.signal?.addEventListener('abort', onAbort, { once: true });
      t.done.then(
        () => resolveOutcome('done'),
        (e: unknown) => resolveOutcome(e instanceof EngineError ? e : new EngineError('ENGINE_DISK', String(e))),
      );
      timer = setInterval(() => {
        const s = t.stats();
        if (s.peers > 0) everPeer = true;
        progress.update(s.piecesHave, statusText(s));
        if (args.json) writeJson(io, statusJson(metainfo.name, metainfo.infoHashHex, s, elapsed(), false));
        if (!everPeer && s.downloaded === 0 && elapsed() > noPeersS) resolveOutcome('no-peers');
      }, STATUS_INTERVAL_MS);
    });
    clearInterval(timer);
    const s = t.stats();
    // A live bar shows its final state; a plain progress prints its last line on stop() by itself.
    const live = progressMode === 'bar' || (progressMode === 'auto' && io.stderr.isTTY === true && io.env.TERM !== 'dumb');
    if (live) progress.update(s.piecesHave, statusText(s));
    progress.stop();
    logEvent('end', { outcome: typeof outcome === 'string' ? outcome : outcome.code, ...s });
    // Zero-length files hold no piece: nothing wrote them (a disk error here goes to the catch below, exit 5).
    if (outcome === 'done') await store.createEmptyFiles(selected);
    /**
     * Serves peers until the --seed goal, a signal or a disk error, then stops gracefully (`stopped`
     * announced, resume saved) and prints the seeding summary. Resolves with how it ended.
     */
    const seedUntilGoal = async (goal: SeedGoal, label: string, show: (st: TorrentStats) => [number, number, string]): Promise<'goal' | 'interrupted' | EngineError> => {
      const seedStarted = performance.now();
      const seeding = createProgress(io, { mode: progressMode, total: show(t.stats())[1], label });
      const end = await new Promise<'goal' | 'interrupted' | EngineError>((resolveEnd) => {
        if (io.signal?.aborted) return resolveEnd('interrupted');
        io.signal?.addEventListener('abort', () => resolveEnd('interrupted'), { once: true });
        t.on('error', (e) => resolveEnd(e));
        timer = setInterval(() => {
          const st = t.stats();
          const [done, , text] = show(st);
          seeding.update(done, text);
          if (args.json) writeJson(io, statusJson(metainfo.name, metainfo.infoHashHex, st, elapsed(), false));
          if (seedGoalReached(goal, st.uploaded, st.totalBytes, performance.now() - seedStarted)) resolveEnd('goal');
        }, STATUS_INTERVAL_MS);
      });
      clearInterval(timer);
      seeding.stop();
      logEvent('seed-end', { outcome: typeof end === 'string' ? end : end.code, ...t.stats() });
      if (end === 'interrupted' && !args.quiet) io.stderr.write('stopping (announcing "stopped" to trackers)\n');
      await session.close();
      await saveResume();
      if (end instanceof EngineError) return end;
      const final = t.stats();
      if (args.json) writeJson(io, statusJson(metainfo.name, metainfo.infoHashHex, final, elapsed(), true));
      else if (!args.quiet) io.stdout.write(`${seedSummaryText(metainfo.name, final, (performance.now() - seedStarted) / 1000)}\n`);
      return end;
    };
    if (outcome === 'done' && seedGoal !== undefined) {
      if (!seedOnly && !args.quiet && !args.json) {
        const where = metainfo.multiFile ? resolve(dir, metainfo.files[0]!.safePath[0]!) : resolve(dir, metainfo.files[0]!.safePath.join('/'));
        io.stdout.write(`${summaryText(metainfo.name, t.stats(), elapsed(), where)}\n`);
      }
      const end = await seedUntilGoal(seedGoal, 'seeding', (st) => [1, 1, seedText(st)]);
      if (end instanceof EngineError) return reportError(io, end, { what: 'seeding failed', verbose: args.verbose });
      // Seeding is open-ended: a signal is its normal end (exit 0).
      return ExitCode.OK;
    }
    if (outcome === 'done') {
      const where = metainfo.multiFile ? resolve(dir, metainfo.files[0]!.safePath[0]!) : resolve(dir, metainfo.files[0]!.safePath.join('/'));
      await session.close();
      await saveResume();
      const final = t.stats();
      if (args.json) writeJson(io, statusJson(metainfo.name, metainfo.infoHashHex, final, elapsed(), true));
      else if (!args.quiet) io.stdout.write(`${summaryText(metainfo.name, final, elapsed(), where)}\n`);
      return ExitCode.OK;
    }
    if (outcome === 'interrupted') {
      if (!args.quiet) io.stderr.write('interrupted: stopping (announcing "stopped" to trackers)\n');
      await session.close();
      await saveResume();
      return ExitCode.INTERRUPTED;
    }
    if (outcome === 'no-peers') {
      const why = trackerFailures(t.trackerStatus());
      await session.close();
      await saveResume();
      return reportError(
        io,
        new CommandError(`no peers found within ${noPeersS} s (${why})`, ExitCode.NETWORK, {
          hint: 'check the trackers with tc-debug-tracker, or add a peer with --peer HOST:PORT',
        }),
        { verbose: args.verbose },
      );
    }
    // A disk error is shown at once. The torrent is then upload-only (RELIABILITY.md case 30): with
    // --seed it serves what it verified until the goal or a signal, and the exit code stays the disk's.
    const failed = reportError(io, outcome, { what: 'download failed', verbose: args.verbose });
    if (seedGoal !== undefined && t.state.kind === 'upload-only') {
      say('serving the verified pieces meanwhile (--seed); Ctrl-C stops');
      await seedUntilGoal(seedGoal, 'upload only (disk error): seeding', (st) => [st.piecesHave, st.pieceCount, seedText(st)]);
      return failed;
    }
    await session.close();
    await saveResume();
    return failed;
  } catch (e) {
    clearInterval(timer);
    progress.stop();
    await session.close();
    if (torrent === undefined) await storage?.close();
    await saveResume();
    if (e instanceof EngineError && e.code === 'ENGINE_CLOSED' && io.signal?.aborted === true) return ExitCode.INTERRUPTED;
    if (e instanceof EngineError && e.code === 'ENGINE_UNSAFE_PATH') {
      reportError(io, e, { what: source, verbose: args.verbose });
      return ExitCode.BAD_INPUT;
    }
    const code = exitCodeFor(e);
    reportError(io, e, { verbose: args.verbose });
    return code;
  } finally {
    await new Promise<void>((r) => (log ? log.end(() => r()) : r()));
  }
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
 * The session stays open on success (the torrent takes over the fetch's connections).
 */
async function metainfoOfMagnet(magnet: Magnet, dir: string, o: MagnetRun): Promise<Metainfo | number> {
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
      // Give up like a .torrent download does, when nobody has offered the metadata by then.
      if (fetch.stats().sources === 0 && (performance.now() - started) / 1000 > o.noPeersS) resolveOutcome('no-peers');
    }, STATUS_INTERVAL_MS);
  });
  clearInterval(timer);
  if (outcome === 'interrupted') {
    if (!o.quiet) o.io.stderr.write('interrupted while fetching the metadata\n');
    await session.close();
    return ExitCode.INTERRUPTED;
  }
  if (outcome === 'no-peers') {
    const st = fetch.stats();
    const trackers = fetch.trackerStatus();
    const why = `${st.peers} peer${st.peers === 1 ? '' : 's'} connected, none offering it; trackers: ${trackers.length === 0 ? 'the magnet link lists none' : trackerFailures(trackers)}`;
    await session.close();
    return reportError(
      o.io,
      new CommandError(`no peer sent the metadata within ${o.noPeersS} s (${why})`, ExitCode.NETWORK, {
        hint: 'add a peer that has the torrent with --peer HOST:PORT (or x.pe= in the link), or use the .torrent file',
      }),
      { verbose: o.verbose },
    );
  }
  if (outcome instanceof EngineError) {
    await session.close();
    const code = reportError(o.io, outcome, { what: 'magnet link', verbose: o.verbose });
    return outcome.code === 'ENGINE_BAD_TORRENT' ? ExitCode.BAD_INPUT : code;
  }
  o.say(`metadata received: ${sanitize(outcome.name)} (${outcome.files.length} file${outcome.files.length === 1 ? '' : 's'}, ${formatBytes(outcome.totalLength)})`);
  // Saved atomically, so a later run (resume) starts from it without asking peers again.
  try {
    await mkdir(dir, { recursive: true });
    await writeFileAtomic(saved, torrentBytes(outcome));
  } catch (e) {
    if (!o.quiet) reportWarning(o.io, `cannot save the metadata as ${sanitize(saved)}: ${(e as Error).message}`);
  }
  return outcome;
}
