import {
  CommandError,
  createProgress,
  ExitCode,
  exitCodeFor,
  formatBytes,
  reportError,
  reportWarning,
  sanitize,
  writeJson,
  type Io,
  type Progress,
  type ProgressMode,
} from '@tc/cli';
import type { Metainfo } from '@tc/codec';
import type { EngineError, Finding, TorrentStats } from '@tc/engine';
import type { Job } from '../job.js';
import type { JobOutcome, JobStatus } from '../types.js';
import type { JobFlags } from './flags.js';
import { findingLines, findingStatus, findingsJson } from './findings.js';
import { seedSummaryText, seedText, statusJson, statusText, summaryText, trackerFailures } from './render.js';

/** The flags that shape what a command shows (tc-download's and tc-seed's parsed arguments have them all). */
export interface ConsoleFlags extends Pick<JobFlags, 'quiet' | 'progress' | 'recheck' | 'firstPeerTimeoutS'> {
  /** `--seed`'s goal, shown on the seeding line (tc-seed without --seed: until interrupted). */
  readonly seedGoal?: JobFlags['seedGoal'];
  /** `--json`: status objects and the summary on stdout, no human lines on stderr. */
  readonly json: boolean;
  readonly verbose: boolean;
}

export interface JobConsoleOptions {
  /** Where to write; `io.signal` is the job's. */
  readonly io: Io;
  readonly metainfo: Metainfo;
  readonly flags: ConsoleFlags;
  /** tc-seed: no "downloaded" summary before seeding, and incomplete data is the user's DATA folder. */
  readonly seedOnly: boolean;
  /** The folder the job works in (named when tc-seed's data does not match). */
  readonly dir: string;
  /** Where the summary says the files are. */
  readonly where: string;
  /** The torrent argument as given: names an unsafe torrent in its error line. */
  readonly source: string;
}

/** A progress display that shows nothing: before the job has started one. */
const NO_PROGRESS: Progress = { update() {}, stop() {} };

/**
 * How tc-download and tc-seed show a job on a terminal: lines and progress on stderr, results on
 * stdout (`--json` objects or a summary), and the exit code from the outcome (`finish`). The job
 * itself never writes anything; this is its one renderer for the commands.
 */
export class JobConsole {
  private readonly o: JobConsoleOptions;
  private readonly f: ConsoleFlags;
  private readonly name: string;
  private readonly mode: ProgressMode;
  private checking: Progress | undefined;
  private progress: Progress = NO_PROGRESS;
  private seeding: Progress = NO_PROGRESS;
  private uploadOnly = false;
  /** The disk error that ended the download, and whether its line is printed already. */
  private diskError: EngineError | undefined;
  private diskErrorShown = false;
  /** The torrent's diagnosis as last shown (issue 15): the reason given when the job ends without peers. */
  private findings: readonly Finding[] = [];
  private readonly job: Job;

