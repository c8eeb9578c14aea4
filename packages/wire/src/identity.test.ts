import { describe, expect, it } from 'vitest';
import { describePeerId, generatePeerId, PEER_ID_PREFIX, USER_AGENT, EXTENDED_CLIENT_NAME } from './identity.js';

const id = (prefix: string, fill = 'x'): Buffer => Buffer.from(prefix.padEnd(20, fill), 'latin1');

describe('identity', () => {
  it('makes 20-byte Azureus-style peer ids with a random printable suffix', () => {
    const a = generatePeerId();
    const b = generatePeerId();
    expect(PEER_ID_PREFIX).toBe('-TC0100-');
    expect(a.length).toBe(20);
    expect(a.subarray(0, 8).toString()).toBe(PEER_ID_PREFIX);
    expect(a).not.toEqual(b);
    expect(/^[\x21-\x7e]{20}$/.test(a.toString('latin1'))).toBe(true);
    expect(USER_AGENT).toBe('tc/0.1.0');
    expect(EXTENDED_CLIENT_NAME).toBe('tc 0.1.0');
    expect(describePeerId(a)).toBe('tc 0.1.0');
  });

  it('names well-known clients', () => {
    expect(describePeerId(id('-LT2080-'))).toBe('libtorrent 2.0.8');
    expect(describePeerId(id('-lt0D80-'))).toBe('rtorrent libTorrent 0.13.8');
    expect(describePeerId(id('-TR3000-'))).toBe('Transmission 3.00');
    expect(describePeerId(id('-TR4050-'))).toBe('Transmission 4.0.5');
    expect(describePeerId(id('-qB4520-'))).toBe('qBittorrent 4.5.2');
    expect(describePeerId(id('A2-1-36-0-'))).toBe('aria2 1.36.0');
    expect(describePeerId(id('-DE13F0-'))).toBe('Deluge 1.3.15');
    expect(describePeerId(id('-UT355B-'))).toBe('µTorrent 3.5.5 beta');
    expect(describePeerId(id('-AZ5750-'))).toBe('Vuze 5.7.5');
    expect(describePeerId(id('-WW0201-'))).toBe('WebTorrent 2.1');
    expect(describePeerId(id('-BC0200-'))).toBe('BitComet 0.2.0');
    expect(describePeerId(Buffer.concat([Buffer.from('exbc'), Buffer.from([1, 5]), Buffer.alloc(14, 0x41)]))).toBe('BitComet 1.05');
    expect(describePeerId(id('M7-2-2--'))).toBe('Mainline 7.2.2');
    expect(describePeerId(id('T03I--', '-'))).toBe('BitTornado 0.3.18');
    expect(describePeerId(id('-ZZ1234-'))).toBe('ZZ 1.2.3.4');
    expect(describePeerId(Buffer.alloc(20))).toBeUndefined();
    expect(describePeerId(Buffer.alloc(5))).toBeUndefined();
  });
});
