import { createHash } from 'node:crypto';
import { encode } from '@tc/codec';
import { describe, expect, it } from 'vitest';
import { MessageDecoder } from '../decoder.js';
import { encodeMessage } from '../messages.js';
import { decodeExtendedHandshake, encodeExtendedHandshake, formatIp, ipBytes, MAX_EXTENSION_NAMES, mergeExtendedHandshake } from './handshake.js';
import { ExtensionRouter, UT_METADATA, UT_PEX } from './router.js';
import { decodeMetadataMessage, encodeMetadataMessage, MAX_METADATA_BYTES, METADATA_PIECE_BYTES, MetadataAssembler } from './ut-metadata.js';
import { decodePex, encodePex, MAX_PEX_PEERS_PER_LIST, PexFlags } from './ut-pex.js';

const expectCode = (f: () => unknown, code: string): void => {
  expect(f).toThrow(expect.objectContaining({ name: 'WireError', code }));
};

describe('extended handshake (BEP 10)', () => {
  it('round-trips m, v, p, reqq, yourip and metadata_size', () => {
    const payload = encodeExtendedHandshake({
      m: { ut_metadata: 3, ut_pex: 1, lt_donthave: 0 },
      p: 51413,
      reqq: 500,
      yourip: '10.1.2.3',
      metadataSize: 31337,
    });
    const h = decodeExtendedHandshake(payload);
    expect([...h.m]).toEqual([
      ['ut_metadata', 3],
      ['ut_pex', 1],
    ]);
    expect(h.v).toBe('tc 0.1.0');
    expect(h).toMatchObject({ p: 51413, reqq: 500, yourip: '10.1.2.3', metadataSize: 31337 });
    expect(decodeExtendedHandshake(encodeExtendedHandshake({ m: {}, yourip: '2001:db8::1' })).yourip).toBe('2001:db8::1');
  });

  it('accepts the unsorted keys real clients send, and drops malformed optional fields', () => {
    const raw = Buffer.from('d1:pi-5e1:v3:abc4:reqq3:xyz6:yourip3:abc1:md6:ut_pexi1e1:xi300eee');
    const h = decodeExtendedHandshake(raw);
    expect([...h.m]).toEqual([['ut_pex', 1]]);
    expect(h.v).toBe('abc');
    expect(h.p).toBeUndefined();
    expect(h.reqq).toBeUndefined();
    expect(h.yourip).toBeUndefined();
  });

  it('rejects broken structure and hostile metadata sizes with typed errors (RELIABILITY #18)', () => {
    expectCode(() => decodeExtendedHandshake(Buffer.from('d1:m')), 'WIRE_BAD_EXTENDED');
    expectCode(() => decodeExtendedHandshake(Buffer.from('li1ee')), 'WIRE_BAD_EXTENDED');
    expectCode(() => decodeExtendedHandshake(Buffer.from('d1:mi1ee')), 'WIRE_BAD_EXTENDED');
    expectCode(() => decodeExtendedHandshake(encode({ m: {}, metadata_size: 0 })), 'WIRE_METADATA_BAD_SIZE');
    expectCode(() => decodeExtendedHandshake(encode({ m: {}, metadata_size: -1 })), 'WIRE_METADATA_BAD_SIZE');
    expectCode(() => decodeExtendedHandshake(encode({ m: {}, metadata_size: MAX_METADATA_BYTES + 1 })), 'WIRE_METADATA_BAD_SIZE');
    expectCode(() => decodeExtendedHandshake(Buffer.from('d13:metadata_sizei99999999999999999999ee')), 'WIRE_METADATA_BAD_SIZE');
    expectCode(() => decodeExtendedHandshake(Buffer.from('d1:m' + 'l'.repeat(100) + 'e'.repeat(100) + 'e')), 'WIRE_BAD_EXTENDED');
  });

  it('formats and parses IP addresses', () => {
    expect(formatIp(ipBytes('::ffff:1.2.3.4'))).toBe('::ffff:102:304');
    expect(formatIp(ipBytes('fe80::1:0:0:2'))).toBe('fe80::1:0:0:2');
    expect(formatIp(ipBytes('1:2:3:4:5:6:7:8'))).toBe('1:2:3:4:5:6:7:8');
    expect(formatIp(Buffer.alloc(5))).toBeUndefined();
    expectCode(() => ipBytes('localhost'), 'WIRE_BAD_ARGUMENT');
  });
});

