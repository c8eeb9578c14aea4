import { describe, expect, it } from 'vitest';
import { encodeCompactPeers, expandIpv6, ipv6ToString, parseCompactPeers } from './compact-peers.js';

describe('compact peers', () => {
  it('parses IPv4 peers (BEP 23) and round-trips', () => {
    const bytes = Buffer.from([10, 0, 0, 1, 0x1a, 0xe1, 192, 168, 1, 2, 0, 80]);
    const { peers, skipped } = parseCompactPeers(bytes, 4);
    expect(peers).toEqual([
      { ip: '10.0.0.1', port: 6881, family: 4 },
      { ip: '192.168.1.2', port: 80, family: 4 },
    ]);
    expect(skipped).toBe(0);
    expect(encodeCompactPeers(peers, 4)).toEqual(bytes);
  });

  it('parses IPv6 peers (BEP 7) in RFC 5952 form', () => {
    const bytes = Buffer.concat([expandIpv6('2001:db8::1'), Buffer.from([0x1a, 0xe1]), expandIpv6('::1'), Buffer.from([0, 1])]);
    expect(parseCompactPeers(bytes, 6).peers).toEqual([
      { ip: '2001:db8::1', port: 6881, family: 6 },
      { ip: '::1', port: 1, family: 6 },
    ]);
    expect(ipv6ToString(expandIpv6('1:0:0:2:0:0:0:3'), 0)).toBe('1:0:0:2::3');
    expect(ipv6ToString(expandIpv6('1:2:3:4:5:6:7:8'), 0)).toBe('1:2:3:4:5:6:7:8');
  });

  it('ignores a ragged tail and skips port 0', () => {
    const bytes = Buffer.from([1, 2, 3, 4, 0, 0, 5, 6, 7, 8, 0, 9, 1, 2, 3]);
    const { peers, skipped } = parseCompactPeers(bytes, 4);
    expect(peers).toEqual([{ ip: '5.6.7.8', port: 9, family: 4 }]);
    expect(skipped).toBe(2);
  });

  it('keeps at most the cap from a list of a million', () => {
    const bytes = Buffer.alloc(6 * 1_000_000, 1);
    const { peers, skipped } = parseCompactPeers(bytes, 4, 2000);
    expect(peers.length).toBe(2000);
    expect(skipped).toBe(998_000);
  });
});
