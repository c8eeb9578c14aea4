import { seededRandomBytes } from '@tc/testkit/random';
import { describe, expect, it } from 'vitest';
import { converse, message3, message4, scripted } from '../../test/mse-peers.js';
import { encodeHandshake } from '../handshake.js';
import { EMPTY, MSE_MAX_PAD_BYTES, MSE_SYNC_WINDOW_BYTES, type MseMethod, type MseStep } from './common.js';
import { MSE_PRIME, mseInfoHashLookup, msePublicKey, mseSharedSecret } from './crypto.js';
import { MseInitiator, type MseInitiatorOptions } from './initiator.js';
import { classifyIncoming, MseResponder, type MseResponderOptions } from './responder.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const infoHash = Buffer.from(Array.from({ length: 20 }, (_, i) => 100 + i));
const other = Buffer.alloc(20, 0xee);
const lookup = mseInfoHashLookup([other, infoHash]);

function failed(step: MseStep): string {
  if (step.state !== 'failed') throw new Error(`expected a failure, got ${step.state}`);
  expect(step.error.name).toBe('WireError');
  return step.error.code;
}

function established(step: MseStep) {
  if (step.state !== 'established') throw new Error(`expected established, got ${step.state}${step.state === 'failed' ? `: ${step.error.message}` : ''}`);
  return step.result;
}

let seed = 1;
const pair = (a: Partial<MseInitiatorOptions> = {}, b: Partial<MseResponderOptions> = {}) => ({
  a: new MseInitiator({ infoHash, random: seededRandomBytes(seed++), ...a }),
  b: new MseResponder({ lookup, random: seededRandomBytes(seed++), ...b }),
});

describe('MSE known answers (computed apart: Python big integers, hashlib, OpenSSL RC4)', () => {
  // Xa = 01..14, Xb = 21..34, SKEY = 64..77, no padding, IA "IA: hello, responder", provide 3.
  const Xa = Buffer.from(Array.from({ length: 20 }, (_, i) => 1 + i));
  const Xb = Buffer.from(Array.from({ length: 20 }, (_, i) => 0x21 + i));
  const IA = Buffer.from('IA: hello, responder');
  const Ya = hex(
    '96e112dab29e8c5272accb9b17b26887ce54a144a4e3b697c7d159b7a817e556b0918db2b4c658e02a87f7e5fb14b18a553e084cbf3dad2d30f16596ccb982d406258c61b30c5c1dae2ddc60bdbd48d79896312aad63238c39e1a633821eb693',
  );
  const Yb = hex(
    '8f9c9f400fe9b3258f3e48598a95c7805cc90c995cd770283322679d132ebdae09b75eeadc01de698ef86945cf38314a95fad08c2ad5641802bd5f658eb3ea0db2712c04aa5efed03deecc5104f75d869d2d197e4336c61f0d71d763bee99416',
  );
  const S = hex(
    'cd8536d5f2c98f01f8f5a648f69f6f2d6a6aafd044666b01fc8beb81f63ddbea0a862b2b6306431f7a308b063f795d181ca711b22ab0602a9c4b5d1c53269837773ff53a4de47d9aace6b6a1b789ea37077507842742eb7581ea180b16748826',
  );
  const m3 = hex(
    '361e3668027ecec9d1086d5f839d191781e8de17c8beed3ecf3f6e80c79f6c31a21509457f8bbc8dd2a313381da150769e46ed4d6a1871e5c700a54b0f6a7b059e8acca39b9967cca8e92fd1',
  );
  const m4 = hex('78120533e9df4b335a451831033f');

  it('gives the same Ya, Yb, S and messages 3 and 4 byte for byte', () => {
    expect(msePublicKey(Xa)).toEqual(Ya);
    expect(msePublicKey(Xb)).toEqual(Yb);
    expect(mseSharedSecret(Xa, Yb)).toEqual(S);
    expect(mseSharedSecret(Xb, Ya)).toEqual(S);

    const a = new MseInitiator({ infoHash, ia: IA, random: scripted(Xa), maxPadBytes: 0 });
    const b = new MseResponder({ lookup, random: scripted(Xb), maxPadBytes: 0 });
    expect(a.start()).toEqual(Ya);
    const s1 = b.push(Ya);
    expect(s1).toMatchObject({ state: 'need-more', send: Yb });
    const s2 = a.push(Yb);
    expect(s2).toMatchObject({ state: 'need-more', send: m3 });
    const rb = established(b.push(m3));
    expect(rb).toMatchObject({ method: 'rc4', infoHash, ia: IA, rest: EMPTY });
  });

  it('then both ends share the RC4 streams for the payload', () => {
    const a = new MseInitiator({ infoHash, ia: IA, random: scripted(Xa), maxPadBytes: 0 });
    const b = new MseResponder({ lookup, random: scripted(Xb), maxPadBytes: 0 });
    const t = converse(a, b);
    expect(t.fromB.subarray(96)).toEqual(m4);
    const ra = established(t.a);
    const rb = established(t.b);
    const pa = Buffer.from('payload from A');
    ra.cipher!.encrypt.process(pa);
    expect(pa.toString('hex')).toBe('ffce817e25580ee0d10eb4d54ede');
    const pb = Buffer.from('payload from B');
    rb.cipher!.encrypt.process(pb);
    expect(pb.toString('hex')).toBe('85db8ffcec3dfbf5975919d2c309');
    rb.cipher!.decrypt.process(pa);
    ra.cipher!.decrypt.process(pb);
    expect(pa.toString()).toBe('payload from A');
    expect(pb.toString()).toBe('payload from B');
  });
});

