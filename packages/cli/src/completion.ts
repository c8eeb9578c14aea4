import type { Argv } from 'yargs';

/**
 * Shell completion scripts for a command (`tc-download --completion bash|zsh|fish`, issue 17),
 * generated from its yargs options: every flag, the values of those with choices, and files for
 * the rest. Static text, no callback into the command, so completing never runs tc.
 */

export const COMPLETION_SHELLS = ['bash', 'zsh', 'fish'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

interface Flag {
  readonly key: string;
  readonly aliases: readonly string[];
  /** Takes a value (not a boolean). */
  readonly takesValue: boolean;
  readonly choices: readonly string[] | undefined;
  readonly description: string;
}

/** The visible options of a parser (hidden ones are not offered). */
function flagsOf(parser: Argv<unknown>): Flag[] {
  const p = parser as unknown as {
    getOptions(): {
      key: Record<string, boolean>;
      alias: Record<string, string[]>;
      boolean: string[];
      choices: Record<string, unknown[]>;
      hiddenOptions: string[];
    };
    getInternalMethods(): { getUsageInstance(): { getDescriptions(): Record<string, string | undefined> } };
  };
  const o = p.getOptions();
  const descriptions = p.getInternalMethods().getUsageInstance().getDescriptions();
  const aliasOf = new Set(Object.values(o.alias).flat());
  return Object.keys(o.key)
    .filter((k) => !aliasOf.has(k) && !o.hiddenOptions.includes(k))
    .map((key) => ({
      key,
      aliases: o.alias[key] ?? [],
      takesValue: !o.boolean.includes(key),
      choices: o.choices[key]?.map(String),
      description: (descriptions[key] ?? '').replace(/^__yargsString__:/, ''),
    }));
}

const dashed = (n: string): string => (n.length === 1 ? `-${n}` : `--${n}`);
/** A shell function name from a command name: tc-download → _tc_download. */
const fn = (name: string): string => `_${name.replace(/[^A-Za-z0-9]/g, '_')}`;
/** Inside single quotes (bash, fish): ' becomes '\''. */
const sq = (s: string): string => s.replace(/'/g, `'\\''`);

export function completionScript(parser: Argv<unknown>, name: string, shell: CompletionShell): string {
  const flags = flagsOf(parser);
  if (shell === 'bash') return bash(name, flags);
  if (shell === 'zsh') return zsh(name, flags);
  return fish(name, flags);
}

function bash(name: string, flags: readonly Flag[]): string {
  const words = flags.flatMap((f) => [f.key, ...f.aliases].map(dashed)).join(' ');
  const cases = flags
    .filter((f) => f.takesValue)
    .map((f) => {
      const pattern = [f.key, ...f.aliases].map(dashed).join('|');
      const reply = f.choices ? `COMPREPLY=( $(compgen -W '${sq(f.choices.join(' '))}' -- "$cur") )` : 'COMPREPLY=( $(compgen -f -- "$cur") )';
      return `    ${pattern}) ${reply}; return ;;`;
    });
  return [
    `# bash completion for ${name}: eval "$(${name} --completion bash)" in ~/.bashrc`,
    `${fn(name)}() {`,
    '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"',
    '  case "$prev" in',
    ...cases,
    '  esac',
    `  if [[ "$cur" == -* ]]; then COMPREPLY=( $(compgen -W '${sq(words)}' -- "$cur") ); return; fi`,
    '  COMPREPLY=( $(compgen -f -- "$cur") )',
    '}',
    `complete -o filenames -F ${fn(name)} ${name}`,
    '',
  ].join('\n');
}

function zsh(name: string, flags: readonly Flag[]): string {
  // _arguments specs: '--flag[description]:message:action'; [ ] : \ and ' must not break the spec.
  const esc = (s: string): string =>
    s
      .replace(/\\/g, '\\\\')
      .replace(/[[\]:]/g, (c) => `\\${c}`)
      .replace(/'/g, `'\\''`);
  const specs = flags.map((f) => {
    const names = [f.key, ...f.aliases].map(dashed);
    const head = names.length > 1 ? `(${names.join(' ')})'{${names.join(',')}}'` : names[0]!;
    const value = f.takesValue ? `:${esc(f.key)}:${f.choices ? `(${f.choices.map(esc).join(' ')})` : '_files'}` : '';
    return `  '${head}[${esc(f.description)}]${value}'`;
  });
  return [
    `#compdef ${name}`,
    `# zsh completion for ${name}: ${name} --completion zsh > "\${fpath[1]}/_${name}"`,
    `_arguments -s \\`,
    ...specs.map((s) => `${s} \\`),
    `  '*:file:_files'`,
    '',
  ].join('\n');
}

function fish(name: string, flags: readonly Flag[]): string {
  const lines = flags.map((f) => {
    const parts = [`complete -c ${name}`];
    for (const n of [f.key, ...f.aliases]) parts.push(n.length === 1 ? `-s ${n}` : `-l ${n}`);
    if (f.takesValue) parts.push(f.choices ? `-x -a '${sq(f.choices.join(' '))}'` : '-r');
    if (f.description !== '') parts.push(`-d '${sq(f.description)}'`);
    return parts.join(' ');
  });
  return [`# fish completion for ${name}: ${name} --completion fish > ~/.config/fish/completions/${name}.fish`, ...lines, ''].join('\n');
}
