import { describe, expect, it } from 'vitest';
import { classifyDatagram } from './demux.js';
import { isUtpError } from './errors.js';
import { HEADER_BYTES, PacketType, decodePacket, encodePacket, sackHas, type PacketInit } from './packet.js';

const base: PacketInit = {
  type: PacketType.Data,
  connectionId: 0x1234,
  timestampUs: 0xdeadbeef,
  timestampDiffUs: 0x01020304,
  windowBytes: 0x00100000,
  seq: 0xfffe,
  ack: 0x0001,
};

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isUtpError(e)) return e.code;
    throw e;
  }
  return 'no error';
}

describe('packet codec (BEP 29)', () => {
  it('writes the header fields big-endian at their BEP 29 offsets', () => {
    const b = encodePacket({ ...base, payload: Buffer.from('hi') });
    expect(b.subarray(0, HEADER_BYTES).toString('hex')).toBe(
      // type 0 / version 1, no extension, conn id, timestamp, diff, window, seq, ack
      '01' + '00' + '1234' + 'deadbeef' + '01020304' + '00100000' + 'fffe' + '0001',
    );
    expect(b.subarray(HEADER_BYTES).toString()).toBe('hi');
  });

  it('puts the type in the high nibble and version 1 in the low one', () => {
    const firsts = [PacketType.Data, PacketType.Fin, PacketType.State, PacketType.Reset, PacketType.Syn].map((type) => encodePacket({ ...base, type })[0]);
    expect(firsts).toEqual([0x01, 0x11, 0x21, 0x31, 0x41]);
  });

  it('round-trips every field, a selective ack and the payload', () => {
    const sack = Uint8Array.from([0b0000_0101, 0, 0, 0x80]);
    const p = decodePacket(encodePacket({ ...base, type: PacketType.State, sack }));
    expect(p).toMatchObject({ ...base, type: PacketType.State });
    expect([...p.sack!]).toEqual([...sack]);
    expect(p.payload.length).toBe(0);
    // bit i = packet ack + 2 + i, least significant bit of each byte first (BEP 29)
    expect([0, 1, 2, 31].map((i) => sackHas(p.sack!, i))).toEqual([true, false, true, true]);
  });

  it('decodes a selective ack as libutp lays it out: ext=1, next=0, len=4, mask', () => {
    const raw = Buffer.concat([encodePacket({ ...base, type: PacketType.State }), Buffer.from([0, 4, 0xff, 0, 0, 0])]);
    raw[1] = 1;
    const p = decodePacket(raw);
    expect(p.sack?.length).toBe(4);
    expect(sackHas(p.sack!, 7)).toBe(true);
    expect(sackHas(p.sack!, 8)).toBe(false);
  });

  it('accepts a selective ack of any whole number of bytes, as libtorrent sends them', () => {
    const raw = (len: number): Buffer => {
      const b = Buffer.concat([encodePacket({ ...base, type: PacketType.State }), Buffer.from([0, len]), Buffer.alloc(len, 0xff)]);
      b[1] = 1;
      return b;
    };
    expect(decodePacket(raw(1)).sack?.length).toBe(1);
    expect(decodePacket(raw(3)).sack?.length).toBe(3);
    expect(decodePacket(raw(0)).sack).toBeUndefined(); // says nothing
  });

  it('skips unknown and close-reason extensions and finds the payload after them', () => {
    const head = encodePacket(base);
    head[1] = 3; // libtorrent's close reason, then an unknown extension 9
    const raw = Buffer.concat([head, Buffer.from([9, 4, 0, 0, 0, 7, 0, 2, 0xaa, 0xbb]), Buffer.from('data')]);
    const p = decodePacket(raw);
    expect(p.sack).toBeUndefined();
    expect(p.payload.toString()).toBe('data');
  });

  it('rejects what no peer may send, each with its own code', () => {
    const ok = encodePacket(base);
    const with1 = (i: number, v: number): Buffer => {
      const b = Buffer.from(ok);
      b[i] = v;
      return b;
    };
    expect(codeOf(() => decodePacket(ok.subarray(0, 19)))).toBe('UTP_TRUNCATED');
    expect(codeOf(() => decodePacket(with1(0, 0x02)))).toBe('UTP_BAD_VERSION');
    expect(codeOf(() => decodePacket(with1(0, 0x51)))).toBe('UTP_BAD_TYPE');
    expect(codeOf(() => decodePacket(with1(1, 1)))).toBe('UTP_TRUNCATED'); // says sack, has none
    const bits = Buffer.concat([with1(1, 2), Buffer.from([0, 7]), Buffer.alloc(7)]);
    expect(codeOf(() => decodePacket(bits))).toBe('UTP_BAD_EXTENSION');
    expect(codeOf(() => decodePacket(Buffer.concat([with1(1, 1), Buffer.from([0, 8, 0, 0])])))).toBe('UTP_TRUNCATED');
    // A chain of empty extensions longer than anyone sends.
    const chain = Buffer.concat([with1(1, 9), Buffer.from(Array.from({ length: 20 }, () => [9, 0]).flat())]);
    expect(codeOf(() => decodePacket(chain))).toBe('UTP_TOO_MANY_EXTENSIONS');
    for (const type of [PacketType.Syn, PacketType.State, PacketType.Reset]) {
      const b = Buffer.concat([encodePacket({ ...base, type }), Buffer.from('x')]);
      expect(codeOf(() => decodePacket(b))).toBe('UTP_UNEXPECTED_PAYLOAD');
    }
  });

  it('refuses to encode out-of-range fields', () => {
    expect(codeOf(() => encodePacket({ ...base, seq: 0x10000 }))).toBe('UTP_BAD_ARGUMENT');
    expect(codeOf(() => encodePacket({ ...base, connectionId: -1 }))).toBe('UTP_BAD_ARGUMENT');
    expect(codeOf(() => encodePacket({ ...base, windowBytes: 2 ** 32 }))).toBe('UTP_BAD_ARGUMENT');
    expect(codeOf(() => encodePacket({ ...base, sack: new Uint8Array(3) }))).toBe('UTP_BAD_ARGUMENT');
  });
});

describe('classifyDatagram', () => {
  it('tells KRPC, uTP and junk apart by the first byte', () => {
    expect(classifyDatagram(Buffer.from('d1:ad2:id20:xxxxxxxxxxxxxxxxxxxxe1:q4:ping1:t2:aa1:y1:qe'))).toBe('dht');
    for (const type of [0, 1, 2, 3, 4] as const) expect(classifyDatagram(encodePacket({ ...base, type }))).toBe('utp');
    expect(classifyDatagram(Buffer.alloc(0))).toBe('unknown');
    expect(classifyDatagram(Buffer.from([0x51, ...Buffer.alloc(19)]))).toBe('unknown'); // type 5
    expect(classifyDatagram(Buffer.from([0x02, ...Buffer.alloc(19)]))).toBe('unknown'); // version 2
    expect(classifyDatagram(Buffer.from([0x41, 0, 0]))).toBe('unknown'); // shorter than a header
    expect(classifyDatagram(Buffer.from('l4:spame'))).toBe('unknown');
  });
});
