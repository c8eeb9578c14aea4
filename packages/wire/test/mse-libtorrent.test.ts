import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { hasLibtorrent, startLibtorrent, type LibtorrentPeer } from '@tc/testkit/libtorrent';
import { tempDir } from '@tc/testkit/tmp';
import { until } from '@tc/testkit/wait';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Bitfield,
  describePeerId,
  encodeHandshake,
  encodeMessage,
  generatePeerId,
  mseAccept,
  mseConnect,
  mseInfoHashLookup,
  type MseAccepted,
  type MseMethod,
} from '../src/index.js';
import { makePayloadTorrent, type PayloadTorrent } from './payload-torrent.js';
import { is, PeerConn } from './peer-conn.js';

// MSE/PE against python3-libtorrent 2.0.8 on loopback (INTEROP.md): enc policy 0 = forced,
// allowed_enc_level 1 = plaintext, 2 = rc4, 3 = both.
const PIECE_LENGTH = 32 * 1024;
const FILE_BYTES = 4 * PIECE_LENGTH + 999;
const NO_FEATURES = { extended: false, fast: false };
const forced = (level: 1 | 2 | 3) => ({ out_enc_policy: 0, in_enc_policy: 0, allowed_enc_level: level });

describe('live: MSE with python3-libtorrent on loopback', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let t: PayloadTorrent;
  const peers: LibtorrentPeer[] = [];
  const conns: PeerConn[] = [];

  beforeAll(async () => {
    expect(hasLibtorrent()).toBe(true);
    dir = await tempDir('tc-wire-mse-');
    t = await makePayloadTorrent(dir.path, FILE_BYTES, PIECE_LENGTH);
  });

  afterAll(async () => {
    await Promise.all(conns.map((c) => c.close()));
    await Promise.all(peers.map((p) => p.stop()));
    await dir?.cleanup();
  });

  async function seeder(settings: Record<string, number>, connectTo: { ip: string; port: number }[] = []): Promise<LibtorrentPeer> {
    const p = await startLibtorrent({ torrentPath: t.torrentPath, savePath: t.dataDir, seed: true, settings, connectTo });
    peers.push(p);
    await p.waitFor('finished');
    return p;
  }

  async function dial(port: number): Promise<Socket> {
    const s = connect({ host: '127.0.0.1', port });
    await once(s, 'connect');
    return s;
  }

  /** After the BitTorrent handshakes: the seeder's full bitfield, then one block, checked against the file. */
  async function bitfieldAndBlock(conn: PeerConn): Promise<void> {
    const bf = await conn.next(is('bitfield'));
    expect(Bitfield.fromWire(bf.bytes, t.pieceCount).isComplete).toBe(true);
    conn.send(encodeMessage({ type: 'interested' }));
    await conn.next(is('unchoke'));
    conn.send(encodeMessage({ type: 'request', index: 4, begin: 0, length: 999 }));
    const piece = await conn.next(is('piece'));
    expect(Buffer.from(piece.block).equals(t.data.subarray(4 * PIECE_LENGTH))).toBe(true);
  }

  const ourHandshake = (): Buffer => encodeHandshake({ infoHash: t.infoHash, peerId: generatePeerId(), features: NO_FEATURES });

  describe('our initiator', () => {
    let rc4Seeder: LibtorrentPeer;
    let plainSeeder: LibtorrentPeer;
    beforeAll(async () => {
      [rc4Seeder, plainSeeder] = await Promise.all([seeder(forced(2)), seeder(forced(1))]);
    });

    const cases: { name: string; seeder: () => LibtorrentPeer; provide: MseMethod[]; ia: boolean; method: MseMethod }[] = [
      { name: 'forced RC4 seeder, our BitTorrent handshake in the IA', seeder: () => rc4Seeder, provide: ['rc4', 'plaintext'], ia: true, method: 'rc4' },
      { name: 'forced RC4 seeder, our BitTorrent handshake after MSE', seeder: () => rc4Seeder, provide: ['rc4'], ia: false, method: 'rc4' },
      { name: 'forced plaintext-method seeder', seeder: () => plainSeeder, provide: ['rc4', 'plaintext'], ia: true, method: 'plaintext' },
    ];
    for (const c of cases) {
      it(`${c.name}: MSE selects ${c.method}, then handshake, bitfield and a block byte-exact`, async () => {
        const socket = await dial(c.seeder().port);
        const hs = ourHandshake();
        const r = await mseConnect(socket, { infoHash: t.infoHash, provide: c.provide, ...(c.ia ? { ia: hs } : {}) });
        expect(r.method).toBe(c.method);
        const conn = PeerConn.over(r.stream, { pieceCount: t.pieceCount, features: NO_FEATURES });
        conns.push(conn);
        if (!c.ia) conn.send(hs);
        const theirs = await conn.next(is('handshake'));
        expect(theirs.infoHash).toEqual(t.infoHash);
        expect(describePeerId(theirs.peerId)).toMatch(/^libtorrent 2\.0\.\d+$/);
        await bitfieldAndBlock(conn);
        expect((await c.seeder().peers()).map((p) => p.client)).toContain('TC 0.1.0');
      });
    }

    it('the forced seeder closes a plaintext BitTorrent handshake (what "require" looks like from outside)', async () => {
      const conn = await PeerConn.open(rc4Seeder.port, { pieceCount: t.pieceCount, features: NO_FEATURES });
      conns.push(conn);
      conn.send(ourHandshake());
      await expect(conn.next(is('handshake'), 10_000)).rejects.toThrow('peer closed the connection');
    });

    it('offering only plaintext to an RC4-only seeder: it hangs up, and we say so with WIRE_MSE_CLOSED', async () => {
      const socket = await dial(rc4Seeder.port);
      await expect(mseConnect(socket, { infoHash: t.infoHash, provide: ['plaintext'] })).rejects.toMatchObject({ code: 'WIRE_MSE_CLOSED' });
      expect(socket.destroyed).toBe(true);
    });

    it('an info-hash the seeder does not have: it hangs up after message 3', async () => {
      const socket = await dial(rc4Seeder.port);
      await expect(mseConnect(socket, { infoHash: Buffer.alloc(20, 9) })).rejects.toMatchObject({ code: 'WIRE_MSE_CLOSED' });
    });
  });

  describe('our responder: libtorrent with forced encryption dials in', () => {
    let server: Server;
    const accepted: { socket: Socket; result: Promise<MseAccepted> }[] = [];
    beforeAll(async () => {
      server = createServer((socket) => {
        const result = mseAccept(socket, { lookup: mseInfoHashLookup([Buffer.alloc(20, 7), t.infoHash]) });
        result.catch(() => {});
        accepted.push({ socket, result });
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
    });
    afterAll(async () => {
      for (const a of accepted) a.socket.destroy();
      server.close();
    });

    for (const [level, method] of [
      [2, 'rc4'],
      [1, 'plaintext'],
      [3, 'rc4'],
    ] as const) {
      it(`allowed_enc_level=${level}: we select ${method}, read its handshake from the IA, answer, get its bitfield and a block`, async () => {
        const before = accepted.length;
        const port = (server.address() as AddressInfo).port;
        const lt = await seeder(forced(level), [{ ip: '127.0.0.1', port }]);
        await until('libtorrent to dial in', () => accepted.length > before, { timeoutMs: 20_000 });
        const r = await accepted[before]!.result;
        if (r.handshake !== 'mse') throw new Error('libtorrent with forced encryption sent a plaintext handshake');
        expect(r.method).toBe(method);
        expect(r.infoHash).toEqual(t.infoHash);
        const conn = PeerConn.over(r.stream, { pieceCount: t.pieceCount, features: NO_FEATURES });
        conns.push(conn);
        const theirs = await conn.next(is('handshake'));
        expect(theirs.infoHash).toEqual(t.infoHash);
        conn.send(ourHandshake());
        await bitfieldAndBlock(conn);
        expect((await lt.peers()).map((p) => p.client)).toContain('TC 0.1.0');
      });
    }
  });
});
