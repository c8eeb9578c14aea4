import { encodeExtendedHandshake, encodeHandshake, encodeMessage, generatePeerId } from '@tc/wire';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handshakePeer } from '../src/probes.js';

/** Fake peers on 127.0.0.1, each answering a handshake in its own (mis)way. */
type Behaviour = (s: Socket, theirHandshake: Buffer) => void;

const INFO = Buffer.alloc(20, 7);
const OTHER = Buffer.alloc(20, 9);
const OURS = generatePeerId();

async function peer(behave: Behaviour): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => {
    let buf = Buffer.alloc(0);
    let done = false;
    s.on('error', () => undefined);
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (!done && buf.length >= 68) {
        done = true;
        behave(s, buf.subarray(0, 68));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as { port: number }).port };
}

describe('handshake probe', () => {
  const servers: Server[] = [];
  const ports: Record<string, number> = {};

  beforeAll(async () => {
    const add = async (name: string, b: Behaviour): Promise<void> => {
      const p = await peer(b);
      servers.push(p.server);
      ports[name] = p.port;
    };
    await add('good', (s) => {
      s.write(encodeHandshake({ infoHash: INFO, peerId: Buffer.from('-TR4050-abcdefghijkl'), features: { extended: true } }));
      s.write(encodeMessage({ type: 'extended', id: 0, payload: encodeExtendedHandshake({ m: {}, v: 'Transmission 4.0.5', yourip: '127.0.0.1' }) }));
    });
    await add('other', (s) => s.write(encodeHandshake({ infoHash: OTHER, peerId: generatePeerId() })));
    await add('self', (s) => s.write(encodeHandshake({ infoHash: INFO, peerId: OURS })));
    await add('mute', () => undefined);
    await add('garbage', (s) => s.end(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')));
    await add('noext', (s) => s.write(encodeHandshake({ infoHash: INFO, peerId: Buffer.from('-qB4620-abcdefghijkl') })));
  });

  afterAll(async () => {
    for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
  });

  const probe = (name: string, timeoutMs = 2000) => handshakePeer({ ip: '127.0.0.1', port: ports[name]! }, INFO, OURS, timeoutMs, new AbortController().signal);

  it('reads the handshake, the client and yourip', async () => {
    const r = await probe('good');
    expect(r).toMatchObject({ state: 'ok', client: 'Transmission 4.0.5', yourip: '127.0.0.1' });
    expect(await probe('noext')).toMatchObject({ state: 'ok', client: 'qBittorrent 4.6.2' });
  });

  it('tells apart another torrent, ourselves, silence, garbage and a closed port', async () => {
    expect((await probe('other')).state).toBe('wrong-torrent');
    expect((await probe('self')).state).toBe('self');
    expect(await probe('mute', 300)).toMatchObject({ state: 'timeout', message: 'no handshake within 300 ms' });
    expect((await probe('garbage')).state).toBe('error');
    const closed = await new Promise<number>((r) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => r(p));
      });
    });
    expect(await handshakePeer({ ip: '127.0.0.1', port: closed }, INFO, OURS, 2000, new AbortController().signal)).toMatchObject({
      state: 'refused',
    });
  });

  it('gives up when the overall deadline aborts', async () => {
    const ctl = new AbortController();
    const p = handshakePeer({ ip: '127.0.0.1', port: ports.mute! }, INFO, OURS, 10_000, ctl.signal);
    setTimeout(() => ctl.abort(), 50);
    expect(await p).toMatchObject({ state: 'timeout', message: 'stopped by the overall --timeout' });
  });
});
