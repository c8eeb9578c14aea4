// What the benchmark scripts share: a GC we can call between timed steps, numeric options, medians.
import { spawnSync } from 'node:child_process';

/**
 * Re-runs the calling script with --expose-gc when `gc` is missing, so each timed step can start
 * from a collected heap and one contender's garbage does not bill the next one's time.
 */
export function ensureExposedGc() {
  if (typeof globalThis.gc === 'function') return;
  const r = spawnSync(process.execPath, ['--expose-gc', ...process.execArgv, process.argv[1], ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exit(r.status ?? 1);
}

const args = process.argv.slice(2);

/** `--name N` from the command line as a number, or `dflt`. */
export function numberOption(name, dflt) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
}

/** Whether `--name` was given. */
export function flag(name) {
  return args.includes(`--${name}`);
}

/** The median (upper middle for an even count) of some numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
