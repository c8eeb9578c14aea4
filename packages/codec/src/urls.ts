/** Checks of URLs that torrents and magnet links carry (trackers, web seeds). */

/** BEP 3 (http), BEP 15 (udp) and WebTorrent (ws, wss) trackers. */
export const TRACKER_PROTOCOLS: ReadonlySet<string> = new Set(['http:', 'https:', 'udp:', 'ws:', 'wss:']);
/** BEP 19 web seeds. */
export const WEB_SEED_PROTOCOLS: ReadonlySet<string> = new Set(['http:', 'https:']);

/**
 * Accepts a URL with one of `protocols` and an ASCII host. Internationalised hosts are refused, as
 * libtorrent does with `allow_idna=false`, because look-alike names are a phishing tool
 * (RELIABILITY #17). Returns the URL, or why it was refused.
 */
export function checkUrl(raw: string, protocols: ReadonlySet<string>): { url: string } | { why: string } {
  // WHATWG URL turns Unicode hosts into punycode, so look at the host as written too.
  const host = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?([^/?#:]*|\[[^\]]*\])/i.exec(raw)?.[1] ?? '';
  // Anything outside printable ASCII in the written host is IDNA (or garbage); `xn--` is IDNA already encoded.
  if (/[^\x21-\x7e]/.test(host) || /(^|\.)xn--/i.test(host)) return { why: 'has an internationalised (IDNA) host' };
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return { why: 'is not a URL' };
  }
  if (!protocols.has(u.protocol)) return { why: `has the unsupported scheme ${u.protocol}` };
  // A percent-encoded Unicode host (`%C3%A4pple.com`) looks ASCII as written; the parsed host is punycode.
  if (/(^|\.)xn--/i.test(u.hostname)) return { why: 'has an internationalised (IDNA) host' };
  return { url: raw };
}
