/**
 * Characters that change what a terminal shows rather than showing themselves: C0/C1 controls (ESC,
 * and U+009B, a one-byte CSI, start escape sequences), DEL, and the bidirectional controls (U+061C,
 * U+200E/F, U+202A–U+202E, U+2066–U+2069), which can disguise a file name (`gnp.exe` shown as `exe.png`).
 * Newlines and tabs are among them; `sanitize` keeps those with `multiline`.
 */
const UNSAFE_CLASS = '\\x00-\\x1f\\x7f-\\x9f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069';

const UNSAFE = new RegExp(`[${UNSAFE_CLASS}]`, 'gu');

const UNSAFE_KEEP_LINES = new RegExp(`[${UNSAFE_CLASS.replace('\\x00-\\x1f', '\\x00-\\x08\\x0b-\\x1f')}]`, 'gu');

/** `\xNN` up to U+00FF, `\uNNNN` above: how `sanitize` shows an unsafe character. */
function visibleEscape(ch: string): string {
  const cp = ch.codePointAt(0)!;
  return cp <= 0xff ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`;
}

/**
 * Makes text from a torrent, a tracker or a peer safe to print: every unsafe character (above)
 * becomes a visible escape such as `\x1b` or `\u202e`. Newlines and tabs too, unless `multiline`.
 */
export function sanitize(text: string, opts: { multiline?: boolean } = {}): string {
  return text.replace(opts.multiline ? UNSAFE_KEEP_LINES : UNSAFE, visibleEscape);
}

/**
 * JSON text (from `JSON.stringify`) with every unsafe character written as a `\uNNNN` escape: the
 * same JSON value, but raw output on a terminal can no longer carry an escape sequence or a bidi
 * override (JSON.stringify itself escapes only U+0000–U+001F). Inside JSON text these characters can
 * only occur in strings, where the escape is exact.
 */
export function escapeUnsafeJson(json: string): string {
  return json.replace(UNSAFE, (ch) => `\\u${ch.codePointAt(0)!.toString(16).padStart(4, '0')}`);
}
