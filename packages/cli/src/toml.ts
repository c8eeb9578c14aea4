/**
 * The subset of TOML a tc config file needs: `[section]` tables, `key = value` with basic and
 * literal strings, integers, floats, booleans, and one-line arrays of those; `#` comments. Anything
 * else is refused with its line number, never guessed at.
 */

export type TomlScalar = string | number | boolean;
export type TomlValue = TomlScalar | TomlScalar[];
export type TomlDocument = Record<string, Record<string, TomlValue>>;

/** Thrown for what this parser does not read; `line` is 1-based. */
export class TomlError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
  }
}

const BARE_KEY = /^[A-Za-z0-9_-]+$/;
/** Keys above the first `[section]` go here. */
export const TOML_ROOT = '';

/** Parses `text`; keys above any `[section]` are in section `TOML_ROOT`. */
export function parseToml(text: string): TomlDocument {
  const doc: TomlDocument = {};
  let section = TOML_ROOT;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[\s*([A-Za-z0-9_-]+|"[^"\\]*")\s*\]\s*(#.*)?$/.exec(line);
    if (header) {
      section = header[1]!.replace(/^"|"$/g, '');
      if (Object.hasOwn(doc, section)) throw new TomlError(`section [${section}] appears twice`, n);
      doc[section] = {};
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) throw new TomlError('expected `key = value` or `[section]`', n);
    const key = line.slice(0, eq).trim();
    if (!BARE_KEY.test(key)) throw new TomlError(`unsupported key ${JSON.stringify(key)} (letters, digits, - and _ only)`, n);
    const table = (doc[section] ??= {});
    if (Object.hasOwn(table, key)) throw new TomlError(`key ${key} appears twice`, n);
    const r = new Reader(line.slice(eq + 1), n);
    r.space();
    const value = r.peek() === '[' ? r.array() : r.scalar();
    r.space();
    if (!r.done() && r.peek() !== '#') throw new TomlError(`unexpected text after the value of ${key}`, n);
    table[key] = value;
  }
  return doc;
}

class Reader {
  private i = 0;
  constructor(
    private readonly s: string,
    private readonly line: number,
  ) {}

  done(): boolean {
    return this.i >= this.s.length;
  }
  peek(): string {
    return this.s[this.i] ?? '';
  }
  space(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.i++;
  }
  fail(why: string): never {
    throw new TomlError(why, this.line);
  }

  array(): TomlScalar[] {
    this.i++; // [
    const out: TomlScalar[] = [];
    for (;;) {
      this.space();
      if (this.done()) this.fail('unterminated array (arrays must fit on one line)');
      if (this.peek() === ']') break;
      out.push(this.scalar());
      this.space();
      if (this.peek() === ',') {
        this.i++;
        continue;
      }
      if (this.peek() !== ']') this.fail('expected , or ] in the array (arrays must fit on one line)');
    }
    this.i++; // ]
    return out;
  }

  scalar(): TomlScalar {
    const c = this.peek();
    if (c === '"') return this.basic();
    if (c === "'") {
      const end = this.s.indexOf("'", this.i + 1);
      if (end < 0) this.fail('unterminated string');
      const v = this.s.slice(this.i + 1, end);
      this.i = end + 1;
      return v;
    }
    const m = /^(true|false|[+-]?\d[\d_]*(\.\d+)?([eE][+-]?\d+)?)(?=[\s,\]#]|$)/.exec(this.s.slice(this.i));
    if (!m) this.fail('expected a string ("…"), a number, true, false or an array');
    this.i += m[0].length;
    if (m[1] === 'true') return true;
    if (m[1] === 'false') return false;
    return Number(m[1]!.replace(/_/g, ''));
  }

  private basic(): string {
    let out = '';
    for (this.i++; ;) {
      const c = this.s[this.i++];
      if (c === undefined) this.fail('unterminated string');
      if (c === '"') return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.s[this.i++];
      const simple: Record<string, string> = { '"': '"', '\\': '\\', n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' };
      if (e !== undefined && simple[e] !== undefined) out += simple[e];
      else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(this.s.slice(this.i, this.i + 4))) {
        out += String.fromCharCode(parseInt(this.s.slice(this.i, this.i + 4), 16));
        this.i += 4;
      } else this.fail(`unsupported escape \\${e ?? ''}`);
    }
  }
}
