/**
 * Makes text from a torrent, a tracker or a peer safe to print: C0/C1 controls (ESC starts terminal
 * escape sequences), DEL, and bidirectional overrides (which can disguise a file name) become
 * visible escapes such as `\x1b` or `\u202e`. Newlines and tabs too, unless `multiline`.
 */
export function sanitize(text: string, opts: { multiline?: boolean } = {}): string {
  // eslint-disable-next-line no-control-regex
  const re = opts.multiline ? /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu : /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;
  return text.replace(re, (ch) => {
    const cp = ch.codePointAt(0)!;
    return cp <= 0xff ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`;
  });
}
