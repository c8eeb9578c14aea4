import { ExitCode, type ExitCode as ExitCodeType } from './exit-codes.js';
import { reportError } from './errors.js';
import { processIo, type Io } from './io.js';

/**
 * Runs a command's `run(argv, io)` as the process: the first SIGINT/SIGTERM aborts `io.signal`
 * (graceful stop), a second one forces exit 130, and any escaped error becomes one error line.
 */
/** How long a finished command may take to release its last handles before it is ended. */
const EXIT_WATCHDOG_MS = 5_000;

export function runMain(run: (argv: string[], io: Io) => Promise<number>, argv = process.argv.slice(2)): void {
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (): void => {
    signals++;
    if (signals === 1) {
      controller.abort(new Error('interrupted'));
    } else {
      process.stderr.write('interrupted again: exiting now\n');
      process.exit(ExitCode.INTERRUPTED);
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
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // Watchdog: a handle that a command forgot to close must not keep the process alive.
      // Unref'd, so it never delays an exit that would happen anyway.
      setTimeout(() => process.exit(process.exitCode ?? 0), EXIT_WATCHDOG_MS).unref();
    });
}

export type { ExitCodeType };
