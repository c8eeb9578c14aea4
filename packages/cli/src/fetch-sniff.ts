import { BlockList, isIP } from 'node:net';

/** What a fetched body is, judged from its bytes: servers mislabel Content-Type too often to trust it. */
export type BodyKind = 'torrent' | 'html' | 'xml' | 'json' | 'empty' | 'text' | 'binary';

/** Bytes looked at to sniff a body: markers of HTML or XML sit at the start of a document. */
const SNIFF_BYTES = 2048;

/**
 * Sniffs a body. `torrent` only says it starts like a bencoded dictionary (`d` then a key); the
 * caller still parses and validates it.
 */
export function sniffBody(body: Uint8Array): BodyKind {
  const head = Buffer.from(body.subarray(0, SNIFF_BYTES)).toString('latin1');
  if (head.trim() === '' && body.length <= SNIFF_BYTES) return 'empty';
  if (/^d\d{1,7}:/.test(head)) return 'torrent';
  const start = head.replace(/^\uFEFF|^\xEF\xBB\xBF/, '').trimStart();
  const lower = start.toLowerCase();
  // After an XML prolog (and comments), the root element decides: XHTML is a page, anything else XML.
  const root = lower.replace(/^<\?xml[^>]*\?>\s*/, '').replace(/^(<!--[\s\S]*?-->\s*)+/, '');
  if (root.startsWith('<!doctype html') || root.startsWith('<html')) return 'html';
  if (lower.startsWith('<?xml') || /^<(rss|feed|rdf:rdf)[\s>]/.test(root)) return 'xml';
  // A page without a doctype: tell it by its head or body (only when no XML prolog said otherwise).
  if (lower.startsWith('<') && /<(head|body)[\s>]/.test(lower)) return 'html';
  if (lower.startsWith('<')) return 'xml';
  if (lower.startsWith('{') || lower.startsWith('[')) return 'json';
  let printable = 0;
  for (let i = 0; i < head.length; i++) {
    const c = head.charCodeAt(i);
    if (c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127)) printable++;
  }
  return printable >= head.length * 0.95 ? 'text' : 'binary';
}

/** Longest excerpt of a page quoted in an error. */
const EXCERPT_CHARS = 60;

/** Names what a body is for an error message: `an HTML page ("Sign in")`, `an empty body`, … (the caller sanitizes). */
export function describeBody(body: Uint8Array, kind: BodyKind = sniffBody(body)): string {
  const head = Buffer.from(body.subarray(0, SNIFF_BYTES)).toString('utf8');
  switch (kind) {
    case 'empty':
      return 'an empty body';
    case 'torrent':
      return 'a .torrent file';
    case 'html': {
      const title = /<title[^>]*>([^<]*)</i.exec(head)?.[1]?.replace(/\s+/g, ' ').trim();
      return title ? `an HTML page ("${title.slice(0, EXCERPT_CHARS)}")` : 'an HTML page';
    }
    case 'xml':
      return 'an XML document';
    case 'json':
      return 'JSON';
    case 'text':
      return `text ("${head.replace(/\s+/g, ' ').trim().slice(0, EXCERPT_CHARS)}")`;
    case 'binary':
      return `${body.length} bytes of binary data that is not bencode`;
  }
}

/** A URL that looks like a sign-in page: a redirect there means the file wants a login. */
export function looksLikeLogin(url: string): boolean {
  try {
    const u = new URL(url);
    return /(^|[/_.-])(log-?in|sign-?in|auth|sso|account|session)([/_.?-]|$)/i.test(u.pathname);
  } catch {
    return false;
  }
}

/** Addresses a URL from the network must not reach: this machine, the LAN, link-local, reserved and documentation ranges. */
const NON_PUBLIC = (() => {
  const b = new BlockList();
  for (const [net, bits] of [
    ['0.0.0.0', 8],
    ['10.0.0.0', 8],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['169.254.0.0', 16],
    ['172.16.0.0', 12],
    ['192.0.0.0', 24],
    ['192.0.2.0', 24],
    ['192.168.0.0', 16],
    ['198.18.0.0', 15],
    ['198.51.100.0', 24],
    ['203.0.113.0', 24],
    ['224.0.0.0', 3],
  ] as const)
    b.addSubnet(net, bits, 'ipv4');
  for (const [net, bits] of [
    ['::', 128],
    ['::1', 128],
    ['fc00::', 7],
    ['fe80::', 10],
    ['ff00::', 8],
    ['2001:db8::', 32],
    ['64:ff9b::', 96],
    ['100::', 64],
  ] as const)
    b.addSubnet(net, bits, 'ipv6');
  return b;
})();

/**
 * Whether an IP address is a public unicast one (the SSRF guard, RELIABILITY.md case 29). An
 * IPv4-mapped IPv6 address is judged by its IPv4 part; anything that is not an IP is refused.
 */
export function isPublicAddress(ip: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const addr = mapped ? mapped[1]! : ip;
  const family = isIP(addr);
  if (family === 0) return false;
  return !NON_PUBLIC.check(addr, family === 4 ? 'ipv4' : 'ipv6');
}
