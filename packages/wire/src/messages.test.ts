import { describe, expect, it } from 'vitest';
import { MessageDecoder } from './decoder.js';
import { WireError } from './errors.js';
import { encodeMessage, encodePieceHeader, PIECE_HEADER_BYTES } from './messages.js';
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
    expect(encodeMessage({ type: 'request', index: 1, begin: 2, length: 3 }).toString('hex')).toBe(
      '0000000d06000000010000000200000003',
    );
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
  });
});
