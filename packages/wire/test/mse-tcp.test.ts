import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { randomBytesFrom, rng } from '@tc/testkit/random';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mseAccept, mseConnect, mseInfoHashLookup, type MseAccepted, type MseMethod } from '../src/index.js';

// The MSE wrapper over real TCP sockets on loopback: net.Socket's own close and half-close rules.
const infoHash = Buffer.alloc(20, 0x33);
const lookup = mseInfoHashLookup([Buffer.alloc(20, 1), infoHash]);

function collect(stream: Duplex): Promise<Buffer> {
  const parts: Buffer[] = [];
  stream.on('data', (c: Buffer) => parts.push(c));
  return once(stream, 'end').then(() => Buffer.concat(parts));
}

describe('MSE over TCP on 127.0.0.1', () => {
  let server: Server;
  let port: number;
  const accepted: Promise<MseAccepted>[] = [];
  const sockets: Socket[] = [];

  beforeAll(async () => {
    server = createServer((s) => {
      sockets.push(s);
      const p = mseAccept(s, { lookup });
      p.catch(() => {}); // each test awaits its own
      accepted.push(p);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    server.close();
    await once(server, 'close');
  });

  async function dial(provide: MseMethod[]): Promise<{ mine: Duplex; theirs: MseAccepted; socket: Socket }> {
    const n = accepted.length; // the server may see the connection before our 'connect' event
    const socket = connect({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    const mine = await mseConnect(socket, { infoHash, provide });
    while (accepted.length === n) await new Promise((r) => setImmediate(r));
    const theirs = await accepted[n]!;
    return { mine: mine.stream, theirs, socket };
  }

  for (const method of ['rc4', 'plaintext'] as const) {
    it(`${method}: 8 MiB each way, then a clean close on both sides`, async () => {
      const { mine, theirs, socket } = await dial([method]);
      expect(theirs).toMatchObject({ handshake: 'mse', method });
      const next = rng(9);
      const up = randomBytesFrom(next, 8 * 1024 * 1024);
      const down = randomBytesFrom(next, 8 * 1024 * 1024);
      const gotUp = collect(theirs.stream);
      const gotDown = collect(mine);
      const closed = Promise.all([once(mine, 'close'), once(theirs.stream, 'close')]);
      // Echo the end like a peer that is done: net.Socket's allowHalfOpen=false ends its side.
      for (let at = 0; at < up.length; at += 100_000) mine.write(up.subarray(at, at + 100_000));
      mine.end();
      theirs.stream.end(down);
      expect((await gotUp).equals(up)).toBe(true);
      expect((await gotDown).equals(down)).toBe(true);
      await closed;
      expect(socket.destroyed).toBe(true);
    });
  }

  it('a peer that ends first still gets everything queued for it before its FIN arrived', async () => {
    // The socket would end its own side on the FIN while 8 MiB still wait in the wrapper's queue;
    // the wrapper keeps that rule to itself so the queue is flushed first.
    const { mine, theirs } = await dial(['rc4']);
    const gotDown = collect(mine);
    const gotUp = collect(theirs.stream);
    mine.end('bye');
    const down = randomBytesFrom(rng(5), 8 * 1024 * 1024);
    for (let at = 0; at < down.length; at += 100_000) theirs.stream.write(down.subarray(at, at + 100_000));
    theirs.stream.end();
    expect((await gotUp).toString()).toBe('bye');
    expect((await gotDown).equals(down)).toBe(true);
  });

  it('a reset from the other side closes the wrapper', async () => {
    const { mine, theirs } = await dial(['rc4']);
    const closed = once(mine, 'close');
    mine.on('error', () => {}); // ECONNRESET may or may not come first, as with a bare socket
    mine.resume();
    theirs.stream.destroy();
    await closed;
    expect(mine.destroyed).toBe(true);
  });
});
