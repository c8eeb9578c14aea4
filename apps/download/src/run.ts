import { resolve } from 'node:path';
import { checkOutputFolder, ExitCode, reportError, type Io } from '@tc/cli';
import type { Metainfo } from '@tc/codec';
import { stateFolder, type Session } from '@tc/engine';
import { Job } from '@tc/job';
import { EventLog, JobConsole, lockRun, openSession, portFallbackNotice } from '@tc/job/cli';
import { parseDownloadArgs, readSelection, type DownloadArgs } from './args.js';
import { printFiles } from './list.js';
import { readTorrentArgument } from './source.js';

/**
 * `tc-download`: reads the torrent (a file, a URL, or a magnet's metadata), then runs the job in
 * the command's one session and renders it. Returns the exit code.
 */
export async function run(argv: string[], io: Io): Promise<number> {
  const args = await parseDownloadArgs(argv, io);
  if (args === undefined) return ExitCode.OK;
  // The session is opened on first use: before the metadata for a magnet, after the torrent is read otherwise.
  let opening: Promise<Session> | undefined;
  const session = (): Promise<Session> => (opening ??= openSession(args, portFallbackNotice(io, args)));
  if (!args.list) {
    // A folder that cannot be written is a disk error known now, before any peer is dialled (issue 17).
    try {
      await checkOutputFolder(args.dir, '-o');
    } catch (e) {
      return reportError(io, e, { verbose: args.verbose });
    }
  }
  try {
    const metainfo = await readTorrentArgument(args, io, session);
    if (typeof metainfo === 'number') return metainfo;
    if (args.list) {
      printFiles(io, metainfo, args.json);
      return ExitCode.OK;
    }
    const selection = args.select !== undefined ? readSelection(args.select, metainfo) : undefined;
    // One run per torrent and folder: a second would share its resume data (issue 17).
    const lock = await lockRun(io, args, { infoHash: metainfo.infoHashHex, dir: args.dir, command: 'tc-download' });
    if (typeof lock === 'number') return lock;
    try {
      const log = await EventLog.forCommand(args, io);
      if (typeof log === 'number') return log;
      try {
        return await download(args, io, metainfo, selection, await session(), log);
      } finally {
        await log?.close();
      }
    } finally {
      await lock.release();
    }
  } finally {
    await (await opening?.catch(() => undefined))?.close();
  }
}

async function download(
  args: DownloadArgs,
  io: Io,
  metainfo: Metainfo,
  selection: number[] | undefined,
  session: Session,
  log: EventLog | undefined,
): Promise<number> {
  const job = new Job({
    session,
    metainfo,
    dir: args.dir,
    // Resume data in the state folder: nothing of ours is left in the download folder (issue 17).
    stateDir: stateFolder(io.env),
    peers: args.peers,
    webSeeds: args.webSeeds,
    maxPeers: args.maxPeers,
    recheck: args.recheck,
    ...(args.sequential ? { sequential: true } : {}),
    firstPeerTimeoutMs: args.firstPeerTimeoutS * 1000,
    ...(selection !== undefined ? { selection } : {}),
    ...(args.seedGoal !== undefined ? { seedGoal: args.seedGoal } : {}),
    ...(io.signal !== undefined ? { signal: io.signal } : {}),
  });
  const top = metainfo.files[0]!.safePath;
  const where = resolve(args.dir, metainfo.multiFile ? top[0]! : top.join('/'));
  const view = new JobConsole(job, { io, metainfo, flags: args, seedOnly: false, dir: args.dir, where, source: args.source });
  log?.attach(job, args.dir);
  return view.finish(await job.run());
}