  constructor(job: Job, o: JobConsoleOptions) {
    this.o = o;
    this.job = job;
    this.f = o.flags;
    this.name = o.metainfo.name;
    const f = o.flags;
    this.mode = f.quiet || f.json ? 'none' : f.progress;
    job.on('selected', (s) =>
      this.say(`selected ${s.files} of ${s.fileCount} files: ${s.wantedPieces} of ${s.pieceCount} pieces (${formatBytes(s.wantedBytes)})`),
    );
    job.on('checking', ({ done, total }) => {
      if (this.checking === undefined) {
        this.say(f.recheck ? 're-checking existing data (--recheck)' : 're-checking existing data');
        this.checking = createProgress(o.io, { mode: this.mode, total, label: 'checking' });
      }
      this.checking.update(done, `${done}/${total} pieces`);
      if (done === total) this.checking.stop();
    });
    job.on('restored', (r) => {
      if (r.rejected !== undefined && !f.quiet) reportWarning(o.io, `ignoring resume data: ${r.rejected.message}`);
      const pct = (n: number): string => `${Math.floor((100 * n) / Math.max(1, r.pieceCount))}%`;
      if (r.source === 'resume') this.say(`resuming: ${pct(r.have)} verified from resume data`);
      else if (r.source === 'recheck') this.say(`re-checked: ${pct(r.have)} verified (${r.checkedOk} of ${r.checked} pieces on disk good)`);
    });
    job.on('started', ({ torrent }) => {
      torrent.on('diagnosis', (findings) => {
        this.findings = findings;
        if (f.verbose) for (const line of findingLines(findings)) this.say(line);
      });
      this.progress = createProgress(o.io, { mode: this.mode, total: o.metainfo.pieceCount, label: sanitize(this.name).slice(0, 40) });
    });
    job.on('peer-banned', (e) => {
      if (!f.quiet && !f.json) reportWarning(o.io, `banned peer ${e.address}: ${e.reason}`);
    });
    job.on('hash-failure', (e) => {
      if (!f.quiet && !f.json)
        reportWarning(o.io, `piece ${e.index} failed its hash check (from ${e.peers.join(', ') || 'a departed peer'}); downloading it again`);
    });
    job.on('warning', (w) => {
      if (f.verbose && !f.json) reportWarning(o.io, w.peer !== undefined ? `${w.peer}: ${w.message}` : w.message);
    });
    job.on('status', (s) => this.status(s));
    job.on('download-end', (end) => {
      // A live bar shows its final state; a plain progress prints its last line on stop() by itself.
      const live = this.mode === 'bar' || (this.mode === 'auto' && o.io.stderr.isTTY === true && o.io.env.TERM !== 'dumb');
      if (live) this.progress.update(end.stats.piecesHave, statusText(end.stats));
      this.progress.stop();
      if (end.kind === 'disk-error') this.diskError = end.error;
    });
    job.on('seeding', ({ uploadOnly, stats, elapsedMs }) => {
      this.uploadOnly = uploadOnly;
      if (uploadOnly) {
        // Shown at once, before the torrent goes on serving what it verified (not again at the end).
        if (this.diskError !== undefined) reportError(o.io, this.diskError, { what: 'download failed', verbose: f.verbose });
        this.diskErrorShown = true;
        this.say('serving the verified pieces meanwhile (--seed); Ctrl-C stops');
      } else if (!o.seedOnly && !f.quiet && !f.json) {
        o.io.stdout.write(`${summaryText(this.name, stats, elapsedMs / 1000, o.where)}\n`);
      }
      const label = uploadOnly ? 'upload only (disk error): seeding' : 'seeding';
      // Upload only: how much of the torrent is served; a full seed has nothing to count (issue 17).
      this.seeding = createProgress(o.io, { mode: this.mode, total: uploadOnly ? o.metainfo.pieceCount : 1, label, count: uploadOnly });
    });
    job.on('seed-end', () => this.seeding.stop());
    job.on('stopping', ({ reason, phase }) => {
      if (reason !== 'interrupted' || f.quiet) return;
      o.io.stderr.write(
        phase === 'downloading' ? 'interrupted: stopping (announcing "stopped" to trackers)\n' : 'stopping (announcing "stopped" to trackers)\n',
      );
    });
    job.on('resume-save-failed', ({ error, final }) => {
      if (final && !f.quiet) reportWarning(o.io, `cannot save resume data: ${error.message}`);
    });
  }

  private say(line: string): void {
    if (!this.f.quiet && !this.f.json) this.o.io.stderr.write(`${line}\n`);
  }