describe('MSE: our initiator and responder', () => {
  const methods: MseMethod[][] = [['rc4'], ['plaintext'], ['rc4', 'plaintext']];
  for (const provide of methods) {
    for (const allow of methods) {
      for (const prefer of ['rc4', 'plaintext'] as const) {
        const common = provide.filter((m) => allow.includes(m));
        const expected = common.length === 0 ? undefined : common.includes(prefer) ? prefer : common[0];
        it(`provide ${provide.join('+')}, allow ${allow.join('+')}, prefer ${prefer} → ${expected ?? 'no common method'}`, () => {
          const { a, b } = pair({ provide }, { allow, prefer });
          const t = converse(a, b);
          if (expected === undefined) {
            expect(failed(t.b)).toBe('WIRE_MSE_NO_COMMON_METHOD');
            expect(t.a.state).toBe('need-more');
            return;
          }
          const ra = established(t.a);
          const rb = established(t.b);
          expect(ra.method).toBe(expected);
          expect(rb.method).toBe(expected);
          expect(rb.infoHash).toEqual(infoHash);
          expect(ra.cipher === undefined).toBe(expected === 'plaintext');
          expect(rb.cipher === undefined).toBe(expected === 'plaintext');
        });
      }
    }
  }

  it('carries an IA of any length up to 65535 bytes, and finds the torrent among several', () => {
    for (const n of [0, 1, 68, 1000, 0xffff]) {
      const ia = Buffer.alloc(n);
      for (let i = 0; i < n; i++) ia[i] = (i * 7) & 0xff;
      const { a, b } = pair({ ia });
      const t = converse(a, b);
      expect(established(t.b).ia.equals(ia)).toBe(true);
      expect(established(t.a).ia).toEqual(EMPTY);
    }
    expect(() => new MseInitiator({ infoHash, ia: Buffer.alloc(0x10000) })).toThrow(expect.objectContaining({ code: 'WIRE_BAD_ARGUMENT' }));
  });

  it('reads the handshake however the bytes are split, and hands over what follows it', () => {
    const ia = encodeHandshake({ infoHash, peerId: Buffer.alloc(20, 7) });
    // Fixed seeds: every run of make() gives the same keys and padding, so transcripts replay.
    const make = () => ({
      a: new MseInitiator({ infoHash, ia, random: seededRandomBytes(1001) }),
      b: new MseResponder({ lookup, random: seededRandomBytes(1002) }),
    });
    const t = converse(make().a, make().b);
    const rb = established(t.b);
    established(t.a);
    // Each side's first payload bytes, sent right behind its last handshake message.
    const fromB = Buffer.concat([t.fromB, encrypted(rb.cipher!.encrypt, 'bitfield and more')]);
    const ra = established(converse(make().a, make().b).a);
    const fromA = Buffer.concat([t.fromA, encrypted(ra.cipher!.encrypt, 'interested')]);

    // Whatever the split, the initiator ends established, and rest + the later payload is the same.
    for (let cut = 1; cut < fromB.length; cut++) {
      const { a } = make();
      a.start();
      expect(payloadAfter(a, [fromB.subarray(0, cut), fromB.subarray(cut)])).toBe('bitfield and more');
    }
    for (let cut = 1; cut < fromA.length; cut++) {
      const { b } = make();
      expect(payloadAfter(b, [fromA.subarray(0, cut), fromA.subarray(cut)], ia)).toBe('interested');
    }
    // One byte at a time.
    const { a } = make();
    a.start();
    expect(
      payloadAfter(
        a,
        [...fromB].map((x) => Buffer.from([x])),
      ),
    ).toBe('bitfield and more');
  });
});

