import yargs, { type ArgumentsCamelCase, type Argv } from 'yargs';
import type { ColourMode } from './colour.js';
import { UsageError } from './exit-codes.js';
import type { Io } from './io.js';
import { COMPLETION_SHELLS, completionScript, type CompletionShell } from './completion.js';
import { applyConfig, printConfig } from './config.js';
import { versionText } from './version.js';

/** Options every command has (CLI.md). */
export interface CommonOptions {
  readonly color: ColourMode;
  readonly json: boolean;
  readonly verbose: boolean;
}

/**
 * Builds the command's yargs parser with the shared options and behaviour: strict flags, help and
 * version to stdout, and every parse failure as a UsageError (exit 2) rather than yargs's own exit.
 */
/** Each parser's command name, for its config file section. */
const commandNames = new WeakMap<object, string>();

export function commandParser(name: string, usage: string): Argv<CommonOptions> {
  const parser = yargs()
    .scriptName(name)
    .usage(usage)
    .option('color', {
      choices: ['auto', 'always', 'never'] as const,
      default: 'auto' as ColourMode,
      describe: 'colour output (NO_COLOR, FORCE_COLOR and TERM=dumb are honoured under auto)',
    })
    .option('json', { type: 'boolean', default: false, describe: 'machine-readable output on stdout' })
    .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'more detail, and the cause of errors' })
    .strictOptions()
    .help()
    .alias('help', 'h')
    // Our own --version (versionText), answered by parseCommand: yargs' would print a bare number.
    .version(false)
    .option('version', { type: 'boolean', describe: "show the version, Node's version and the build commit" })
    .option('completion', { choices: COMPLETION_SHELLS, describe: 'print a shell completion script for this command, then exit' })
    .option('print-config', {
      type: 'boolean',
      describe: 'show every option’s value and where it came from (flag > TC_* variable > config file > default), then exit',
    })
    .wrap(100)
    .exitProcess(false)
    .fail((msg: string | undefined, err: Error | undefined) => {
      if (err instanceof UsageError) throw err;
      // yargs' own message: its newlines are layout, kept (sanitize still escapes the rest).
      if (msg !== undefined) throw new UsageError(msg, `run ${name} --help for usage`, { multiline: true });
      throw new UsageError(err?.message ?? 'bad arguments', `run ${name} --help for usage`);
    }) as unknown as Argv<CommonOptions>;
  commandNames.set(parser, name);
  return parser;
}

/**
 * Parses; returns undefined when --help or --version was shown (the command then exits 0).
 * yargs reports help through its callback's output, which goes to stdout here.
 */
export async function parseCommand<T>(parser: Argv<T>, argv: readonly string[], io: Io): Promise<ArgumentsCamelCase<T> | undefined> {
  let shown = false;
  // Defaults from the config file and TC_* variables first, so that a flag still wins.
  const name = commandNames.get(parser);
  const applied = name !== undefined ? applyConfig(parser as Argv<unknown>, name, io) : undefined;
  const parsed = await new Promise<ArgumentsCamelCase<T>>((resolve, reject) => {
    void parser.parseAsync([...argv], {}, (err: Error | undefined, args: ArgumentsCamelCase<T>, output: string) => {
      if (err) {
        reject(err);
        return;
      }
      if (output) {
        io.stdout.write(`${output}\n`);
        shown = true;
      }
      resolve(args);
    });
  }).catch((e: unknown) => {
    if (e instanceof UsageError) throw e;
    throw new UsageError(e instanceof Error ? e.message : String(e));
  });
  if (shown) return undefined;
  if ((parsed as { version?: unknown }).version === true) {
    io.stdout.write(`${versionText(typeof parsed.$0 === 'string' && parsed.$0 !== '' ? parsed.$0 : 'tc', io.env)}\n`);
    return undefined;
  }
  const shell = (parsed as { completion?: CompletionShell }).completion;
  if (shell !== undefined) {
    io.stdout.write(completionScript(parser as Argv<unknown>, name ?? String(parsed.$0), shell));
    return undefined;
  }
  if (applied !== undefined && (parsed as { printConfig?: unknown }).printConfig === true) {
    printConfig(io, applied, argv, parsed as Record<string, unknown>, (parsed as { json?: unknown }).json === true);
    return undefined;
  }
  return parsed;
}

/** Widest example command yargs keeps in its left column (half its 100-column wrap, less padding). */
const EXAMPLE_COLUMN = 48;

/**
 * Adds help examples that never wrap mid-command (issue 17): one that fits yargs' column is shown
 * beside its description; a longer one gets a line of its own, under its description as a shell
 * comment (`# …`), so it can still be copied whole.
 * `name` replaces `$0` to measure.
 */
export function withExamples<T>(parser: Argv<T>, name: string, examples: readonly (readonly [command: string, description: string])[]): Argv<T> {
  let p = parser;
  for (const [command, description] of examples) {
    if (command.replace(/\$0/g, name).length <= EXAMPLE_COLUMN) p = p.example(command, description);
    else p = p.example(`# ${description}:`, '').example(command, '');
  }
  return p;
}
