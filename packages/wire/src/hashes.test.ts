import { describe, expect, it } from 'vitest';
import { WireError } from './errors.js';
import { decodeHashMessage, encodeHashMessage, HASH_REQUEST_BYTES, type HashMessage } from './hashes.js';
import { MessageDecoder } from './decoder.js';

const root = Buffer.alloc(32, 7);

function payloadOf(framed: Buffer): { id: number; payload: Buffer } {
  return { id: framed[4]!, payload: framed.subarray(5) };
}

function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x * 1664525 + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

describe('BEP 52 hash messages', () => {
  it('round-trips a request, a reject and hashes with their proof', () => {
    const base = { root, base: 2, index: 512, length: 512, proofLayers: 10 };
    const msgs: HashMessage[] = [
      { type: 'hash-request', ...base },
      { type: 'hash-reject', ...base },
      { type: 'hashes', ...base, length: 4, index: 8, hashes: Array.from({ length: 4 + 3 }, (_, i) => Buffer.alloc(32, i)) },
    ];
    for (const m of msgs) {
      const framed = encodeHashMessage(m);
      expect(framed.readUInt32BE(0)).toBe(framed.length - 4);
      const { id, payload } = payloadOf(framed);
      expect(decodeHashMessage(id, payload)).toEqual(m);
    }
  });

  it('is yielded by the message decoder as an unknown id, with its payload intact', () => {
    const m: HashMessage = { type: 'hash-request', root, base: 0, index: 0, length: 2, proofLayers: 3 };
    const d = new MessageDecoder();
    const out = [...d.push(Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.alloc(48), encodeHashMessage(m)]))];
    const u = out.find((e) => 'type' in e && e.type === 'unknown') as { id: number; payload: Buffer } | undefined;
    expect(u).toBeDefined();
    expect(decodeHashMessage(u!.id, u!.payload)).toEqual(m);
  });

  it('refuses wrong sizes and out-of-range fields with WIRE_BAD_HASHES', () => {
    const good = payloadOf(encodeHashMessage({ type: 'hash-request', root, base: 0, index: 4, length: 4, proofLayers: 2 })).payload;
    const mutate = (off: number, v: number): Buffer => {
      const b = Buffer.from(good);
      b.writeUInt32BE(v, off);
      return b;
    };
    const cases: [number, Buffer][] = [
      [21, good.subarray(0, 47)],
      [21, Buffer.concat([good, Buffer.alloc(1)])],
      [23, Buffer.concat([good, Buffer.alloc(32)])],
      [22, Buffer.concat([good, Buffer.alloc(31)])],
      [22, Buffer.concat([good, Buffer.alloc(32 * 3)])], // fewer than `length`
      [22, Buffer.concat([good, Buffer.alloc(32 * 7)])], // more than length + proof layers
      [21, mutate(32, 49)], // base layer
      [21, mutate(40, 3)], // length not a power of two
      [21, mutate(40, 0)],
      [21, mutate(40, 16384)],
      [21, mutate(36, 6)], // index not a multiple of length
      [21, mutate(44, 1000)], // proof layers
      [7, good],
    ];
    for (const [id, p] of cases) {
      expect(() => decodeHashMessage(id, p), `${id} ${p.toString('hex')}`).toThrowError(WireError);
      try {
        decodeHashMessage(id, p);
      } catch (e) {
        expect((e as WireError).code).toBe('WIRE_BAD_HASHES');
      }
    }
    expect(decodeHashMessage(22, Buffer.concat([good, Buffer.alloc(32 * 6)])).type).toBe('hashes');
  });

  it('throws only WireError on random payloads (fuzz)', () => {
    const r = rng(52);
    let decoded = 0;
    for (let k = 0; k < 5_000; k++) {
      const id = 21 + Math.floor(r() * 3);
      const n = r() < 0.5 ? HASH_REQUEST_BYTES + Math.floor(r() * 4) * 32 : Math.floor(r() * 300);
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
      // Small fields sometimes, so that some payloads pass.
      if (n >= HASH_REQUEST_BYTES && r() < 0.7) {
        const len = 2 ** Math.floor(r() * 3);
        b.writeUInt32BE(Math.floor(r() * 4), 32);
        b.writeUInt32BE(len * Math.floor(r() * 4), 36);
        b.writeUInt32BE(len, 40);
        b.writeUInt32BE(Math.floor(r() * 4), 44);
      }
      try {
        const m = decodeHashMessage(id, b);
        decoded++;
        const again = payloadOf(encodeHashMessage(m));
        expect(again.payload.equals(b)).toBe(true);
      } catch (e) {
        expect(e).toBeInstanceOf(WireError);
      }
    }
    expect(decoded).toBeGreaterThan(25);
  });
});
