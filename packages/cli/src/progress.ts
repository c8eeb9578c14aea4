import cliProgress from 'cli-progress';
import type { Io } from './io.js';

export type ProgressMode = 'auto' | 'bar' | 'plain' | 'none';

export interface Progress {
  /** `done` of `total` units; `status` is the rest of the line (speed, peers, …), already sanitized. */
  update(done: number, status?: string): void;
  /** Ends the bar (leaves the last state on screen) or prints the last plain line. */
  stop(): void;
}

/** How often a plain (non-TTY) progress line is printed. */
const PLAIN_INTERVAL_MS = 5_000;

/**
 * Progress on stderr (CLI.md): a live bar only when stderr is a terminal under `auto`, otherwise a
 * plain line every few seconds; `none` prints nothing.
 */
export function createProgress(
  io: Io,
  opts: {
    mode: ProgressMode;
    total: number;
    label: string;
    now?: () => number;
    /** false: no bar, percent nor count, just the status (seeding). */ count?: boolean;
  },
): Progress {
  const count = opts.count ?? true;
  const mode = opts.mode === 'auto' ? (io.stderr.isTTY && io.env.TERM !== 'dumb' ? 'bar' : 'plain') : opts.mode;
  if (mode === 'none') return { update() {}, stop() {} };
  const total = Math.max(opts.total, 1);
  if (mode === 'plain') {
    const now = opts.now ?? Date.now;
    let last = -Infinity;
    let lastLine = '';
    const line = (done: number, status: string): string =>
      count ? `${opts.label}: ${((100 * done) / total).toFixed(1)}% (${done}/${opts.total})${status ? ` ${status}` : ''}` : `${opts.label}: ${status}`;
    return {
      update(done, status = '') {
        lastLine = line(done, status);
        const t = now();
        if (t - last >= PLAIN_INTERVAL_MS) {
          last = t;
          io.stderr.write(`${lastLine}\n`);
        }
      },
      stop() {
        if (lastLine) io.stderr.write(`${lastLine}\n`);
      },
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream: io.stderr as unknown as NodeJS.WritableStream,
      format: count ? `${opts.label} [{bar}] {percentage}% {value}/{total} {status}` : `${opts.label}: {status}`,
      barsize: 30,
      hideCursor: true,
      clearOnComplete: false,
      forceRedraw: false,
      noTTYOutput: false,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { status: '' });
  return {
    update(done, status = '') {
      bar.update(done, { status });
    },
    stop() {
      bar.stop();
    },
  };
}
