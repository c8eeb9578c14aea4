import { createServer, type Server, type Socket } from 'node:net';
import { encodeExtendedHandshake, encodeHandshake, encodeMessage, generatePeerId } from '@tc/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '@tc/testkit/wait';
import { ManualClock } from '../src/clock.js';
import { probeHandshake } from '../src/probe/handshake.js';

/** Fake peers on 127.0.0.1, each answering a handshake in its own (mis)way. */
type Behaviour = (s: Socket, theirHandshake: Buffer) => void;

const INFO = Buffer.alloc(20, 7);
const OTHER = Buffer.alloc(20, 9);
const OURS = generatePeerId();
const QB_ID = Buffer.from('-qB4620-abcdefghijkl');

async function peer(behave: Behaviour, connected?: () => void): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => {
    connected?.();
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

describe('probeHandshake', () => {
  const servers: Server[] = [];
  const ports: Record<string, number> = {};
  let muteConnections = 0;

  beforeAll(async () => {
    const add = async (name: string, b: Behaviour, connected?: () => void): Promise<void> => {
      const p = await peer(b, connected);
      servers.push(p.server);
      ports[name] = p.port;
    };
    await add('good', (s) => {
      s.write(encodeHandshake({ infoHash: INFO, peerId: Buffer.from('-TR4050-abcdefghijkl'), features: { extended: true } }));
      s.write(encodeMessage({ type: 'extended', id: 0, payload: encodeExtendedHandshake({ m: {}, v: 'Transmission 4.0.5', yourip: '127.0.0.1' }) }));
    });
    await add('unnamed', (s) => {
      s.write(encodeHandshake({ infoHash: INFO, peerId: Buffer.alloc(20, 0x41), features: { extended: true } }));
      s.write(encodeMessage({ type: 'extended', id: 0, payload: encodeExtendedHandshake({ m: {}, v: 'Mystery 1.0' }) }));
    });
    await add('other', (s) => s.write(encodeHandshake({ infoHash: OTHER, peerId: generatePeerId() })));
    await add('self', (s) => s.write(encodeHandshake({ infoHash: INFO, peerId: OURS })));
    await add(
      'mute',
      () => undefined,
      () => muteConnections++,
    );
    await add('garbage', (s) => s.end(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')));
    await add('noext', (s) => s.write(encodeHandshake({ infoHash: INFO, peerId: QB_ID })));
  });

  afterAll(async () => {
    for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
  });

  const probe = (name: string, extra: { timeoutMs?: number; signal?: AbortSignal; clock?: ManualClock } = {}) =>
    probeHandshake({ ip: '127.0.0.1', port: ports[name]! }, { infoHash: INFO, peerId: OURS, ...extra });

  it('reads the handshake, the client (peer id, else the BEP 10 `v`), the peer id and yourip', async () => {
    expect(await probe('good')).toMatchObject({ state: 'ok', client: 'Transmission 4.0.5', yourip: '127.0.0.1' });
    expect(await probe('unnamed')).toMatchObject({ state: 'ok', client: '"Mystery 1.0"' });
    expect(await probe('noext')).toMatchObject({ state: 'ok', client: 'qBittorrent 4.6.2', peerIdHex: QB_ID.toString('hex') });
  });

  it('tells apart another torrent, ourselves, garbage and a closed port', async () => {
    expect((await probe('other')).state).toBe('wrong-torrent');
    expect((await probe('self')).state).toBe('self');
    expect((await probe('garbage')).state).toBe('error');
    const closed = await new Promise<number>((r) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => r(p));
      });
    });
    expect(await probeHandshake({ ip: '127.0.0.1', port: closed }, { infoHash: INFO, peerId: OURS })).toMatchObject({ state: 'refused' });
  });

  it('times out a silent peer on its clock', async () => {
    const clock = new ManualClock();
    const before = muteConnections;
    const p = probe('mute', { timeoutMs: 300, clock });
    await until('the mute peer to be dialled', () => muteConnections > before);
    clock.advance(300);
    expect(await p).toMatchObject({ state: 'timeout', message: 'no handshake within 300 ms', ms: 300 });
    expect(clock.pending).toBe(0);
  });

  it('stops when the caller aborts', async () => {
    const ctl = new AbortController();
    const before = muteConnections;
    const p = probe('mute', { timeoutMs: 60_000, signal: ctl.signal });
    await until('the mute peer to be dialled', () => muteConnections > before);
    ctl.abort();
    expect(await p).toMatchObject({ state: 'aborted' });
  });
});
