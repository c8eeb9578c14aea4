import { UsageError } from './exit-codes.js';

/**
 * The positional arguments of a command (yargs's `_`) as strings, with their count checked:
 * too few or too many is a usage error that says what was expected and points at --help.
 */
export function positionals(
  args: { readonly _: readonly (string | number)[] },
  opts: { readonly command: string; readonly what: string; readonly min?: number; readonly max?: number },
): string[] {
  const values = args._.map(String);
  const min = opts.min ?? 1;
  const max = opts.max ?? Infinity;
  if (values.length < min || values.length > max) {
    const count = min === max ? `exactly ${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
    throw new UsageError(`give ${count} ${opts.what}`, `run ${opts.command} --help for usage`);
  }
  return values;
}
