import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { UsageError } from './exit-codes.js';
import { DEFAULT_LISTEN_PORT } from './listen-port.js';
import type { Io } from './io.js';
import { parseToml, TOML_ROOT, TomlError, type TomlDocument, type TomlValue } from './toml.js';

/**
 * Flags from the environment and a config file (CLI.md, issue 17). Precedence: flag > `TC_*`
 * variable > config file > default. Each option `--max-peers` of command `tc-download` may come from
 * `TC_MAX_PEERS` or from key `max-peers` of section `[tc-download]` of the config file:
 * `$TC_CONFIG`, else `$XDG_CONFIG_HOME/tc/config.toml` (or `config.json`), else `~/.config/tc/…`.
 * A bad value is a usage error naming where it came from (exit 2), never ignored.
 */

/** Options never read from the environment or a file: they are about this one invocation. */
const INVOCATION_ONLY = new Set(['help', 'version', 'print-config', 'completion']);
/**
 * Options whose variable the command reads itself when they have no default, with its own checks
 * (`TC_PORT`: listenPort, which also knows that a port given either way does not fall back). The
 * file still applies.
 */
const OWN_ENV = new Set(['port']);
/** A config file is a few lines; this bounds a mistaken or hostile one. */
const MAX_CONFIG_BYTES = 256 * 1024;

export type ValueSource = 'flag' | 'env' | 'file' | 'default';

/** The config file's path (which may not exist), from the environment. */
export function configPaths(env: Readonly<Record<string, string | undefined>>, cwd: string): string[] {
  if (env.TC_CONFIG !== undefined && env.TC_CONFIG !== '') return [resolve(cwd, env.TC_CONFIG)];
  const xdg = env.XDG_CONFIG_HOME;
  const home = env.HOME !== undefined && isAbsolute(env.HOME) ? env.HOME : homedir();
  const dir = join(xdg !== undefined && isAbsolute(xdg) ? xdg : join(home, '.config'), 'tc');
  return [join(dir, 'config.toml'), join(dir, 'config.json')];
}

/** The config file in use and its sections; none when no file exists (TC_CONFIG naming a missing file is an error). */
export function loadConfig(io: Io): { path: string | undefined; doc: TomlDocument } {
  const paths = configPaths(io.env, io.cwd);
  const explicit = io.env.TC_CONFIG !== undefined && io.env.TC_CONFIG !== '';
  for (const path of paths) {
    let size: number;
    try {
      const st = statSync(path);
      if (!st.isFile()) throw new UsageError(`config ${path}: not a file`);
      size = st.size;
    } catch (e) {
      if (e instanceof UsageError) throw e;
      if (explicit) throw new UsageError(`TC_CONFIG: ${path}: no such file`);
      continue;
    }
    if (size > MAX_CONFIG_BYTES) throw new UsageError(`config ${path}: larger than ${MAX_CONFIG_BYTES} bytes`);
    const text = readFileSync(path, 'utf8');
    try {
      return { path, doc: path.endsWith('.json') ? fromJson(text) : parseToml(text) };
    } catch (e) {
      if (e instanceof TomlError || e instanceof SyntaxError || e instanceof UsageError) throw new UsageError(`config ${path}: ${e.message}`);
      throw e;
    }
  }
  return { path: undefined, doc: {} };
}

function fromJson(text: string): TomlDocument {
  const v = JSON.parse(text) as unknown;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new UsageError('the top level must be an object of sections');
  const doc: TomlDocument = {};
  for (const [name, section] of Object.entries(v)) {
    if (typeof section !== 'object' || section === null || Array.isArray(section)) throw new UsageError(`section ${JSON.stringify(name)} must be an object`);
    doc[name] = section as Record<string, TomlValue>;
  }
  return doc;
}

interface OptionInfo {
  readonly key: string;
  readonly type: 'boolean' | 'number' | 'array' | 'string';
  readonly choices: readonly unknown[] | undefined;
  readonly aliases: readonly string[];
  readonly hasDefault: boolean;
}

/** The command's own options (not aliases, not the invocation-only ones). */
function optionsOf(parser: Argv<unknown>): OptionInfo[] {
  const o = (parser as unknown as { getOptions(): unknown }).getOptions() as {
    key: Record<string, boolean>;
    alias: Record<string, string[]>;
    boolean: string[];
    number: string[];
    array: string[];
    choices: Record<string, unknown[]>;
    default: Record<string, unknown>;
  };
  const aliasOf = new Set(Object.values(o.alias).flat());
  return Object.keys(o.key)
    .filter((k) => !aliasOf.has(k) && !INVOCATION_ONLY.has(k))
    .map((key) => ({
      key,
      type: o.array.includes(key) ? 'array' : o.boolean.includes(key) ? 'boolean' : o.number.includes(key) ? 'number' : 'string',
      choices: o.choices[key],
      aliases: o.alias[key] ?? [],
      hasDefault: Object.hasOwn(o.default, key),
    }));
}

export const envName = (key: string): string => `TC_${key.toUpperCase().replace(/-/g, '_')}`;

