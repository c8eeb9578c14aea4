import { describe, expect, it } from 'vitest';
import { MessageDecoder } from './decoder.js';
import { WireError } from './errors.js';
import { decodeHandshake, encodeHandshake, HANDSHAKE_BYTES, hasReservedBit, makeReserved, negotiate, readFeatures, setReservedBit } from './handshake.js';

const infoHash = Buffer.alloc(20, 0xaa);
const peerId = Buffer.from('-TC0100-abcdefghijkl');

describe('handshake', () => {
  it('builds the 68-byte BEP 3 handshake and parses it back', () => {
    const bytes = encodeHandshake({ infoHash, peerId, features: { extended: true, fast: true, dht: true } });
    expect(bytes.length).toBe(HANDSHAKE_BYTES);
    expect(bytes[0]).toBe(19);
    expect(bytes.subarray(1, 20).toString()).toBe('BitTorrent protocol');
    // BEP 10: reserved[5] & 0x10; BEP 6: reserved[7] & 0x04; BEP 5: reserved[7] & 0x01.
    expect(bytes.subarray(20, 28).toString('hex')).toBe('0000000000100005');
    const h = decodeHandshake(bytes);
    expect(h.infoHash).toEqual(infoHash);
    expect(h.peerId).toEqual(peerId);
    expect(readFeatures(h.reserved)).toEqual({ extended: true, fast: true, dht: true, v2: false });
  });

  it('reads and sets reserved bits by name and keeps unknown bits', () => {
    const r = makeReserved({ fast: true });
    r[0] = 0x80; // a bit no BEP here names: must survive
    expect(hasReservedBit(r, 'fast')).toBe(true);
    expect(hasReservedBit(r, 'extended')).toBe(false);
    setReservedBit(r, 'extended', true);
    setReservedBit(r, 'fast', false);
    expect(readFeatures(r)).toEqual({ extended: true, fast: false, dht: false, v2: false });
    const h = decodeHandshake(encodeHandshake({ infoHash, peerId, reserved: r }));
    expect(h.reserved[0]).toBe(0x80);
  });

  it('BEP 52: the v2 bit is reserved[7] & 0x10', () => {
    const r = makeReserved({ v2: true });
    expect([...r]).toEqual([0, 0, 0, 0, 0, 0, 0, 0x10]);
    expect(readFeatures(r).v2).toBe(true);
    expect(negotiate({ v2: true }, { v2: true }).v2).toBe(true);
    expect(negotiate({ v2: true }, {}).v2).toBe(false);
  });

  it('negotiates a feature only when both sides set it', () => {
    expect(negotiate({ fast: true, extended: true }, { fast: true })).toEqual({ fast: true, extended: false, dht: false, v2: false });
  });

  it('rejects a wrong protocol string as soon as the first bad byte arrives', () => {
    const d = new MessageDecoder();
    expect(() => d.push(Buffer.from([19, 0x42]))).not.toThrow();
    const bad = new MessageDecoder();
    expect(() => bad.push(Buffer.from([18]))).toThrow(expect.objectContaining({ code: 'WIRE_BAD_PSTR' }));
    const bad2 = new MessageDecoder();
    expect(() => bad2.push(Buffer.from('\x13BitTorrent Protocol'))).toThrow(expect.objectContaining({ code: 'WIRE_BAD_PSTR' }));
    // HTTP on the peer port is a bad handshake, caught at byte 0.
    expect(() => new MessageDecoder().push(Buffer.from('GET / HTTP/1.1\r\n'))).toThrow(WireError);
  });

  it('rejects wrong sizes when encoding or parsing', () => {
    expect(() => encodeHandshake({ infoHash: Buffer.alloc(19), peerId })).toThrow(expect.objectContaining({ code: 'WIRE_BAD_ARGUMENT' }));
    expect(() => encodeHandshake({ infoHash, peerId: Buffer.alloc(21) })).toThrow(WireError);
    expect(() => decodeHandshake(Buffer.alloc(67))).toThrow(expect.objectContaining({ code: 'WIRE_BAD_HANDSHAKE' }));
  });
});
