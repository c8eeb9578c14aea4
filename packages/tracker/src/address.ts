import { isIP } from 'node:net';
import { expandIpv6 } from './compact-peers.js';

/**
 * Whether a host is loopback, private, link-local or otherwise not on the public internet, judged
 * from the literal alone (names other than `localhost` count as public: resolving them here would
 * race the real connection). Used by the redirect SSRF guard (RELIABILITY #29).
 */
export function isPrivateHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  // A fully qualified `localhost.` resolves like `localhost`; the URL parser keeps the dot.
  const h = bare.endsWith('.') ? bare.slice(0, -1) : bare;
  const lower = h.toLowerCase();
  if (lower === 'localhost' || lower.endsWith('.localhost')) return true;
  const fam = isIP(h);
  if (fam === 4) return isPrivateV4(h.split('.').map(Number));
  if (fam === 6) {
    const b = expandIpv6(lower.includes('.') ? mappedToHex(lower) : lower);
    const allZeroTo = (n: number): boolean => b.subarray(0, n).every((x) => x === 0);
    if (allZeroTo(15) && (b[15] === 1 || b[15] === 0)) return true; // ::1, ::
    if (allZeroTo(10) && b[10] === 0xff && b[11] === 0xff) return isPrivateV4([...b.subarray(12, 16)]); // ::ffff:a.b.c.d
    const first = b[0] ?? 0;
    if ((first & 0xfe) === 0xfc) return true; // fc00::/7 unique local
    if (first === 0xfe && ((b[1] ?? 0) & 0xc0) === 0x80) return true; // fe80::/10 link-local
    return false;
  }
  return false;
}

function isPrivateV4(o: number[]): boolean {
  const [a = 0, b = 0] = o;
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 100 && b >= 64 && b <= 127)
  );
}

/** `::ffff:1.2.3.4` → `::ffff:102:304`, so expandIpv6 can read it. */
function mappedToHex(ip: string): string {
  const lastColon = ip.lastIndexOf(':');
  const v4 = ip
    .slice(lastColon + 1)
    .split('.')
    .map(Number);
  const [a = 0, b = 0, c = 0, d = 0] = v4;
  return `${ip.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}
