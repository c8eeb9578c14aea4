import { describe, expect, it } from 'vitest';
import { EVERY_MESSAGE } from '../test/every-message.js';
import { MessageDecoder, type Incoming } from './decoder.js';
import { WireError } from './errors.js';
import { encodeHandshake } from './handshake.js';
import { encodeMessage, encodePieceHeader } from './messages.js';

const infoHash = Buffer.alloc(20, 1);
const peerId = Buffer.from('-LT2080-012345678901');
const PIECES = 28;

function stream(): Buffer {
  return Buffer.concat([encodeHandshake({ infoHash, peerId, features: { extended: true, fast: true } }), ...EVERY_MESSAGE.map(encodeMessage)]);
}

function feed(chunks: Buffer[], opts = {}): Incoming[] {
  const d = new MessageDecoder({ pieceCount: PIECES, ...opts });
  return chunks.flatMap((c) => d.push(c));
}

/** A small deterministic PRNG, so a failing case can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

const expectCode = (f: () => unknown, code: string): void => {
  expect(f).toThrow(expect.objectContaining({ name: 'WireError', code }));
};

describe('MessageDecoder', () => {
  const bytes = stream();
  const whole = feed([bytes]);

  it('yields the handshake, then every message', () => {
    expect(whole[0]).toMatchObject({ type: 'handshake', infoHash, peerId });
    expect(whole.slice(1)).toEqual(EVERY_MESSAGE);
  });

  it('gives the same messages for the stream split at every possible boundary', () => {
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(feed([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual(whole);
    }
  });

  it('gives the same messages one byte at a time and in random chunks', () => {
    const single: Buffer[] = [];
    for (let i = 0; i < bytes.length; i++) single.push(bytes.subarray(i, i + 1));
    expect(feed(single)).toEqual(whole);
    const r = rng(42);
    for (let round = 0; round < 200; round++) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length;) {
        const n = 1 + Math.floor(r() * 40);
        chunks.push(bytes.subarray(i, i + n));
        i += n;
      }
      expect(feed(chunks)).toEqual(whole);
    }
  });

  it('returns piece blocks as views of the chunk when the message is whole in it', () => {
    const block = Buffer.alloc(16384, 7);
    const chunk = Buffer.concat([encodePieceHeader(1, 0, block.length), block, encodeMessage({ type: 'have', index: 3 })]);
    const [m] = new MessageDecoder({ handshake: false }).push(chunk);
    expect(m?.type).toBe('piece');
    if (m?.type !== 'piece') return;
    expect(m.block.buffer).toBe(chunk.buffer);
    expect(m.block.byteOffset).toBe(chunk.byteOffset + 13);
    expect(m.block.equals(block)).toBe(true);
  });

  it('copies a split piece message exactly once into a buffer of its own size', () => {
    const block = Buffer.alloc(16384, 9);
    const msg = Buffer.concat([encodePieceHeader(1, 0, block.length), block]);
    const d = new MessageDecoder({ handshake: false });
    expect(d.push(msg.subarray(0, 1000))).toEqual([]);
    expect(d.buffered).toBe(1000 - 4);
    expect(d.partialMessageBytes).toBe(msg.length);
    const [m] = d.push(msg.subarray(1000));
    if (m?.type !== 'piece') throw new Error('expected a piece');
    expect(m.block.buffer.byteLength).toBeGreaterThanOrEqual(16384 + 9);
    expect(m.block.equals(block)).toBe(true);
    expect(d.buffered).toBe(0);
    expect(d.partialMessageBytes).toBeUndefined();
  });

  it('tells the size of a message in progress only once its header is whole', () => {
    const msg = Buffer.concat([encodePieceHeader(1, 0, 100), Buffer.alloc(100)]);
    const d = new MessageDecoder({ handshake: false });
    d.push(msg.subarray(0, 3));
    expect(d.buffered).toBe(3);
    expect(d.partialMessageBytes).toBeUndefined();
    d.push(msg.subarray(3, 6));
    expect(d.partialMessageBytes).toBe(msg.length);
    d.push(msg.subarray(6));
    expect(d.partialMessageBytes).toBeUndefined();
  });

  it('rejects a length prefix of 0xFFFFFFFF after 4 bytes, without buffering (RELIABILITY #20)', () => {
    const d = new MessageDecoder({ handshake: false });
    expect(d.push(Buffer.from([0xff, 0xff, 0xff]))).toEqual([]);
    expectCode(() => d.push(Buffer.from([0xff])), 'WIRE_MESSAGE_TOO_LONG');
    expect(d.buffered).toBeLessThanOrEqual(4);
    // Dead after an error: the same error again.
    expectCode(() => d.push(Buffer.from([0])), 'WIRE_MESSAGE_TOO_LONG');
  });

  it('bounds piece messages by the block size', () => {
    const big = Buffer.concat([encodePieceHeader(0, 0, 16385), Buffer.alloc(16385)]);
    expectCode(() => new MessageDecoder({ handshake: false }).push(big), 'WIRE_MESSAGE_TOO_LONG');
    expect(new MessageDecoder({ handshake: false, maxBlockBytes: 32768 }).push(big)).toHaveLength(1);
    expect(() => new MessageDecoder({ maxBlockBytes: 1 << 20 })).toThrow(WireError);
  });

  it('bounds extended and unknown messages by the configured cap', () => {
    const ext = encodeMessage({ type: 'extended', id: 1, payload: Buffer.alloc(1001) });
    expectCode(() => new MessageDecoder({ handshake: false, maxExtendedBytes: 1000 }).push(ext), 'WIRE_MESSAGE_TOO_LONG');
    expect(new MessageDecoder({ handshake: false, maxExtendedBytes: 1001 }).push(ext)).toHaveLength(1);
    const unknown = encodeMessage({ type: 'unknown', id: 99, payload: Buffer.alloc(2000) });
    expectCode(() => new MessageDecoder({ handshake: false, maxExtendedBytes: 1000 }).push(unknown), 'WIRE_MESSAGE_TOO_LONG');
  });

  it('checks a bitfield against the piece count, or keeps it raw until the count is known', () => {
    const wrongSize = encodeMessage({ type: 'bitfield', bytes: Buffer.alloc(5) });
    expectCode(() => new MessageDecoder({ handshake: false, pieceCount: 28 }).push(wrongSize), 'WIRE_BAD_BITFIELD');
    const spare = encodeMessage({ type: 'bitfield', bytes: Buffer.from([0, 0, 0, 0x08]) });
    expectCode(() => new MessageDecoder({ handshake: false, pieceCount: 28 }).push(spare), 'WIRE_BAD_BITFIELD');
    const d = new MessageDecoder({ handshake: false });
    expect(d.push(wrongSize)).toEqual([{ type: 'bitfield', bytes: Buffer.alloc(5) }]);
    d.setPieceCount(28);
    expectCode(() => d.push(wrongSize), 'WIRE_BAD_BITFIELD');
    // Without a piece count the cap is RELIABILITY #15's 0x200000 pieces.
    const huge = Buffer.alloc(5);
    huge.writeUInt32BE(1 + 0x200000 / 8 + 1, 0);
    huge[4] = 5;
    expectCode(() => new MessageDecoder({ handshake: false }).push(huge), 'WIRE_MESSAGE_TOO_LONG');
  });

  it('rejects a have beyond the piece count and wrong fixed lengths', () => {
    expectCode(() => new MessageDecoder({ handshake: false, pieceCount: 28 }).push(encodeMessage({ type: 'have', index: 28 })), 'WIRE_HAVE_OUT_OF_RANGE');
    expectCode(() => new MessageDecoder({ handshake: false }).push(Buffer.from([0, 0, 0, 2, 1, 0])), 'WIRE_BAD_LENGTH');
    expectCode(() => new MessageDecoder({ handshake: false }).push(Buffer.from([0, 0, 0, 4, 4, 0, 0, 0])), 'WIRE_BAD_LENGTH');
    expectCode(() => new MessageDecoder({ handshake: false }).push(Buffer.from([0, 0, 0, 5, 7, 0, 0, 0, 0])), 'WIRE_BAD_LENGTH');
    expectCode(() => new MessageDecoder({ handshake: false }).push(Buffer.from([0, 0, 0, 1, 20])), 'WIRE_BAD_LENGTH');
  });

  it('refuses fast and extended messages that the handshakes did not negotiate', () => {
    const hs = encodeHandshake({ infoHash, peerId, features: {} });
    const d = new MessageDecoder({ features: { fast: true, extended: true } });
    expect(d.push(hs)).toHaveLength(1);
    expect(d.features).toEqual({ fast: false, extended: false, dht: false, v2: false });
    expectCode(() => d.push(encodeMessage({ type: 'have-all' })), 'WIRE_FAST_NOT_NEGOTIATED');
    const e = new MessageDecoder({ features: { fast: true, extended: true } });
    e.push(hs);
    expectCode(() => e.push(encodeMessage({ type: 'extended', id: 0, payload: Buffer.from('de') })), 'WIRE_EXTENDED_NOT_NEGOTIATED');
    const ok = new MessageDecoder({ features: { fast: true, extended: true } });
    ok.push(encodeHandshake({ infoHash, peerId, features: { fast: true, extended: true } }));
    expect(ok.push(encodeMessage({ type: 'have-none' }))).toEqual([{ type: 'have-none' }]);
  });

  it('throws only WireError on random garbage and never buffers past the limits', () => {
    const r = rng(7);
    const limit = 1 + 0x200000 / 8 + 1; // the largest body: a bitfield before the piece count is known
    let errors = 0;
    for (let round = 0; round < 3000; round++) {
      const withHandshake = round % 4 === 0;
      const d = new MessageDecoder({ handshake: withHandshake, ...(round % 3 === 0 ? { pieceCount: 1 + (round % 500) } : {}) });
      // Mostly small lengths, so that garbage also reaches the message parsers, not only the limits.
      const n = 1 + Math.floor(r() * 300);
      const junk = Buffer.alloc(n);
      for (let i = 0; i < n; i++) junk[i] = r() < 0.5 ? Math.floor(r() * 256) : Math.floor(r() * 24);
      if (withHandshake) encodeHandshake({ infoHash, peerId }).copy(junk, 0, 0, Math.min(n, 68 - (round % 3)));
      try {
        for (let i = 0; i < n;) {
          const k = 1 + Math.floor(r() * 64);
          d.push(junk.subarray(i, i + k));
          expect(d.buffered).toBeLessThanOrEqual(limit);
          i += k;
        }
      } catch (e) {
        expect(e).toBeInstanceOf(WireError);
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(100);
  });
});

describe('MessageDecoder unknown ids', () => {
  it('yields them by default and rejects them before buffering when asked', () => {
    const msg = encodeMessage({ type: 'unknown', id: 42, payload: Buffer.alloc(3) });
    expect(new MessageDecoder({ handshake: false }).push(msg)).toEqual([{ type: 'unknown', id: 42, payload: Buffer.alloc(3) }]);
    const strict = new MessageDecoder({ handshake: false, unknownIds: 'reject' });
    expect(() => strict.push(msg.subarray(0, 5))).toThrow(expect.objectContaining({ code: 'WIRE_UNKNOWN_MESSAGE', messageId: 42 }));
    expect(strict.buffered).toBe(0);
    expect(new MessageDecoder({ handshake: false, unknownIds: 'reject' }).push(encodeMessage({ type: 'have-none' }))).toHaveLength(1);
  });
});
