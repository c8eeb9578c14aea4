import { describe, expect, it } from 'vitest';
import { Bitfield, bitfieldBytes } from './bitfield.js';

describe('Bitfield', () => {
  it('sets, clears and counts pieces, high bit first (BEP 3)', () => {
    const bf = new Bitfield(10);
    expect(bf.set(0)).toBe(true);
    expect(bf.set(0)).toBe(false);
    bf.set(9);
    expect(bf.count).toBe(2);
    expect(bf.toBuffer().toString('hex')).toBe('8040');
    expect([...bf.indices()]).toEqual([0, 9]);
    expect(bf.clear(0)).toBe(true);
    expect(bf.clear(0)).toBe(false);
    expect(bf.count).toBe(1);
    expect(bf.has(9)).toBe(true);
    expect(bf.has(10)).toBe(false);
    expect(() => bf.set(10)).toThrow(expect.objectContaining({ code: 'WIRE_HAVE_OUT_OF_RANGE' }));
  });

  it('fills all pieces without touching spare bits', () => {
    const bf = Bitfield.full(13);
    expect(bf.isComplete).toBe(true);
    expect(bf.toBuffer().toString('hex')).toBe('fff8');
    expect(Bitfield.fromWire(bf.toBuffer(), 13).count).toBe(13);
  });

  it('enforces size and spare bits on a peer bitfield', () => {
    expect(() => Bitfield.fromWire(Buffer.from([0xff]), 13)).toThrow(expect.objectContaining({ code: 'WIRE_BAD_BITFIELD' }));
    expect(() => Bitfield.fromWire(Buffer.from([0xff, 0xfc]), 13)).toThrow(expect.objectContaining({ code: 'WIRE_BAD_BITFIELD' }));
    expect(Bitfield.fromWire(Buffer.from([0xff, 0xf8]), 13).count).toBe(13);
    expect(Bitfield.fromWire(Buffer.alloc(0), 0).isComplete).toBe(true);
  });

  it('counts a large random bitfield like a naive loop does', () => {
    const n = 100_003;
    const bytes = Buffer.alloc(bitfieldBytes(n));
    let seed = 7;
    for (let i = 0; i < n; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      if (seed & 0x100) bytes[i >> 3]! |= 0x80 >> (i & 7);
    }
    const bf = Bitfield.fromWire(bytes, n);
    let naive = 0;
    for (let i = 0; i < n; i++) if (bf.has(i)) naive++;
    expect(bf.count).toBe(naive);
    expect([...bf.indices()].length).toBe(naive);
    const copy = bf.clone();
    copy.clear([...copy.indices()][0]!);
    expect(copy.count).toBe(naive - 1);
    expect(bf.count).toBe(naive);
  });
});
