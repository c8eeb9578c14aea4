import { describe, expect, it } from 'vitest';
import { familyOf, isSelfAddress, rateLimitKey } from './addresses.js';
import { AddressVotes, EXTERNAL_ADDRESS_VOTES, MAX_ADDRESS_CANDIDATES } from './external-address.js';

describe('addresses', () => {
  it('tells the family of an IP literal', () => {
    expect(familyOf('1.2.3.4')).toBe(4);
    expect(familyOf('2001:db8::1')).toBe(6);
  });

  it('recognises this node: our port on loopback, unspecified or our external address', () => {
    for (const ip of ['127.0.0.1', '127.9.9.9', '0.0.0.0', '::1', '::', '203.0.113.5'])
      expect(isSelfAddress({ ip, port: 6881 }, 6881, '203.0.113.5'), ip).toBe(true);
    expect(isSelfAddress({ ip: '127.0.0.1', port: 6882 }, 6881, undefined)).toBe(false);
    expect(isSelfAddress({ ip: '198.51.100.1', port: 6881 }, 6881, '203.0.113.5')).toBe(false);
    expect(isSelfAddress({ ip: '127.0.0.1', port: 6881 }, undefined, undefined)).toBe(false);
    expect(isSelfAddress({ ip: 'not-an-ip', port: 6881 }, 6881, undefined)).toBe(false);
  });

  it('rate-limits by IP, and by IP and port on loopback', () => {
    expect(rateLimitKey({ ip: '198.51.100.1', port: 1 })).toBe(rateLimitKey({ ip: '198.51.100.1', port: 2 }));
    expect(rateLimitKey({ ip: '127.0.0.1', port: 1 })).not.toBe(rateLimitKey({ ip: '127.0.0.1', port: 2 }));
    expect(rateLimitKey({ ip: '::1', port: 1 })).not.toBe(rateLimitKey({ ip: '::1', port: 2 }));
  });
});

describe('AddressVotes (BEP 42 external address)', () => {
  it('believes an address once enough different voters report it, one vote each', () => {
    const v = new AddressVotes();
    expect(v.vote('203.0.113.5', 'a', undefined)).toBeUndefined();
    expect(v.vote('203.0.113.5', 'a', undefined)).toBeUndefined(); // the same voter again
    for (let i = 1; i < EXTERNAL_ADDRESS_VOTES - 1; i++) expect(v.vote('203.0.113.5', `v${i}`, undefined)).toBeUndefined();
    expect(v.vote('203.0.113.5', 'last', undefined)).toBe('203.0.113.5');
    expect(v.candidates).toBe(0);
  });

  it('does not re-elect the address we already have', () => {
    const v = new AddressVotes();
    for (let i = 0; i < EXTERNAL_ADDRESS_VOTES; i++) expect(v.vote('203.0.113.5', `v${i}`, '203.0.113.5')).toBeUndefined();
  });

  it('counts a bounded number of candidates: a liar cannot grow the map', () => {
    const v = new AddressVotes();
    for (let i = 0; i < 1000; i++) v.vote(`198.51.100.${i % 256}`, `liar${i}`, undefined);
    expect(v.candidates).toBeLessThanOrEqual(MAX_ADDRESS_CANDIDATES);
  });
});
