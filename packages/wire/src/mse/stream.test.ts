import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { duplexPair } from '@tc/testkit/duplex-pair';
import { randomBytesFrom, randomChunks, rng } from '@tc/testkit/random';
import { describe, expect, it } from 'vitest';
import { encodeHandshake } from '../handshake.js';
import type { MseMethod } from './common.js';
import { mseInfoHashLookup } from './crypto.js';
import { mseAccept, mseConnect, type MseAccepted } from './stream.js';

const infoHash = Buffer.alloc(20, 0x61);
const lookup = mseInfoHashLookup([infoHash]);
const ourHandshake = encodeHandshake({ infoHash, peerId: Buffer.alloc(20, 0x71), features: { extended: true, fast: true } });

/** Reads exactly `n` bytes from a stream (what arrived beyond is left unread). */
function read(stream: Duplex, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let have = 0;
    const onData = (c: Buffer): void => {
      parts.push(c);
      have += c.length;
      if (have >= n) {
        stream.off('data', onData);
        stream.off('error', reject);
        stream.pause();
        const all = Buffer.concat(parts);
        if (all.length > n) stream.unshift(all.subarray(n));
        resolve(all.subarray(0, n));
      }
    };
    stream.on('data', onData);
    stream.once('error', reject);
    stream.resume(); // an earlier read() paused it
  });
}

async function handshakePair(
  provide: MseMethod[] = ['rc4', 'plaintext'],
  prefer: MseMethod = 'rc4',
): Promise<{ a: Duplex; b: Duplex; inner: [Duplex, Duplex]; accepted: MseAccepted; method: MseMethod }> {
  const [x, y] = duplexPair();
  const [connected, accepted] = await Promise.all([mseConnect(x, { infoHash, provide, ia: ourHandshake }), mseAccept(y, { lookup, prefer })]);
  expect(connected.infoHash).toEqual(infoHash);
  return { a: connected.stream, b: accepted.stream, inner: [x, y], accepted, method: connected.method };
}

describe('mseConnect / mseAccept over an in-memory connection', () => {
  for (const method of ['rc4', 'plaintext'] as const) {
    it(`${method}: the IA comes first, then megabytes both ways arrive intact`, async () => {
      const { a, b, accepted } = await handshakePair([method]);
      expect(accepted).toMatchObject({ handshake: 'mse', method, infoHash });
      expect(await read(b, ourHandshake.length)).toEqual(ourHandshake);

      const next = rng(method === 'rc4' ? 1 : 2);
      const up = randomBytesFrom(next, 2 * 1024 * 1024);
      const down = randomBytesFrom(next, 2 * 1024 * 1024);
      const upCopy = Buffer.from(up);
      const gotUp = read(b, up.length);
      const gotDown = read(a, down.length);
      for (const c of randomChunks(next, up, 40_000)) a.write(c);
      b.cork(); // batched writes go through _writev
      for (const c of randomChunks(next, down, 40_000)) b.write(c);
      b.uncork();
      expect((await gotUp).equals(up)).toBe(true);
      expect((await gotDown).equals(down)).toBe(true);
      // What we wrote is untouched (the same block may be sent to many peers).
      expect(up.equals(upCopy)).toBe(true);
    });
  }

  it('rc4 really encrypts: the bytes on the inner stream are not the plaintext', async () => {
    const [x, y] = duplexPair();
    const seen: Buffer[] = [];
    y.on('data', (c: Buffer) => seen.push(Buffer.from(c))); // a tap on the responder's side
    y.pause();
    const [c] = await Promise.all([mseConnect(x, { infoHash, provide: ['rc4'], ia: ourHandshake }), mseAccept(y, { lookup })]);
    const secret = Buffer.from('a very recognisable payload string');
    c.stream.write(secret);
    await new Promise((r) => setTimeout(r, 20));
    const wire = Buffer.concat(seen);
    expect(wire.indexOf(secret.subarray(0, 16))).toBe(-1);
    expect(wire.indexOf(ourHandshake.subarray(0, 20))).toBe(-1); // the IA too
  });

  it('a plaintext BitTorrent handshake is passed through when allowed, refused when encryption is required', async () => {
    {
      const [x, y] = duplexPair();
      const acc = mseAccept(y, { lookup });
      x.write(ourHandshake.subarray(0, 7));
      x.write(ourHandshake.subarray(7));
      x.write('and then more');
      const r = await acc;
      expect(r.handshake).toBe('bittorrent');
      const got = await read(r.stream, ourHandshake.length + 13);
      expect(got).toEqual(Buffer.concat([ourHandshake, Buffer.from('and then more')]));
      r.stream.write('reply');
      expect((await read(x, 5)).toString()).toBe('reply');
    }
    {
      const [x, y] = duplexPair();
      const acc = mseAccept(y, { lookup, allowPlaintext: false });
      x.write(ourHandshake);
      await expect(acc).rejects.toMatchObject({ name: 'WireError', code: 'WIRE_MSE_PLAINTEXT' });
      expect(y.destroyed).toBe(true);
    }
  });

  it('a peer that hangs up, sends garbage, or is too slow: typed rejections, and the connection is destroyed', async () => {
    {
      const [x, y] = duplexPair();
      const c = mseConnect(x, { infoHash });
      await once(y, 'readable');
      y.end(); // a plaintext-only peer closes on an MSE key
      await expect(c).rejects.toMatchObject({ code: 'WIRE_MSE_CLOSED' });
      expect(x.destroyed).toBe(true);
    }
    {
      const [x, y] = duplexPair();
      const acc = mseAccept(y, { lookup });
      x.write(Buffer.alloc(2000, 0xab));
      await expect(acc).rejects.toMatchObject({ code: 'WIRE_MSE_NO_SYNC' });
      expect(y.destroyed).toBe(true);
    }
    {
      const [x, y] = duplexPair();
      const ctl = new AbortController();
      const acc = mseAccept(y, { lookup, signal: ctl.signal });
      x.write(Buffer.alloc(50, 0xab)); // not even a whole key
      setTimeout(() => ctl.abort(new Error('handshake timeout')), 5);
      await expect(acc).rejects.toThrow('handshake timeout');
      expect(y.destroyed).toBe(true);
    }
    {
      const [x] = duplexPair();
      await expect(mseConnect(x, { infoHash, signal: AbortSignal.abort(new Error('too late')) })).rejects.toThrow('too late');
      expect(x.destroyed).toBe(true);
    }
  });

  it('end carries through the wrapper', async () => {
    {
      const { a, b } = await handshakePair();
      await read(b, ourHandshake.length);
      a.end('last words');
      const got = read(b, 10);
      expect((await got).toString()).toBe('last words');
      b.resume();
      await once(b, 'end');
    }
  });

  it('destroy carries through the wrapper', async () => {
    {
      const { a, b, inner } = await handshakePair();
      const order: string[] = [];
      inner[0].once('close', () => order.push('inner'));
      a.once('close', () => order.push('wrapper'));
      const peerClosed = once(b, 'close');
      a.destroy();
      await once(a, 'close');
      expect(order).toEqual(['inner', 'wrapper']);
      expect(inner[0].destroyed).toBe(true);
      b.resume(); // the other side reads what is left, then closes too
      await peerClosed;
    }
  });

  it('errors carry through the wrapper', async () => {
    {
      const { a, inner } = await handshakePair();
      const boom = new Error('ECONNRESET, say');
      const err = once(a, 'error');
      inner[0].destroy(boom);
      expect((await err)[0]).toBe(boom);
      expect(a.destroyed).toBe(true);
    }
  });
});
