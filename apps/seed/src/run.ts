import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ExitCode, readTorrentArg, reportError, reportWarning, UsageError, type Io } from '@tc/cli';
import type { Metainfo } from '@tc/codec';
import { stateFolder, type Session } from '@tc/engine';
import { diskNameOf, Job } from '@tc/job';
import { EventLog, JobConsole, lockRun, openSession, portFallbackNotice } from '@tc/job/cli';
import { parseSeedArgs, type SeedArgs } from './args.js';

/** Longest a URL fetch of a .torrent may take (the shared fetch has 10 s; a busy tracker site gets more). */
const FETCH_TIMEOUT_MS = 30_000;

/** `tc-seed TORRENT DATA`: verify the data, then seed it until the goal or a signal. Returns the exit code. */
export async function run(argv: string[], io: Io): Promise<number> {
  const args = await parseSeedArgs(argv, io);
  if (args === undefined) return ExitCode.OK;
  let metainfo: Metainfo;
  try {
    const arg = await readTorrentArg(args.source, { cwd: io.cwd, signal: io.signal, timeoutMs: FETCH_TIMEOUT_MS, stdin: io.stdin });
    if (arg.kind === 'magnet')
      throw new UsageError(
        'tc-seed needs the .torrent, not a magnet link',
        "seed with the .torrent file (tc-download saves a magnet's metadata as HASH.torrent in its folder)",
      );
    metainfo = arg.metainfo;
    if (!args.quiet && !args.json) for (const w of arg.warnings) reportWarning(io, `${args.source}: ${w.message}`);
  } catch (e) {
    return reportError(io, e, { verbose: args.verbose });
  }
  const log = await EventLog.forCommand(args, io);
  if (typeof log === 'number') return log;
  try {
    return await seed(args, io, metainfo, log);
  } finally {
    await log?.close();
  }
}

async function seed(args: SeedArgs, io: Io, metainfo: Metainfo, log: EventLog | undefined): Promise<number> {
  // DATA may name the torrent's own file or folder rather than the folder holding it.
  const name = diskNameOf(metainfo);
  const dir = basename(args.data) === name && !existsSync(join(args.data, name)) ? dirname(args.data) : args.data;
  // One run per torrent and folder, tc-download's included: they would share resume data (issue 17).
  // Taken before the session opens, so a refused run binds no port and says nothing about one.
  const lock = await lockRun(io, args, { infoHash: metainfo.infoHashHex, dir, command: 'tc-seed' });
  if (typeof lock === 'number') return lock;
  try {
    const session = await openSession(args, portFallbackNotice(io, args));
    try {
      return await seedLocked(args, io, metainfo, session, log, dir, name);
    } finally {
      await session.close();
    }
  } finally {
    await lock.release();
  }
}

async function seedLocked(args: SeedArgs, io: Io, metainfo: Metainfo, session: Session, log: EventLog | undefined, dir: string, name: string): Promise<number> {
  const job = new Job({
    session,
    metainfo,
    dir,
    // Resume data in the state folder: nothing is written into the data folder (issue 17).
    stateDir: stateFolder(io.env),
    seedOnly: true,
    seedGoal: args.seedGoal ?? { kind: 'forever' },
    peers: args.peers,
    maxPeers: args.maxPeers,
    recheck: args.recheck,
    firstPeerTimeoutMs: args.firstPeerTimeoutS * 1000,
    ...(io.signal !== undefined ? { signal: io.signal } : {}),
  });
  const view = new JobConsole(job, { io, metainfo, flags: args, seedOnly: true, dir, where: join(dir, name), source: args.source });
  log?.attach(job, dir);
  return view.finish(await job.run());
}