function encrypted(rc4: { process(b: Uint8Array): void }, text: string): Buffer {
  const b = Buffer.from(text);
  rc4.process(b);
  return b;
}

/** Feeds chunks; returns the decrypted payload that followed the handshake (checking the IA if given). */
function payloadAfter(m: MseInitiator | MseResponder, chunks: Buffer[], ia?: Buffer): string {
  const out: Buffer[] = [];
  let done: ReturnType<typeof established> | undefined;
  for (const c of chunks) {
    if (done) {
      const copy = Buffer.from(c);
      done.cipher?.decrypt.process(copy);
      out.push(copy);
      continue;
    }
    const step = m.push(c);
    if (step.state === 'failed') throw step.error;
    if (step.state === 'established') {
      done = step.result;
      if (ia) expect(done.ia).toEqual(ia);
      out.push(done.rest);
    }
  }
  if (!done) throw new Error('never established');
  return Buffer.concat(out).toString();
}

describe('MSE: every way a handshake fails, with a typed code', () => {
  const Xa = Buffer.alloc(20, 0x5a);
  const Xb = Buffer.alloc(20, 0xb5);
  const Ya = msePublicKey(Xa);
  const Yb = msePublicKey(Xb);
  const S = mseSharedSecret(Xa, Yb);

  /** A responder that has read Ya and answered (no padding), ready for a hand-made message 3. */
  function responderAfterKey(opts: Partial<MseResponderOptions> = {}): MseResponder {
    const b = new MseResponder({ lookup, random: scripted(Xb), maxPadBytes: 0, ...opts });
    expect(b.push(Ya)).toMatchObject({ state: 'need-more', send: Yb });
    return b;
  }
  /** An initiator that has read Yb (no padding) and sent message 3. */
  function initiatorAfterKey(opts: Partial<MseInitiatorOptions> = {}): MseInitiator {
    const a = new MseInitiator({ infoHash, random: scripted(Xa), maxPadBytes: 0, ...opts });
    a.start();
    expect(a.push(Yb).send.length).toBeGreaterThan(40);
    return a;
  }

  it('wrong info-hash: the req2 hash matches no torrent we serve', () => {
    const { a, b } = pair({ infoHash: Buffer.alloc(20, 1) });
    const t = converse(a, b);
    expect(failed(t.b)).toBe('WIRE_MSE_UNKNOWN_TORRENT');
    expect(t.a.state).toBe('need-more');
    expect(failed(responderAfterKey({ lookup: () => undefined }).push(message3({ secret: S, infoHash })))).toBe('WIRE_MSE_UNKNOWN_TORRENT');
  });

  it('responder: the req1 marker may start 512 bytes after Ya, not 513', () => {
    for (const [extra, ok] of [
      [0, true],
      [MSE_MAX_PAD_BYTES, true],
      [MSE_SYNC_WINDOW_BYTES + 1, false],
    ] as const) {
      const { a, b } = pair({ maxPadBytes: 0 });
      const t = converse(a, b, (m, n) => (n === 0 ? Buffer.concat([m, Buffer.alloc(extra, 0x33)]) : m));
      if (ok) established(t.b);
      else expect(failed(t.b)).toBe('WIRE_MSE_NO_SYNC');
    }
  });

  it('initiator: the encrypted VC may start 512 bytes after Yb, not 513', () => {
    for (const [extra, ok] of [
      [0, true],
      [MSE_MAX_PAD_BYTES, true],
      [MSE_SYNC_WINDOW_BYTES + 1, false],
    ] as const) {
      const { a, b } = pair({}, { maxPadBytes: 0 });
      const t = converse(a, b, undefined, (m, n) => (n === 1 ? Buffer.concat([m, Buffer.alloc(extra, 0x44)]) : m));
      established(t.b);
      if (ok) established(t.a);
      else expect(failed(t.a)).toBe('WIRE_MSE_NO_SYNC');
    }
  });

  it('no sync marker at all: garbage after the key fails once the window is past, holding no more than it', () => {
    const b = responderAfterKey();
    let step: MseStep = b.push(Buffer.alloc(400, 1));
    expect(step.state).toBe('need-more');
    expect(b.buffered).toBe(400);
    step = b.push(Buffer.alloc(132, 2)); // 532 = 512 + 20: the last place the marker could start is here
    expect(failed(step)).toBe('WIRE_MSE_NO_SYNC');
    expect(b.buffered).toBe(0);

    const a = initiatorAfterKey();
    expect(a.push(Buffer.alloc(519, 3)).state).toBe('need-more');
    expect(failed(a.push(Buffer.alloc(1, 3)))).toBe('WIRE_MSE_NO_SYNC');
  });

  it('PadC and PadD: 512 bytes pass, a length of 513 fails', () => {
    established(responderAfterKey().push(message3({ secret: S, infoHash, padC: Buffer.alloc(512, 9) })));
    expect(failed(responderAfterKey().push(message3({ secret: S, infoHash, padCLength: 513 })))).toBe('WIRE_MSE_BAD_PAD');
    expect(failed(responderAfterKey().push(message3({ secret: S, infoHash, padCLength: 0xffff })))).toBe('WIRE_MSE_BAD_PAD');

    established(initiatorAfterKey().push(message4({ secret: S, infoHash, select: 2, padD: Buffer.alloc(512, 8) })));
    expect(failed(initiatorAfterKey().push(message4({ secret: S, infoHash, select: 2, padDLength: 513 })))).toBe('WIRE_MSE_BAD_PAD');
  });

  it('a verification constant that does not decrypt to zeros', () => {
    expect(failed(responderAfterKey().push(message3({ secret: S, infoHash, vc: Buffer.from([0, 0, 0, 0, 0, 0, 0, 1]) })))).toBe('WIRE_MSE_BAD_VC');
    // The right marker but the rest made with another secret: the unmasked req2 hash matches nothing.
    const wrong = message3({ secret: mseSharedSecret(Buffer.alloc(20, 1), Yb), infoHash });
    const spliced = Buffer.concat([message3({ secret: S, infoHash }).subarray(0, 20), wrong.subarray(20)]);
    expect(failed(responderAfterKey().push(spliced))).toBe('WIRE_MSE_UNKNOWN_TORRENT');
  });

  it('an IA over the limit the responder set; exactly the limit passes', () => {
    established(responderAfterKey({ maxIaBytes: 100 }).push(message3({ secret: S, infoHash, ia: Buffer.alloc(100) })));
    const step = responderAfterKey({ maxIaBytes: 100 }).push(message3({ secret: S, infoHash, iaLength: 101 }));
    expect(failed(step)).toBe('WIRE_MSE_IA_TOO_LONG');
    expect(step.state === 'failed' && step.error.limit).toBe(100);
    expect(() => new MseResponder({ lookup, maxIaBytes: 0x10000 })).toThrow(expect.objectContaining({ code: 'WIRE_BAD_ARGUMENT' }));
  });

  it('crypto_select that is not exactly one method we provided', () => {
    for (const select of [0, 3, 4, 0x80000002]) {
      expect(failed(initiatorAfterKey().push(message4({ secret: S, infoHash, select })))).toBe('WIRE_MSE_BAD_SELECT');
    }
    expect(failed(initiatorAfterKey({ provide: ['plaintext'] }).push(message4({ secret: S, infoHash, select: 2 })))).toBe('WIRE_MSE_BAD_SELECT');
    expect(failed(initiatorAfterKey({ provide: ['rc4'] }).push(message4({ secret: S, infoHash, select: 1 })))).toBe('WIRE_MSE_BAD_SELECT');
    // Bits for methods nobody defines are ignored in crypto_provide (room for new ones)…
    expect(established(responderAfterKey().push(message3({ secret: S, infoHash, provide: 0xf0 | 2 }))).method).toBe('rc4');
    // …but a provide with none we know is refused.
    expect(failed(responderAfterKey().push(message3({ secret: S, infoHash, provide: 0x04 })))).toBe('WIRE_MSE_NO_COMMON_METHOD');
  });

  it('a Diffie-Hellman key outside 2..P-2', () => {
    const n = (v: bigint): Buffer => Buffer.from(v.toString(16).padStart(192, '0'), 'hex');
    const p = BigInt('0x' + MSE_PRIME.toString('hex'));
    for (const bad of [0n, 1n, p - 1n, p, 2n ** 768n - 1n]) {
      expect(failed(new MseResponder({ lookup }).push(n(bad)))).toBe('WIRE_MSE_BAD_KEY');
      const a = new MseInitiator({ infoHash });
      a.start();
      expect(failed(a.push(n(bad)))).toBe('WIRE_MSE_BAD_KEY');
    }
    expect(new MseResponder({ lookup }).push(n(2n)).state).toBe('need-more');
  });

  it('a plaintext BitTorrent handshake sent to the responder', () => {
    const hs = encodeHandshake({ infoHash, peerId: Buffer.alloc(20, 1) });
    const b = new MseResponder({ lookup });
    expect(b.push(hs.subarray(0, 19)).state).toBe('need-more');
    expect(failed(b.push(hs.subarray(19)))).toBe('WIRE_MSE_PLAINTEXT');
    expect(classifyIncoming(hs.subarray(0, 5))).toBe('need-more');
    expect(classifyIncoming(hs)).toBe('bittorrent');
    expect(classifyIncoming(Ya)).toBe('mse');
    expect(classifyIncoming(Buffer.from([19, 0x42]))).toBe('need-more'); // 19 'B'…
    expect(classifyIncoming(Buffer.from([19, 0x41]))).toBe('mse');
    expect(classifyIncoming(Buffer.alloc(0))).toBe('need-more');
  });

  it('a failure is final; pushing after success or before start() is a caller bug', () => {
    const b = responderAfterKey({ lookup: () => undefined });
    const f = b.push(message3({ secret: S, infoHash }));
    expect(failed(f)).toBe('WIRE_MSE_UNKNOWN_TORRENT');
    expect(b.push(Buffer.alloc(10))).toEqual(f);

    const { a, b: b2 } = pair();
    const t = converse(a, b2);
    established(t.a);
    expect(() => a.push(Buffer.alloc(1))).toThrow(expect.objectContaining({ code: 'WIRE_BAD_ARGUMENT' }));
    expect(() => new MseInitiator({ infoHash }).push(Buffer.alloc(1))).toThrow(expect.objectContaining({ code: 'WIRE_BAD_ARGUMENT' }));
    expect(() => a.start()).toThrow(expect.objectContaining({ code: 'WIRE_BAD_ARGUMENT' }));
    expect(() => new MseInitiator({ infoHash: Buffer.alloc(19) })).toThrow(expect.objectContaining({ code: 'WIRE_BAD_ARGUMENT' }));
    expect(() => new MseInitiator({ infoHash, provide: [] })).toThrow(expect.objectContaining({ code: 'WIRE_BAD_ARGUMENT' }));
    expect(() => new MseInitiator({ infoHash, maxPadBytes: 513 })).toThrow(expect.objectContaining({ code: 'WIRE_BAD_ARGUMENT' }));
  });
});
