import { describe, expect, it } from 'vitest';
import { MessageDecoder } from './decoder.js';
import { WireError } from './errors.js';
import { encodeMessage, encodePieceHeader, PIECE_HEADER_BYTES, type Message } from './messages.js';
import { EVERY_MESSAGE } from '../test/every-message.js';

const decoder = (): MessageDecoder => new MessageDecoder({ handshake: false, pieceCount: 28 });

describe('messages', () => {
  it('round-trips every message through encode and the decoder', () => {
    for (const m of EVERY_MESSAGE) {
      const out = decoder().push(encodeMessage(m));
      expect(out).toEqual([m]);
    }
  });

  it('writes the BEP 3 byte layouts', () => {
    expect(encodeMessage({ type: 'keep-alive' }).toString('hex')).toBe('00000000');
    expect(encodeMessage({ type: 'interested' }).toString('hex')).toBe('0000000102');
    expect(encodeMessage({ type: 'have', index: 258 }).toString('hex')).toBe('000000050400000102');
    expect(encodeMessage({ type: 'request', index: 1, begin: 2, length: 3 }).toString('hex')).toBe('0000000d06000000010000000200000003');
    expect(encodeMessage({ type: 'port', port: 0x1ae1 }).toString('hex')).toBe('00000003091ae1');
    expect(encodeMessage({ type: 'have-all' }).toString('hex')).toBe('000000010e');
    expect(encodeMessage({ type: 'allowed-fast', index: 1 }).toString('hex')).toBe('000000051100000001');
    expect(encodeMessage({ type: 'extended', id: 2, payload: Buffer.from('de') }).toString('hex')).toBe('0000000414026465');
  });

  it('writes a piece header that, with the block beside it, equals the whole message', () => {
    const block = Buffer.from('0123456789');
    const header = encodePieceHeader(4, 16384, block.length);
    expect(header.length).toBe(PIECE_HEADER_BYTES);
    expect(Buffer.concat([header, block])).toEqual(encodeMessage({ type: 'piece', index: 4, begin: 16384, block }));
  });

  it('refuses values outside the protocol range when encoding', () => {
    expect(() => encodeMessage({ type: 'have', index: -1 })).toThrow(WireError);
    expect(() => encodeMessage({ type: 'have', index: 2 ** 32 })).toThrow(WireError);
    expect(() => encodeMessage({ type: 'port', port: 70000 })).toThrow(WireError);
    expect(() => encodeMessage({ type: 'extended', id: 256, payload: Buffer.alloc(0) })).toThrow(WireError);
    expect(() => encodePieceHeader(0, 0, 1.5)).toThrow(WireError);
    expect(() => encodeMessage({ type: 'unknown', id: 300, payload: Buffer.alloc(0) })).toThrow(WireError);
  });
});

describe('messages, randomized', () => {
  it('round-trips random message sequences through random chunkings', () => {
    let s = 12345;
    const rnd = (n: number): number => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s % n;
    };
    const u32 = (): number => (rnd(2) === 0 ? rnd(28) : rnd(0x10000) * 0x10000 + rnd(0x10000));
    const bytes = (max: number): Buffer => Buffer.from(Array.from({ length: rnd(max + 1) }, () => rnd(256)));
    const make = (): Message => {
      switch (rnd(12)) {
        case 0:
          return { type: 'have', index: rnd(28) };
        case 1:
          return { type: 'request', index: u32(), begin: u32(), length: u32() };
        case 2:
          return { type: 'cancel', index: u32(), begin: u32(), length: u32() };
        case 3:
          return { type: 'reject', index: u32(), begin: u32(), length: u32() };
        case 4:
          return { type: 'piece', index: u32(), begin: u32(), block: bytes(16384) };
        case 5:
          return { type: 'port', port: rnd(0x10000) };
        case 6:
          return { type: 'suggest', index: u32() };
        case 7:
          return { type: 'allowed-fast', index: u32() };
        case 8:
          return { type: 'extended', id: rnd(256), payload: bytes(300) };
        case 9:
          return { type: 'bitfield', bytes: Buffer.from([rnd(256), rnd(256), rnd(256), rnd(16) << 4]) };
        case 10:
          return { type: 'keep-alive' };
        default:
          return { type: (['choke', 'unchoke', 'interested', 'not-interested', 'have-all', 'have-none'] as const)[rnd(6)]! };
      }
    };
    for (let round = 0; round < 100; round++) {
      const msgs = Array.from({ length: 1 + rnd(30) }, make);
      const stream = Buffer.concat(msgs.map(encodeMessage));
      const d = new MessageDecoder({ handshake: false, pieceCount: 28 });
      const out = [];
      for (let i = 0; i < stream.length;) {
        const n = 1 + rnd(rnd(2) === 0 ? 16 : 40000);
        out.push(...d.push(stream.subarray(i, i + n)));
        i += n;
      }
      expect(out).toEqual(msgs);
      expect(d.buffered).toBe(0);
    }
  });
});