describe('ut_metadata (BEP 9)', () => {
  it('round-trips request, data and reject', () => {
    for (const m of [
      { type: 'request', piece: 0 },
      { type: 'reject', piece: 2 },
    ] as const) {
      expect(decodeMetadataMessage(encodeMetadataMessage(m))).toEqual(m);
    }
    const data = Buffer.alloc(100, 5);
    const size = METADATA_PIECE_BYTES * 2 + 100;
    const enc = encodeMetadataMessage({ type: 'data', piece: 2, totalSize: size, data });
    expect(enc.subarray(0, enc.length - 100).toString()).toBe(`d8:msg_typei1e5:piecei2e10:total_sizei${size}ee`);
    expect(decodeMetadataMessage(enc, size)).toEqual({ type: 'data', piece: 2, totalSize: size, data });
  });

  it('enforces the 16 KiB pieces, the index range and the total-size bound (RELIABILITY #18)', () => {
    const size = METADATA_PIECE_BYTES + 10;
    const data = (piece: number, totalSize: number, n: number): Buffer =>
      Buffer.concat([encode({ msg_type: 1, piece, total_size: totalSize }), Buffer.alloc(n)]);
    expect(decodeMetadataMessage(data(0, size, METADATA_PIECE_BYTES), size).type).toBe('data');
    expectCode(() => decodeMetadataMessage(data(0, size, METADATA_PIECE_BYTES + 1), size), 'WIRE_METADATA_BAD_PIECE');
    expectCode(() => decodeMetadataMessage(data(1, size, 9), size), 'WIRE_METADATA_BAD_PIECE');
    expectCode(() => decodeMetadataMessage(data(2, size, 10), size), 'WIRE_METADATA_BAD_PIECE');
    expectCode(() => decodeMetadataMessage(data(0, size + 1, METADATA_PIECE_BYTES), size), 'WIRE_METADATA_BAD_SIZE');
    expectCode(() => decodeMetadataMessage(data(0, 0, 0)), 'WIRE_METADATA_BAD_SIZE');
    expectCode(() => decodeMetadataMessage(data(0, MAX_METADATA_BYTES + 1, METADATA_PIECE_BYTES)), 'WIRE_METADATA_BAD_SIZE');
    expectCode(() => decodeMetadataMessage(encode({ msg_type: 0, piece: 2 }), size), 'WIRE_METADATA_BAD_PIECE');
    expectCode(() => decodeMetadataMessage(encode({ msg_type: 0, piece: -1 })), 'WIRE_METADATA_BAD_PIECE');
    expectCode(() => decodeMetadataMessage(encode({ msg_type: 0 })), 'WIRE_METADATA_BAD_MESSAGE');
    expectCode(() => decodeMetadataMessage(Buffer.from('l')), 'WIRE_METADATA_BAD_MESSAGE');
    expect(decodeMetadataMessage(encode({ msg_type: 7, piece: 0 }))).toEqual({ type: 'ignored', msgType: 7 });
  });

  it('assembles pieces and checks the SHA-1 against the info-hash (RELIABILITY #19)', () => {
    const info = Buffer.from(encode({ name: 'x', 'piece length': 16384, pieces: Buffer.alloc(20 * 2000) }));
    const infoHash = createHash('sha1').update(info).digest();
    const a = new MetadataAssembler(infoHash, info.length);
    expect(a.pieceCount).toBe(3);
    for (const i of [2, 0, 1]) {
      const part = info.subarray(i * METADATA_PIECE_BYTES, (i + 1) * METADATA_PIECE_BYTES);
      expect(a.add(i, part)).toBe(true);
    }
    expect(a.add(0, info.subarray(0, METADATA_PIECE_BYTES))).toBe(false);
    expect(a.finish()).toEqual(info);
    const bad = new MetadataAssembler(Buffer.alloc(20), info.length);
    for (let i = 0; i < 3; i++) bad.add(i, info.subarray(i * METADATA_PIECE_BYTES, (i + 1) * METADATA_PIECE_BYTES));
    expectCode(() => bad.finish(), 'WIRE_METADATA_HASH_MISMATCH');
    expect(bad.missing()).toEqual([0, 1, 2]);
    expectCode(() => bad.add(0, Buffer.alloc(3)), 'WIRE_METADATA_BAD_PIECE');
    expectCode(() => new MetadataAssembler(infoHash, MAX_METADATA_BYTES + 1), 'WIRE_METADATA_BAD_SIZE');
  });
});

