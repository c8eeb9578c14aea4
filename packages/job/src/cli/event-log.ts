import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { CommandError, ExitCode, reportError, reportWarning, sanitize, toJsonLine, type Io } from '@tc/cli';
import type { Job } from '../job.js';

/**
 * The `--log FILE` of tc-download and tc-seed: one JSON object a line (`t`, `event`, fields),
 * appended, for scripts and post-mortems. Torrent names and peers' strings are escaped like
 * `--json` output (C1 and bidi controls as `\uNNNN`).
 */
export class EventLog {
  /** Undefined once a write failed: logging stops, the job goes on. */
  private stream: WriteStream | undefined;

  private constructor(stream: WriteStream, path: string, io: Io, quiet: boolean) {
    this.stream = stream;
    // A later write failure (disk full) stops logging with a warning; the download goes on.
    stream.on('error', (e) => {
      this.stream = undefined;
      if (!quiet) reportWarning(io, `log ${sanitize(path)}: ${e.message}; logging stopped`);
    });
  }

  /** Opens `path` for appending. An unopenable log (missing folder, no permission) is a CommandError (exit 5), not an 'error' event. */
  static async open(path: string, io: Io, quiet: boolean): Promise<EventLog> {
    const stream = createWriteStream(path, { flags: 'a' });
    try {
      await once(stream, 'open');
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      throw new CommandError(`cannot open the log ${sanitize(path)}: ${why}`, ExitCode.DISK, { cause: e });
    }
    return new EventLog(stream, path, io, quiet);
  }

  /**
   * `--log` for a command: the opened log, undefined without `--log`, or, for a log that cannot be
   * opened, the exit code after its error line.
   */
  static async forCommand(
    flags: { readonly log: string | undefined; readonly quiet: boolean; readonly verbose: boolean },
    io: Io,
  ): Promise<EventLog | undefined | ExitCode> {
    if (flags.log === undefined) return undefined;
    try {
      return await EventLog.open(flags.log, io, flags.quiet);
    } catch (e) {
      return reportError(io, e, { verbose: flags.verbose });
    }
  }

  write(event: string, fields: object = {}): void {
    this.stream?.write(`${toJsonLine({ t: new Date().toISOString(), event, ...fields })}\n`);
  }

  /** Logs what the job does: restore, start, peers, pieces, warnings, trackers, and how each phase ended. */
  attach(job: Job, dir: string): void {
    job.on('restored', (r) => this.write('restore', { source: r.source, have: r.have, checked: r.checked, rejected: r.rejected?.reason }));
    job.on('resume-save-failed', ({ error }) => this.write('resume-save-failed', { message: error.message }));
    job.on('started', ({ torrent, port }) => this.write('start', { name: torrent.name, infoHash: job.infoHashHex, dir, port }));
    job.on('peer-connected', (e) => this.write('peer-connected', e));
    job.on('peer-disconnected', (e) => this.write('peer-disconnected', { address: e.address, reason: e.reason?.message }));
    job.on('peer-banned', (e) => this.write('peer-banned', e));
    job.on('hash-failure', (e) => this.write('hash-failure', e));
    job.on('piece-verified', (e) => this.write('piece-verified', e));
    job.on('warning', (w) => this.write('warning', { message: w.message, peer: w.peer }));
    job.on('tracker-status', (s) => this.write('tracker', { url: s.url, state: s.state, peers: s.peers, error: s.lastError?.message }));
    job.on('download-end', (end) => this.write('end', { outcome: end.kind === 'disk-error' ? end.error.code : end.kind, ...end.stats }));
    job.on('seed-end', (end) => this.write('seed-end', { outcome: end.error !== undefined ? end.error.code : end.kind, ...end.stats }));
  }

  /** Flushes and closes the file. */
  close(): Promise<void> {
    const s = this.stream;
    return new Promise<void>((r) => (s !== undefined ? s.end(() => r()) : r()));
  }
}
