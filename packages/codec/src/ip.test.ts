import { describe, expect, it } from 'vitest';
import { formatIp, parseIp, unmapIpv4 } from './ip.js';

describe('parseIp / formatIp', () => {
  it.each([
    ['127.0.0.1', '7f000001'],
    ['255.255.255.255', 'ffffffff'],
    ['::1', '00000000000000000000000000000001'],
    ['::', '00000000000000000000000000000000'],
    ['2001:db8::ff00:42:8329', '20010db8000000000000ff0000428329'],
    ['fe80::1:2', 'fe800000000000000000000000010002'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
  ])('%s ↔ %s', (text, hex) => {
    expect(parseIp(text)?.toString('hex')).toBe(hex);
    expect(formatIp(Buffer.from(hex, 'hex'))).toBe(text);
  });

  it('reads an embedded IPv4 tail and upper-case hex', () => {
    expect(parseIp('::ffff:1.2.3.4')?.toString('hex')).toBe('00000000000000000000ffff01020304');
    expect(formatIp(parseIp('2001:DB8::1')!)).toBe('2001:db8::1');
  });

  it('does not shorten a single zero group (RFC 5952)', () => {
    expect(formatIp(Buffer.from('00010000000200030004000500060007', 'hex'))).toBe('1:0:2:3:4:5:6:7');
  });

  it('refuses what is not an address', () => {
    for (const bad of ['', 'localhost', '1.2.3', '1.2.3.256', '[::1]', 'fe80::1%eth0', ':::', '01.2.3.4']) {
      expect(parseIp(bad), bad).toBeUndefined();
    }
    expect(formatIp(Buffer.alloc(5))).toBeUndefined();
  });

  it('unmaps IPv4-mapped IPv6 and leaves the rest', () => {
    expect(unmapIpv4('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(unmapIpv4('::ffff:a00:1')).toBe('10.0.0.1');
    expect(unmapIpv4('::1')).toBe('::1');
    expect(unmapIpv4('1.2.3.4')).toBe('1.2.3.4');
  });
});
