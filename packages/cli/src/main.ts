import { ExitCode, type ExitCode as ExitCodeType } from './exit-codes.js';
import { reportError } from './errors.js';
import { processIo, type Io } from './io.js';

/**
 * How long a graceful stop may take after the first SIGINT/SIGTERM (RELIABILITY.md #32), and a
 * finished command to release its last handles, before the process is ended.
 */
const EXIT_WATCHDOG_MS = 5_000;

/**
 * Ends the process now, with the status a shell reports for Ctrl-C (130): by SIGINT's default
 * action. Not `process.exit`: its exit-time cleanup joins libuv's threadpool, so it hangs as long
 * as one I/O call never returns (a stuck disk, a full pipe) — exactly when a forced exit is needed.
 */
function exitInterrupted(): void {
  // With no listener left, Node restores SIGINT's default action (terminate).
  process.removeAllListeners('SIGINT');
  process.kill(process.pid, 'SIGINT');
  // Only reached if the signal could not end the process (it was blocked): the ordinary way.
  process.exit(ExitCode.INTERRUPTED);
}

/**
 * Runs a command's `run(argv, io)` as the process: the first SIGINT/SIGTERM aborts `io.signal`
 * (graceful stop) and arms a watchdog that ends the process if that stop hangs; a second one forces
 * the exit at once (130); any escaped error becomes one error line.
 */
export function runMain(run: (argv: string[], io: Io) => Promise<number>, argv = process.argv.slice(2)): void {
  const controller = new AbortController();
  let signals = 0;
  let stopWatchdog: NodeJS.Timeout | undefined;
  const onSignal = (): void => {
    signals++;
    if (signals === 1) {
      controller.abort(new Error('interrupted'));
      // Unref'd: a graceful stop that ends in time exits as usual, without waiting for it.
      stopWatchdog = setTimeout(() => {
        process.stderr.write(`interrupted: still stopping after ${EXIT_WATCHDOG_MS / 1000} s: exiting now without finishing\n`);
        exitInterrupted();
      }, EXIT_WATCHDOG_MS).unref();
    } else {
      process.stderr.write('interrupted again: exiting now\n');
      exitInterrupted();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A closed pipe on stdout (e.g. `| head`) is not an error worth a trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
  const io = processIo(controller.signal);
  run(argv, io)
    .then((code: number) => {
      process.exitCode = code;
    })
    .catch((e: unknown) => {
      process.exitCode = reportError(io, e, { verbose: io.env.TC_VERBOSE === '1' });
    })
    .finally(() => {
      // The command has finished its stop: its own exit code stands (130 after Ctrl-C, CLI.md).
      clearTimeout(stopWatchdog);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // Watchdog: a handle that a command forgot to close must not keep the process alive.
      // Unref'd, so it never delays an exit that would happen anyway.
      setTimeout(() => process.exit(process.exitCode ?? 0), EXIT_WATCHDOG_MS).unref();
    });
}

export type { ExitCodeType };
