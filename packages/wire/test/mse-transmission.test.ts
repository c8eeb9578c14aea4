import { once } from 'node:events';
import { connect } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '@tc/testkit/tmp';
import { startTransmissionSeeder, type TransmissionSeeder } from '@tc/testkit/transmission';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bitfield, describePeerId, encodeHandshake, encodeMessage, generatePeerId, mseConnect, type MseMethod } from '../src/index.js';
import { makePayloadTorrent, type PayloadTorrent } from './payload-torrent.js';
import { is, PeerConn } from './peer-conn.js';

// MSE against a second implementation: transmission-cli 3.00 (handshake.cc). The testkit seeder
// runs with encryption "tolerated", so it answers MSE as well as plaintext; it selects plaintext
// or RC4, whichever is the one we offer.
//
// A Transmission quirk (handshake.c, readIA → readPayloadStream): when it selects plaintext it
// reads the IA without decrypting it, though the spec (and libtorrent) encrypt the IA always. So
// with plaintext selected our encrypted IA reads as garbage and it hangs up; sending our BitTorrent
// handshake after the MSE handshake instead works with both clients.
const NO_FEATURES = { extended: false, fast: false };

describe('live: MSE with a transmission-cli 3.00 seeder', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let t: PayloadTorrent;
  let seeder: TransmissionSeeder;
  const conns: PeerConn[] = [];

  beforeAll(async () => {
    dir = await tempDir('tc-wire-mse-tr-');
    t = await makePayloadTorrent(dir.path, 3 * 32 * 1024 + 777, 32 * 1024);
    seeder = await startTransmissionSeeder({ torrentPath: t.torrentPath, dataDir: t.dataDir, configDir: join(dir.path, 'tr-config') });
  });

  afterAll(async () => {
    await Promise.all(conns.map((c) => c.close()));
    await seeder?.stop();
    await dir?.cleanup();
  });

  const cases: [MseMethod[], boolean, MseMethod][] = [
    [['plaintext'], false, 'plaintext'],
    [['rc4'], true, 'rc4'],
  ];
  for (const [provide, withIa, expected] of cases) {
    it(`we provide ${provide.join('+')}, handshake ${withIa ? 'in the IA' : 'after MSE'}: it selects ${expected}; handshake, have-set and a block byte-exact`, async () => {
      const socket = connect({ host: '127.0.0.1', port: seeder.port });
      await once(socket, 'connect');
      const hs = encodeHandshake({ infoHash: t.infoHash, peerId: generatePeerId(), features: NO_FEATURES });
      const r = await mseConnect(socket, { infoHash: t.infoHash, provide, ...(withIa ? { ia: hs } : {}) });
      expect(r.method).toBe(expected);
      const conn = PeerConn.over(r.stream, { pieceCount: t.pieceCount, features: NO_FEATURES });
      conns.push(conn);
      if (!withIa) conn.send(hs);
      const theirs = await conn.next(is('handshake'));
      expect(theirs.infoHash).toEqual(t.infoHash);
      expect(describePeerId(theirs.peerId)).toMatch(/^Transmission 3\.00$/);
      const bf = await conn.next(is('bitfield'));
      expect(Bitfield.fromWire(bf.bytes, t.pieceCount).isComplete).toBe(true);
      conn.send(encodeMessage({ type: 'interested' }));
      await conn.next(is('unchoke'));
      conn.send(encodeMessage({ type: 'request', index: 3, begin: 0, length: 777 }));
      const piece = await conn.next(is('piece'));
      expect(Buffer.from(piece.block).equals(t.data.subarray(3 * 32 * 1024))).toBe(true);
      await conn.close(); // Transmission takes one connection per IP: make room for the next test
    });
  }

  it('the quirk itself: plaintext selected with our handshake in the (encrypted) IA, and it hangs up', async () => {
    const socket = connect({ host: '127.0.0.1', port: seeder.port });
    await once(socket, 'connect');
    const ia = encodeHandshake({ infoHash: t.infoHash, peerId: generatePeerId(), features: NO_FEATURES });
    // It may hang up before or after its message 4 reaches us; either way no handshake ever comes.
    const outcome = await mseConnect(socket, { infoHash: t.infoHash, provide: ['plaintext'], ia }).then(
      (r) => {
        const conn = PeerConn.over(r.stream, { pieceCount: t.pieceCount, features: NO_FEATURES });
        conns.push(conn);
        return conn.next(is('handshake')).then(
          () => 'a handshake',
          (e: Error) => e.message,
        );
      },
      (e: { code?: string }) => e.code,
    );
    expect(['WIRE_MSE_CLOSED', 'peer closed the connection']).toContain(outcome);
  });
});
