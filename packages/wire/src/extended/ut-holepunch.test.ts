import { randomBytesFrom, randomInt, rng } from '@tc/testkit/random';
import { describe, expect, it } from 'vitest';
import { WireError } from '../errors.js';
import { encodeMessage } from '../messages.js';
import { ExtensionRouter } from './router.js';
import { decodeHolepunch, encodeHolepunch, HolepunchError, holepunchErrorName, UT_HOLEPUNCH, type HolepunchMessage } from './ut-holepunch.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/ /g, ''), 'hex');
const bad = (f: () => unknown, code = 'WIRE_BAD_EXTENDED'): void => {
  expect(f).toThrow(expect.objectContaining({ name: 'WireError', code }));
};

describe('ut_holepunch (BEP 55)', () => {
  it('encodes the BEP layout: type, address type, compact endpoint, err_code', () => {
    expect(encodeHolepunch({ type: 'rendezvous', ip: '1.2.3.4', port: 6881 })).toEqual(hex('00 00 01020304 1ae1 00000000'));
    expect(encodeHolepunch({ type: 'connect', ip: '10.0.0.1', port: 1 })).toEqual(hex('01 00 0a000001 0001 00000000'));
    expect(encodeHolepunch({ type: 'error', ip: '2001:db8::1', port: 51413, code: HolepunchError.NoSelf })).toEqual(
      hex('02 01 20010db8000000000000000000000001 c8d5 00000004'),
    );
  });

  it('round-trips every type over IPv4 and IPv6, and every error code', () => {
    const msgs: HolepunchMessage[] = [];
    for (const ip of ['127.0.0.1', '255.255.255.255', '::1', 'fe80::1:2', '2001:db8:0:1:2:3:4:5']) {
      msgs.push({ type: 'rendezvous', ip, port: 6881 }, { type: 'connect', ip, port: 65535 });
      for (const code of [...Object.values(HolepunchError), 0, 77, 0xffffffff]) msgs.push({ type: 'error', ip, port: 0, code });
    }
    for (const m of msgs) expect(decodeHolepunch(encodeHolepunch(m))).toEqual(m);
  });

  it("reads libtorrent's form: no err_code on rendezvous and connect", () => {
    expect(decodeHolepunch(hex('00 00 7f000001 1ae1'))).toEqual({ type: 'rendezvous', ip: '127.0.0.1', port: 6881 });
    expect(decodeHolepunch(hex('01 01 00000000000000000000000000000001 0050'))).toEqual({ type: 'connect', ip: '::1', port: 80 });
    // An error message must carry its code.
    bad(() => decodeHolepunch(hex('02 00 7f000001 1ae1')));
  });

  it('names the error codes the BEP defines, and no others', () => {
    expect(holepunchErrorName(1)).toBe('NoSuchPeer');
    expect(holepunchErrorName(2)).toBe('NotConnected');
    expect(holepunchErrorName(3)).toBe('NoSupport');
    expect(holepunchErrorName(4)).toBe('NoSelf');
    expect(holepunchErrorName(0)).toBeUndefined();
    expect(holepunchErrorName(5)).toBeUndefined();
  });

  it('rejects unknown types and address types, and every length but the right ones', () => {
    bad(() => decodeHolepunch(Buffer.alloc(0)));
    bad(() => decodeHolepunch(hex('00')));
    bad(() => decodeHolepunch(hex('03 00 7f000001 1ae1 00000000')));
    bad(() => decodeHolepunch(hex('ff 00 7f000001 1ae1 00000000')));
    bad(() => decodeHolepunch(hex('00 02 7f000001 1ae1 00000000')));
    for (const type of [0, 1, 2]) {
      for (const [addrType, endpoint] of [
        [0, 6],
        [1, 18],
      ] as const) {
        const good = new Set(type === 2 ? [2 + endpoint + 4] : [2 + endpoint, 2 + endpoint + 4]);
        for (let len = 0; len <= 40; len++) {
          const b = Buffer.alloc(len, 1);
          if (len > 0) b[0] = type;
          if (len > 1) b[1] = addrType;
          if (good.has(len)) expect(decodeHolepunch(b).type).toBe(['rendezvous', 'connect', 'error'][type]);
          else bad(() => decodeHolepunch(b));
        }
      }
    }
  });

  it('throws only WireError on random payloads', () => {
    const next = rng(55);
    let decoded = 0;
    for (let i = 0; i < 20_000; i++) {
      const b = randomBytesFrom(next, randomInt(next, 30));
      if (i % 2 === 0 && b.length > 1) b[0] = randomInt(next, 3); // a valid type half the time
      if (i % 4 === 0 && b.length > 1) b[1] = randomInt(next, 2);
      try {
        decodeHolepunch(b);
        decoded++;
      } catch (e) {
        expect(e).toBeInstanceOf(WireError);
      }
    }
    expect(decoded).toBeGreaterThan(0);
  });

  it('refuses to encode what is not an endpoint or a 32-bit code', () => {
    bad(() => encodeHolepunch({ type: 'connect', ip: 'example.org', port: 1 }), 'WIRE_BAD_ARGUMENT');
    bad(() => encodeHolepunch({ type: 'connect', ip: '1.2.3.4', port: 65536 }), 'WIRE_BAD_ARGUMENT');
    bad(() => encodeHolepunch({ type: 'connect', ip: '1.2.3.4', port: -1 }), 'WIRE_BAD_ARGUMENT');
    bad(() => encodeHolepunch({ type: 'connect', ip: '1.2.3.4', port: 1.5 }), 'WIRE_BAD_ARGUMENT');
    bad(() => encodeHolepunch({ type: 'error', ip: '1.2.3.4', port: 1, code: -1 }), 'WIRE_BAD_ARGUMENT');
    bad(() => encodeHolepunch({ type: 'error', ip: '1.2.3.4', port: 1, code: 2 ** 32 }), 'WIRE_BAD_ARGUMENT');
  });

  it('travels as an extended message under the id the peer chose', () => {
    const router = new ExtensionRouter({ ut_metadata: 1, [UT_HOLEPUNCH]: 4 });
    const payload = encodeHolepunch({ type: 'rendezvous', ip: '1.2.3.4', port: 6881 });
    const routed = router.route({ type: 'extended', id: 4, payload });
    if (routed.name !== 'other') throw new Error('expected a raw payload');
    expect(routed.extension).toBe(UT_HOLEPUNCH);
    expect(decodeHolepunch(routed.payload)).toEqual({ type: 'rendezvous', ip: '1.2.3.4', port: 6881 });
    expect(encodeMessage({ type: 'extended', id: 9, payload }).subarray(4, 6)).toEqual(Buffer.from([20, 9]));
  });
});