function convert(o: OptionInfo, raw: TomlValue, where: string, fromEnv: boolean): unknown {
  const bad = (what: string): never => {
    throw new UsageError(`${where}: ${JSON.stringify(raw)} is not ${what}`);
  };
  let v: unknown;
  if (o.type === 'boolean') {
    if (typeof raw === 'boolean') v = raw;
    else if (fromEnv && typeof raw === 'string') v = /^(1|true|yes|on)$/i.test(raw) ? true : /^(0|false|no|off|)$/i.test(raw) ? false : bad('true or false');
    else bad('true or false');
  } else if (o.type === 'number') {
    if (typeof raw === 'number') v = raw;
    else if (fromEnv && typeof raw === 'string' && /^[+-]?\d+(\.\d+)?$/.test(raw.trim())) v = Number(raw);
    else bad('a number');
  } else if (o.type === 'array') {
    const list = Array.isArray(raw)
      ? raw
      : fromEnv && typeof raw === 'string'
        ? raw
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== '')
        : [raw];
    v = list.map((x) => (typeof x === 'boolean' ? bad('a list of values') : String(x)));
  } else {
    v = typeof raw === 'string' || typeof raw === 'number' ? String(raw) : bad('a string');
  }
  if (o.choices !== undefined && !o.choices.includes(v)) bad(`one of ${o.choices.join(', ')}`);
  return v;
}

/** Where each option's value comes from, for --print-config. */
export interface ConfigApplied {
  readonly path: string | undefined;
  readonly sources: ReadonlyMap<string, Exclude<ValueSource, 'flag'>>;
  readonly options: readonly OptionInfo[];
}

/**
 * Sets the defaults of `parser` (command `name`) from the config file and the environment, so that
 * a flag still wins. Unknown keys in the command's section are usage errors.
 */
export function applyConfig(parser: Argv<unknown>, name: string, io: Io): ConfigApplied {
  const { path, doc } = loadConfig(io);
  const options = optionsOf(parser);
  const byName = new Map<string, OptionInfo>();
  for (const o of options) for (const k of [o.key, ...o.aliases]) byName.set(k, o);
  const sources = new Map<string, Exclude<ValueSource, 'flag'>>();
  for (const section of Object.keys(doc)) {
    if (section === TOML_ROOT) throw new UsageError(`config ${path}: keys must be in a section per command, e.g. [${name}]`);
    if (!/^tc-[a-z-]+$/.test(section)) throw new UsageError(`config ${path}: [${section}] is not a command (sections are named like [tc-download])`);
  }
  for (const [key, raw] of Object.entries(doc[name] ?? {})) {
    const o = byName.get(key);
    if (o === undefined) throw new UsageError(`config ${path}: [${name}] has no option ${JSON.stringify(key)}`, `run ${name} --help for its options`);
    parser.default(o.key, convert(o, raw, `config ${path}: [${name}] ${key}`, false));
    sources.set(o.key, 'file');
  }
  for (const o of options) {
    const raw = io.env[envName(o.key)];
    if (raw === undefined || raw === '') continue;
    // A port option without a default is the listen port of listenPort, which reads TC_PORT itself.
    if (!(OWN_ENV.has(o.key) && !o.hasDefault)) parser.default(o.key, convert(o, raw, envName(o.key), true));
    sources.set(o.key, 'env');
  }
  return { path, sources, options };
}

/** True when argv names the option (`--key`, `--key=…`, `--no-key`, or an alias). */
function givenAsFlag(argv: readonly string[], o: OptionInfo): boolean {
  const names = [o.key, ...o.aliases];
  for (const a of argv) {
    if (a === '--') break;
    for (const n of names) {
      const dashed = n.length === 1 ? `-${n}` : `--${n}`;
      if (a === dashed || a.startsWith(`${dashed}=`) || a === `--no-${n}`) return true;
    }
  }
  return false;
}

/** `--print-config`: each option's effective value and where it came from (text, or JSON with --json). */
export function printConfig(io: Io, applied: ConfigApplied, argv: readonly string[], args: Record<string, unknown>, json: boolean): void {
  // The port's variable and default are read by the command itself (listenPort): shown as it will.
  const ownValue = (key: string): unknown =>
    key !== 'port'
      ? undefined
      : io.env.TC_PORT === undefined || io.env.TC_PORT === ''
        ? DEFAULT_LISTEN_PORT
        : /^\d+$/.test(io.env.TC_PORT)
          ? Number(io.env.TC_PORT)
          : io.env.TC_PORT;
  const rows = applied.options.map((o) => ({
    option: `--${o.key}`,
    value: args[o.key] ?? ownValue(o.key) ?? null,
    source: givenAsFlag(argv, o) ? 'flag' : (applied.sources.get(o.key) ?? 'default'),
    env: envName(o.key),
  }));
  if (json) {
    io.stdout.write(`${JSON.stringify({ schema: 1, configFile: applied.path ?? null, options: rows })}\n`);
    return;
  }
  const lines = [`config file: ${applied.path ?? `none (looked for ${configPaths(io.env, io.cwd).join(', ')})`}`];
  const w = Math.max(...rows.map((r) => r.option.length));
  const shown = rows.map((r) => ({ ...r, text: r.value === null ? '(unset)' : JSON.stringify(r.value) }));
  const vw = Math.max(...shown.map((r) => r.text.length));
  for (const r of shown) lines.push(`${r.option.padEnd(w)}  ${r.text.padEnd(vw)}  ${r.source}${r.source === 'env' ? ` (${r.env})` : ''}`);
  io.stdout.write(`${lines.join('\n')}\n`);
}
