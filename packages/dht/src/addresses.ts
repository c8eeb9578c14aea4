import { parseIp } from '@tc/codec';
import { endpointKey, type Endpoint, type Family } from './ids.js';

/** Which address a datagram came from, in the terms the node decides by: its family, whether it is us, and its rate-limit key. */

/** The family of an IP literal (an IPv4-mapped IPv6 address must be unmapped first). */
export function familyOf(ip: string): Family {
  return ip.includes(':') ? 6 : 4;
}

/** Whether an address is this node: our UDP port on a loopback, unspecified or our external address. */
export function isSelfAddress(e: Endpoint, localPort: number | undefined, externalAddress: string | undefined): boolean {
  if (localPort === undefined || e.port !== localPort) return false;
  const b = parseIp(e.ip);
  if (b === undefined) return false;
  const loopOrAny = b.length === 4 ? b[0] === 127 || b.every((x) => x === 0) : b.subarray(0, 15).every((x) => x === 0);
  return loopOrAny || e.ip === externalAddress;
}

/** The key a sender is rate-limited (and votes) under: its IP, or on loopback, where every node shares one IP (tests, several clients on one machine), its IP and port. */
export function rateLimitKey(src: Endpoint): string {
  return src.ip === '127.0.0.1' || src.ip === '::1' ? endpointKey(src) : src.ip;
}
