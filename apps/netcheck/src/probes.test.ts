import { encode } from '@tc/codec';
import { describe, expect, it } from 'vitest';
import { externalIpOf } from './probes.js';

describe('BEP 24 external ip', () => {
  it('reads 4- and 16-byte addresses and ignores the rest', () => {
    const reply = (ip: Buffer): Buffer => encode(new Map<string, unknown>([['external ip', ip], ['interval', 1800], ['peers', Buffer.alloc(0)]]) as never);
    expect(externalIpOf(reply(Buffer.from([203, 0, 113, 7])))).toBe('203.0.113.7');
    expect(externalIpOf(reply(Buffer.from('20010db8000000000000000000000001', 'hex')))).toBe('2001:db8::1');
    expect(externalIpOf(reply(Buffer.from([1, 2, 3])))).toBeUndefined();
    expect(externalIpOf(Buffer.from('d8:intervali1800ee'))).toBeUndefined();
    expect(externalIpOf(Buffer.from('not bencode'))).toBeUndefined();
  });
});
