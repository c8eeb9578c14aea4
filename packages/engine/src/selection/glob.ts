/**
 * A small glob matcher for `--select` patterns over torrent file paths ('/'-separated).
 *
 * Syntax: `*` any run of characters except '/', `?` one character except '/', `**` any run
 * including '/', `**` then '/' zero or more whole folders, `[abc]`, `[a-z]`, `[!a]` a character class,
 * `\x` the literal x. Matching is case-sensitive, like the file systems torrents are made on.
 *
 * Matching runs a set-of-positions automaton (O(pattern × path)) instead of compiling to a
 * RegExp: a pattern like `*a*a*a*a*b` cannot make it backtrack exponentially.
 */

/** Longest pattern accepted, in characters: far above any real use, and it bounds the work per file. */
export const MAX_GLOB_CHARS = 1024;

type Token =
  | { readonly t: 'lit'; readonly c: string }
  | { readonly t: 'one' }
  | { readonly t: 'star' }
  | { readonly t: 'globstar' }
  | { readonly t: 'dirs' }
  | { readonly t: 'class'; readonly negate: boolean; readonly ranges: readonly (readonly [string, string])[] };

export interface Glob {
  readonly source: string;
  readonly tokens: readonly Token[];
  /** True when the pattern names folders ('/' in it): it is matched against whole paths, not base names. */
  readonly hasSlash: boolean;
}

/** Parses a glob, or returns a reason it is malformed. */
export function parseGlob(source: string): Glob | string {
  if (source.length === 0) return 'empty pattern';
  if (source.length > MAX_GLOB_CHARS) return `pattern longer than ${MAX_GLOB_CHARS} characters`;
  const cs = Array.from(source);
  const tokens: Token[] = [];
  let hasSlash = false;
  for (let i = 0; i < cs.length; i++) {
    const c = cs[i]!;
    if (c === '\\') {
      const next = cs[i + 1];
      if (next === undefined) return 'pattern ends with a lone backslash';
      tokens.push({ t: 'lit', c: next });
      if (next === '/') hasSlash = true;
      i++;
    } else if (c === '?') {
      tokens.push({ t: 'one' });
    } else if (c === '*') {
      if (cs[i + 1] === '*') {
        // Runs of three or more stars mean the same as two.
        while (cs[i + 2] === '*') i++;
        // `**` + '/' eats whole folders (possibly none); a bare `**` anything at all.
        if (cs[i + 2] === '/') {
          tokens.push({ t: 'dirs' });
          hasSlash = true;
          i += 2;
        } else {
          tokens.push({ t: 'globstar' });
          hasSlash = true;
          i += 1;
        }
      } else {
        tokens.push({ t: 'star' });
      }
    } else if (c === '[') {
      const parsed = parseClass(cs, i);
      if (typeof parsed === 'string') return parsed;
      tokens.push(parsed.token);
      i = parsed.end;
    } else {
      if (c === '/') hasSlash = true;
      tokens.push({ t: 'lit', c });
    }
  }
  return { source, tokens, hasSlash };
}

function parseClass(cs: readonly string[], open: number): { token: Token; end: number } | string {
  let i = open + 1;
  let negate = false;
  if (cs[i] === '!' || cs[i] === '^') {
    negate = true;
    i++;
  }
  const ranges: [string, string][] = [];
  let first = true;
  for (; i < cs.length; i++) {
    let c = cs[i]!;
    // A ']' right after '[' or '[!' is a literal, as in POSIX globs.
    if (c === ']' && !first) return { token: { t: 'class', negate, ranges }, end: i };
    first = false;
    if (c === '\\') {
      const next = cs[i + 1];
      if (next === undefined) break;
      c = next;
      i++;
    }
    if (cs[i + 1] === '-' && cs[i + 2] !== undefined && cs[i + 2] !== ']') {
      const hi = cs[i + 2]!;
      if (hi < c) return `bad character range ${c}-${hi}`;
      ranges.push([c, hi]);
      i += 2;
    } else {
      ranges.push([c, c]);
    }
  }
  return 'unclosed [ in pattern';
}

function inClass(tok: Extract<Token, { t: 'class' }>, c: string): boolean {
  let hit = false;
  for (const [lo, hi] of tok.ranges) {
    if (c >= lo && c <= hi) {
      hit = true;
      break;
    }
  }
  return hit !== tok.negate;
}

/** True when the whole of `text` matches the glob. */
export function globMatch(glob: Glob, text: string): boolean {
  const s = Array.from(text);
  const n = s.length;
  let cur = new Uint8Array(n + 1);
  let next = new Uint8Array(n + 1);
  cur[0] = 1;
  for (const tok of glob.tokens) {
    next.fill(0);
    let any = false;
    switch (tok.t) {
      case 'lit':
        for (let i = 0; i < n; i++) if (cur[i] && s[i] === tok.c) next[i + 1] = 1;
        break;
      case 'one':
        for (let i = 0; i < n; i++) if (cur[i] && s[i] !== '/') next[i + 1] = 1;
        break;
      case 'class':
        for (let i = 0; i < n; i++) if (cur[i] && s[i] !== '/' && inClass(tok, s[i]!)) next[i + 1] = 1;
        break;
      case 'star':
        for (let i = 0; i <= n; i++) next[i] = cur[i] || (i > 0 && next[i - 1] && s[i - 1] !== '/') ? 1 : 0;
        break;
      case 'globstar':
        for (let i = 0; i <= n; i++) next[i] = cur[i] || (i > 0 && next[i - 1]) ? 1 : 0;
        break;
      case 'dirs': {
        // Empty, or any text ending in '/' that starts at a reachable position.
        let reach = false;
        for (let i = 0; i <= n; i++) {
          next[i] = cur[i] || (reach && s[i - 1] === '/') ? 1 : 0;
          if (cur[i]) reach = true;
        }
        break;
      }
    }
    for (let i = 0; i <= n; i++) if (next[i]) any = true;
    if (!any) return false;
    [cur, next] = [next, cur];
  }
  return cur[n] === 1;
}
