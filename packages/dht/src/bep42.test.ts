import { describe, expect, it } from 'vitest';
import { crc32c, isBep42Exempt, isSecureNodeId, secureNodeId } from './bep42.js';

describe('BEP 42 node ids', () => {
  it('crc32c matches the standard check value', () => {
    expect(crc32c(Buffer.from('123456789')).toString(16)).toBe('e3069283');
  });

  // The BEP's test vectors: the bold prefix (21 bits) and the last byte (r in its low 3 bits).
  it.each([
    ['124.31.75.21', 1, '5fbfbf'],
    ['21.75.31.124', 86, '5a3ce9'],
    ['65.23.51.170', 22, 'a5d432'],
    ['84.124.73.14', 65, '1b0321'],
    ['43.213.53.83', 90, 'e56f6c'],
  ])('%s with rand %i gives prefix %s', (ip, rand, prefix) => {
    // Feed a random source whose last byte is `rand`, as the BEP's example does.
    const id = secureNodeId(ip, (n) => {
      const b = Buffer.alloc(n, 0);
      b[n - 1] = rand;
      return b;
    });
    expect(id[19]).toBe(rand);
    const want = Buffer.from(prefix, 'hex');
    expect(id[0]).toBe(want[0]);
    expect(id[1]).toBe(want[1]);
    expect(id[2]! & 0xf8).toBe(want[2]! & 0xf8);
    expect(isSecureNodeId(id, ip)).toBe(true);
    expect(isSecureNodeId(Buffer.from('5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401', 'hex'), '124.31.75.21')).toBe(true);
  });

  it('rejects an id made for another address, and random ids', () => {
    const id = secureNodeId('124.31.75.21');
    expect(isSecureNodeId(id, '124.31.75.21')).toBe(true);
    expect(isSecureNodeId(id, '8.8.8.8')).toBe(false);
    expect(isSecureNodeId(Buffer.alloc(20, 0xaa), '8.8.8.8')).toBe(false);
  });

  it('works for IPv6 (high 64 bits)', () => {
    const id = secureNodeId('2001:db8:1:2::5');
    expect(isSecureNodeId(id, '2001:db8:1:2::5')).toBe(true);
    expect(isSecureNodeId(id, '2001:db8:1:2:ffff::9')).toBe(true); // only the high 64 bits count
    expect(isSecureNodeId(id, '2a00:db8:1:2::5')).toBe(false);
  });

  it('exempts local and loopback addresses as the BEP lists them', () => {
    for (const ip of ['10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.3.4', '127.0.0.1', '::1', 'fe80::1', 'fd00::5']) {
      expect(isBep42Exempt(ip), ip).toBe(true);
      expect(isSecureNodeId(Buffer.alloc(20, 0xaa), ip)).toBe(true);
    }
    for (const ip of ['172.32.0.1', '8.8.8.8', '2001:db8::1', '192.169.0.1']) expect(isBep42Exempt(ip), ip).toBe(false);
  });
});
