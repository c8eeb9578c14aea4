import type { NetworkInterfaceInfo } from 'node:os';
import { type CheckResult, type Clock, result } from './types.js';

/** What kind of address this is, from the point of view of "can peers on the internet reach it". */
export type AddressScope = 'loopback' | 'private' | 'cgnat' | 'link-local' | 'unique-local' | 'global';

export interface LocalAddress {
  readonly interface: string;
  readonly family: 4 | 6;
  readonly address: string;
  readonly scope: AddressScope;
}

function v4Octets(ip: string): number[] {
  return ip.split('.').map(Number);
}

/** Expands an IPv6 text address into its 8 groups (zone id dropped). */
export function v6Groups(ip: string): number[] {
  const bare = ip.split('%')[0] ?? ip;
  const [head = '', tail] = bare.split('::');
  const part = (s: string | undefined): number[] => (s ? s.split(':').map((h) => parseInt(h, 16)) : []);
  const h = part(head);
  const t = part(tail);
  return tail === undefined ? h : [...h, ...new Array<number>(Math.max(0, 8 - h.length - t.length)).fill(0), ...t];
}

/** RFC 1918 private, RFC 6598 carrier-grade NAT, RFC 3927 link-local, RFC 4193 unique local, RFC 4291 scopes. */
export function addressScope(address: string, family: 4 | 6): AddressScope {
  if (family === 4) {
    const [a = 0, b = 0] = v4Octets(address);
    if (a === 127) return 'loopback';
    if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return 'private';
    if (a === 100 && b >= 64 && b <= 127) return 'cgnat';
    if (a === 169 && b === 254) return 'link-local';
    return 'global';
  }
  const g = v6Groups(address);
  const first = g[0] ?? 0;
  if (g.length === 8 && g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return 'loopback';
  if ((first & 0xffc0) === 0xfe80) return 'link-local';
  if ((first & 0xfe00) === 0xfc00) return 'unique-local';
  if ((first & 0xe000) === 0x2000) return 'global';
  // Anything else (mapped, documentation, multicast…) cannot serve as a peer address.
  return 'private';
}

/** Flattens `os.networkInterfaces()` into classified addresses, in a stable order. */
export function localAddresses(ifaces: NodeJS.Dict<NetworkInterfaceInfo[]>): LocalAddress[] {
  const out: LocalAddress[] = [];
  for (const name of Object.keys(ifaces).sort()) {
    for (const info of ifaces[name] ?? []) {
      const family = info.family === 'IPv6' || (info.family as unknown) === 6 ? 6 : 4;
      out.push({ interface: name, family, address: info.address, scope: info.internal ? 'loopback' : addressScope(info.address, family) });
    }
  }
  return out;
}

function listLine(label: string, xs: readonly LocalAddress[]): string {
  if (xs.length === 0) return `${label}: none`;
  return `${label}: ${xs.map((x) => `${x.address} (${x.interface}, ${x.scope})`).join(', ')}`;
}

/**
 * Check 1: which interfaces we have, which addresses are private, and whether IPv6 has a global
 * address (peers on IPv6 can then reach us without NAT). Only loopback is a warning, not a failure:
 * a tracker and peers on this machine still work, and the DNS and tracker checks show the rest.
 */
export function checkAddresses(ifaces: NodeJS.Dict<NetworkInterfaceInfo[]>, clock: Clock): CheckResult {
  const started = clock.mono();
  const all = localAddresses(ifaces);
  const v4 = all.filter((a) => a.family === 4);
  const v6 = all.filter((a) => a.family === 6);
  const external = all.filter((a) => a.scope !== 'loopback');
  const global6 = v6.filter((a) => a.scope === 'global');
  const public4 = v4.filter((a) => a.scope === 'global');
  const detail = [listLine('IPv4', v4), listLine('IPv6', v6), global6.length > 0 ? `IPv6 global address: yes (${global6.length})` : 'IPv6 global address: no'];
  const data = { addresses: all, ipv6Global: global6.length > 0, ipv4Public: public4.length > 0 };
  if (all.length === 0) {
    return result('addresses', clock, started, {
      status: 'fail',
      summary: 'no network interface has an address',
      detail,
      advice: 'connect to a network (cable, Wi-Fi) and run tc-netcheck again',
      data,
    });
  }
  if (external.length === 0) {
    return result('addresses', clock, started, {
      status: 'warn',
      summary: 'only loopback: nothing outside this machine is reachable',
      detail,
      advice: 'connect to a network; only trackers and peers on this machine can work now',
      data,
    });
  }
  const kinds = public4.length > 0 ? 'public IPv4' : v4.some((a) => a.scope !== 'loopback') ? 'private IPv4 (behind NAT)' : 'no IPv4 beyond loopback';
  return result('addresses', clock, started, {
    status: 'ok',
    summary: `${kinds}${global6.length > 0 ? ', global IPv6' : ', no global IPv6'}`,
    detail,
    data,
  });
}