  private status(s: JobStatus): void {
    const downloading = s.phase === 'downloading';
    if (downloading) this.findings = this.job.torrent?.diagnose() ?? this.findings;
    const why = downloading ? findingStatus(this.findings, s.stats.downRateBps) : undefined;
    if (downloading) this.progress.update(s.stats.piecesHave, why !== undefined ? `${statusText(s.stats)}  ${why}` : statusText(s.stats));
    else this.seeding.update(this.uploadOnly ? s.stats.piecesHave : 1, seedText(s.stats, this.f.seedGoal, s.seedMs));
    if (this.f.json) {
      const status = statusJson(this.name, this.o.metainfo.infoHashHex, s.stats, s.elapsedMs / 1000, false);
      writeJson(this.o.io, downloading ? { ...status, findings: findingsJson(this.findings) } : status);
    }
  }

  private summary(stats: TorrentStats, elapsedMs: number, text: () => string): void {
    if (this.f.json) writeJson(this.o.io, statusJson(this.name, this.o.metainfo.infoHashHex, stats, elapsedMs / 1000, true));
    else if (!this.f.quiet) this.o.io.stdout.write(`${text()}\n`);
  }

  /** Prints how the job ended (summary on stdout, or one error line) and returns the exit code. */
  finish(outcome: JobOutcome): ExitCode {
    const { io } = this.o;
    const { verbose } = this.f;
    const name = this.name;
    switch (outcome.kind) {
      case 'done':
        this.summary(outcome.stats, outcome.elapsedMs, () => summaryText(name, outcome.stats, outcome.elapsedMs / 1000, this.o.where));
        return ExitCode.OK;
      case 'seeded':
        // The summary either way; a signal's end is still 130, as every interrupted command (CLI.md).
        this.summary(outcome.stats, outcome.elapsedMs, () => seedSummaryText(name, outcome.stats, outcome.seedMs / 1000));
        return outcome.until === 'interrupted' ? ExitCode.INTERRUPTED : ExitCode.OK;
      case 'seed-failed':
        return reportError(io, outcome.error, { what: 'seeding failed', verbose });
      case 'interrupted':
        return ExitCode.INTERRUPTED;
      case 'no-peers': {
        // The diagnosis is the reason when it has one (issue 15); the tracker list otherwise.
        const top = this.findings[0];
        const code = reportError(
          io,
          new CommandError(
            `no peers found within ${this.f.firstPeerTimeoutS} s (${top !== undefined ? sanitize(top.text) : trackerFailures(outcome.trackers)})`,
            ExitCode.NETWORK,
            { hint: top !== undefined ? sanitize(top.advice) : 'check the trackers with tc-debug-tracker, or add a peer with --peer HOST:PORT' },
          ),
          { verbose },
        );
        if (!this.f.json && this.findings.length > 1) for (const line of findingLines(this.findings.slice(1))) io.stderr.write(`${line}\n`);
        return code;
      }
      case 'disk-error': {
        // The torrent served what it verified (--seed); the exit code stays the disk's.
        const seeded = outcome.seeded;
        if (seeded !== undefined && this.diskErrorShown) {
          if (seeded.until !== 'error') this.summary(outcome.stats, outcome.elapsedMs, () => seedSummaryText(name, outcome.stats, seeded.seedMs / 1000));
          return exitCodeFor(outcome.error);
        }
        return reportError(io, outcome.error, { what: 'download failed', verbose });
      }
      case 'verify-failed':
        return reportError(
          io,
          new CommandError(`${sanitize(this.o.dir)}: only ${outcome.have} of ${outcome.pieceCount} pieces match the torrent`, ExitCode.VERIFY_FAILED, {
            hint: 'DATA must be the folder holding the complete data; finish it with tc-download first',
          }),
          { verbose },
        );
      case 'failed': {
        const e = outcome.error;
        if (e.code === 'ENGINE_CLOSED' && io.signal?.aborted === true) return ExitCode.INTERRUPTED;
        if (e.code === 'ENGINE_UNSAFE_PATH') {
          reportError(io, e, { what: this.o.source, verbose });
          return ExitCode.BAD_INPUT;
        }
        return reportError(io, e, { verbose });
      }
    }
  }
}