describe('ut_pex (BEP 11)', () => {
  it('round-trips added, added.f, dropped and the IPv6 forms', () => {
    const msg = {
      added: [
        { ip: '10.0.0.1', port: 6881, flags: PexFlags.seed | PexFlags.reachable },
        { ip: '2001:db8::7', port: 51413, flags: PexFlags.utp },
      ],
      dropped: [
        { ip: '192.168.1.9', port: 1 },
        { ip: '::1', port: 65535 },
      ],
    };
    const payload = encodePex(msg);
    const d = encode({
      added: Buffer.from([10, 0, 0, 1, 0x1a, 0xe1]),
      'added.f': Buffer.from([0x12]),
      added6: Buffer.concat([ipBytes('2001:db8::7'), Buffer.from([0xc8, 0xd5])]),
      'added6.f': Buffer.from([0x04]),
      dropped: Buffer.from([192, 168, 1, 9, 0, 1]),
      dropped6: Buffer.concat([ipBytes('::1'), Buffer.from([0xff, 0xff])]),
    });
    expect(payload).toEqual(d);
    expect(decodePex(payload)).toEqual(msg);
  });

  it('tolerates missing flags, rejects ragged lists, and caps list length', () => {
    expect(decodePex(encode({ added: Buffer.from([1, 2, 3, 4, 0, 80]) }))).toEqual({
      added: [{ ip: '1.2.3.4', port: 80, flags: 0 }],
      dropped: [],
    });
    expectCode(() => decodePex(encode({ added: Buffer.alloc(7) })), 'WIRE_BAD_EXTENDED');
    expectCode(() => decodePex(encode({ added6: Buffer.alloc(6) })), 'WIRE_BAD_EXTENDED');
    expectCode(() => decodePex(encode({ added: 5 })), 'WIRE_BAD_EXTENDED');
    const many = Buffer.alloc(6 * 500, 1);
    const r = decodePex(encode({ added: many }));
    expect(r.added).toHaveLength(MAX_PEX_PEERS_PER_LIST);
    expect(r.truncated).toBe(true);
  });
});

describe('ExtensionRouter', () => {
  it('routes incoming ids by our m and outgoing names by the peer m', () => {
    const ours = new ExtensionRouter();
    const theirs = new ExtensionRouter({ ut_pex: 7, ut_metadata: 9 });
    // Each side sends its handshake; each routes the other's.
    const hsFromTheirs = encodeMessage({ type: 'extended', id: 0, payload: encodeExtendedHandshake({ m: theirs.localMap, metadataSize: 20000 }) });
    const hsFromOurs = encodeMessage({ type: 'extended', id: 0, payload: encodeExtendedHandshake({ m: ours.localMap }) });
    const rx = (bytes: Buffer) => {
      const [m] = new MessageDecoder({ handshake: false }).push(bytes);
      if (m?.type !== 'extended') throw new Error('expected an extended message');
      return m;
    };
    expect(ours.route(rx(hsFromTheirs)).name).toBe('handshake');
    expect(theirs.route(rx(hsFromOurs)).name).toBe('handshake');
    expect(ours.remoteId(UT_PEX)).toBe(7);
    expect(ours.remoteId('lt_donthave')).toBeUndefined();
    expect(ours.encode('lt_donthave', Buffer.alloc(0))).toBeUndefined();

    const req = ours.encode(UT_METADATA, encodeMetadataMessage({ type: 'request', piece: 1 }))!;
    expect(rx(req).id).toBe(9);
    expect(theirs.route(rx(req))).toEqual({ name: UT_METADATA, message: { type: 'request', piece: 1 } });

    const pex = theirs.encode(UT_PEX, encodePex({ added: [{ ip: '1.1.1.1', port: 1, flags: 0 }], dropped: [] }))!;
    expect(ours.route(rx(pex))).toMatchObject({ name: UT_PEX, message: { added: [{ ip: '1.1.1.1', port: 1 }] } });
    // The peer's metadata_size (20000 bytes: pieces 0 and 1) bounds what it may send us: its last
    // piece is data, a piece past it is refused, and data claiming another total size too (each of
    // these would pass if the size were not taken from its handshake: 40000 bytes has a piece 2).
    const last = theirs.encode(UT_METADATA, encodeMetadataMessage({ type: 'data', piece: 1, totalSize: 20000, data: Buffer.alloc(20000 - 16384, 7) }))!;
    expect(ours.route(rx(last))).toMatchObject({ name: UT_METADATA, message: { type: 'data', piece: 1, totalSize: 20000 } });
    const pastEnd = theirs.encode(UT_METADATA, encodeMetadataMessage({ type: 'request', piece: 2 }))!;
    expectCode(() => ours.route(rx(pastEnd)), 'WIRE_METADATA_BAD_PIECE');
    const otherSize = theirs.encode(UT_METADATA, encodeMetadataMessage({ type: 'data', piece: 2, totalSize: 40000, data: Buffer.alloc(40000 - 32768) }))!;
    expectCode(() => ours.route(rx(otherSize)), 'WIRE_METADATA_BAD_SIZE');
    expectCode(() => ours.route({ type: 'extended', id: 77, payload: Buffer.alloc(0) }), 'WIRE_BAD_EXTENDED');
    // A re-sent handshake may disable an extension with id 0.
    ours.route({ type: 'extended', id: 0, payload: encodeExtendedHandshake({ m: { ut_pex: 0, ut_metadata: 9 } }) });
    expect(ours.remoteId(UT_PEX)).toBeUndefined();
    expect(() => new ExtensionRouter({ a: 1, b: 1 })).toThrow();
  });
});

