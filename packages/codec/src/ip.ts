import { isIP } from 'node:net';

/**
 * IP addresses between text and the raw bytes that compact peer and node formats carry (BEP 5,
 * BEP 7, BEP 11, BEP 23, BEP 32, BEP 42). One copy for every package that reads or writes them.
 */

/** BEP 23 / BEP 5: 4 address bytes. */
export const IPV4_BYTES = 4;
/** BEP 7 / BEP 32: 16 address bytes. */
export const IPV6_BYTES = 16;

/**
 * The 4 or 16 bytes of an IP address in text, or undefined when the text is not one (checked by
 * `net.isIP`, so brackets and names are refused; a zone id (`%eth0`) is refused too, since
 * no compact format can carry one). An IPv4-mapped IPv6 address
 * (`::ffff:1.2.3.4`) stays 16 bytes: use `unmapIpv4` first to treat it as IPv4.
 */
export function parseIp(text: string): Buffer | undefined {
  const family = text.includes('%') ? 0 : isIP(text);
  if (family === 4) return Buffer.from(text.split('.').map(Number));
  if (family !== 6) return undefined;
  const [head = '', tail] = text.split('::') as [string, string | undefined];
  const groups = (s: string): number[] => {
    if (s === '') return [];
    const parts = s.split(':');
    const last = parts[parts.length - 1] ?? '';
    if (!last.includes('.')) return parts.map((p) => parseInt(p, 16));
    // An embedded IPv4 tail fills the last two groups.
    const [a = 0, b = 0, c = 0, d = 0] = last.split('.').map(Number);
    return [...parts.slice(0, -1).map((p) => parseInt(p, 16)), (a << 8) | b, (c << 8) | d];
  };
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const out = Buffer.alloc(IPV6_BYTES);
  all.forEach((g, i) => out.writeUInt16BE(g, 2 * i));
  return out;
}

/** Text of 4 (dotted quad) or 16 (RFC 5952: lower case, longest zero run as `::`) address bytes. */
export function formatIp(bytes: Uint8Array): string | undefined {
  if (bytes.length === IPV4_BYTES) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== IPV6_BYTES) return undefined;
  const groups: number[] = [];
  for (let i = 0; i < IPV6_BYTES; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let best = -1;
  let bestLen = 1; // RFC 5952: a single zero group is not shortened
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** `::ffff:a.b.c.d` (what a dual-stack socket reports for IPv4 senders) as `a.b.c.d`; anything else unchanged. */
export function unmapIpv4(text: string): string {
  if (isIP(text) !== 6) return text;
  const b = parseIp(text);
  if (b === undefined || !b.subarray(0, 10).every((x) => x === 0) || b[10] !== 0xff || b[11] !== 0xff) return text;
  return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
}