describe('repeated extended handshakes (BEP 10: "the m dictionary is additive")', () => {
  const hs = (m: Record<string, number>, extra: { reqq?: number; p?: number } = {}) => ({
    type: 'extended' as const,
    id: 0,
    payload: encodeExtendedHandshake({ m, ...extra }),
  });

  it('a later handshake only carries changes: others stay, 0 removes, new names add', () => {
    const r = new ExtensionRouter();
    r.route(hs({ ut_metadata: 3, ut_pex: 1 }, { reqq: 250, p: 6881 }));
    const routed = r.route(hs({ ut_pex: 0, lt_donthave: 7 }));
    expect(r.remoteId(UT_METADATA)).toBe(3);
    expect(r.remoteId(UT_PEX)).toBeUndefined();
    expect(r.remoteId('lt_donthave')).toBe(7);
    // Fields the later handshake leaves out keep their earlier values.
    expect(r.peer).toMatchObject({ reqq: 250, p: 6881 });
    expect(routed.name === 'handshake' && [...routed.handshake.m].sort()).toEqual([
      ['lt_donthave', 7],
      ['ut_metadata', 3],
    ]);
    // An extension may move to another id.
    r.route(hs({ ut_metadata: 9 }));
    expect(r.remoteId(UT_METADATA)).toBe(9);
  });

  it('keeps a bounded number of names however many handshakes add new ones', () => {
    const r = new ExtensionRouter();
    for (let round = 0; round < 5; round++) {
      const m: Record<string, number> = {};
      for (let i = 0; i < 100; i++) m[`x${round}_${i}`] = 1 + (i % 255);
      r.route(hs(m));
    }
    expect(r.peer!.m.size).toBe(MAX_EXTENSION_NAMES);
    // Changes to names already kept still apply when full, and a removal frees a place.
    r.route(hs({ x0_0: 42, x0_1: 0 }));
    expect(r.remoteId('x0_0')).toBe(42);
    expect(r.remoteId('x0_1')).toBeUndefined();
    r.route(hs({ ut_pex: 5 }));
    expect(r.remoteId(UT_PEX)).toBe(5);
    expect(r.peer!.m.size).toBe(MAX_EXTENSION_NAMES);
  });

  it('merges pure handshakes the same way', () => {
    const a = decodeExtendedHandshake(encodeExtendedHandshake({ m: { a: 1, b: 2 }, p: 6881, metadataSize: 100 }));
    const b = decodeExtendedHandshake(encodeExtendedHandshake({ m: { a: 0, c: 3 }, metadataSize: 200 }));
    expect([...b.disabled]).toEqual(['a']);
    const m = mergeExtendedHandshake(a, b);
    expect([...m.m]).toEqual([
      ['b', 2],
      ['c', 3],
    ]);
    expect(m).toMatchObject({ p: 6881, metadataSize: 200 });
  });
});

describe('extension parsers on random input', () => {
  it('throw nothing but WireError', () => {
    let s = 99;
    const next = (): number => {
      s = (s * 1103515245 + 12345) >>> 0;
      return s >>> 8;
    };
    // Bencode-ish alphabet, so that the parsers get past the first byte often.
    const alphabet = Buffer.from('de0123456789:ilx-e');
    const seeds = [
      encodeExtendedHandshake({ m: { ut_pex: 1 }, metadataSize: 100, yourip: '1.2.3.4' }),
      encodePex({ added: [{ ip: '1.2.3.4', port: 5, flags: 1 }], dropped: [] }),
      encodeMetadataMessage({ type: 'data', piece: 0, totalSize: 10, data: Buffer.alloc(10) }),
    ];
    for (let round = 0; round < 5000; round++) {
      const base = seeds[round % seeds.length]!;
      const input = Buffer.from(base);
      const edits = 1 + (next() % 4);
      for (let e = 0; e < edits; e++) {
        input[next() % input.length] = round % 2 === 0 ? alphabet[next() % alphabet.length]! : next() & 0xff;
      }
      const cut = input.subarray(0, next() % (input.length + 1));
      for (const parse of [decodeExtendedHandshake, decodePex, (b: Buffer) => decodeMetadataMessage(b, 10)]) {
        try {
          parse(cut);
        } catch (err) {
          expect(err).toMatchObject({ name: 'WireError' });
        }
      }
    }
  });
});
