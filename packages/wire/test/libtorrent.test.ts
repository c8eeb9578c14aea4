import { createHash } from 'node:crypto';
import { hasLibtorrent, startLibtorrent, type LibtorrentPeer } from '@tc/testkit/libtorrent';
import { tempDir } from '@tc/testkit/tmp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Bitfield,
  describePeerId,
  encodeExtendedHandshake,
  encodeHandshake,
  encodeMessage,
  encodeMetadataMessage,
  EXTENDED_CLIENT_NAME,
  ExtensionRouter,
  generatePeerId,
  UT_METADATA,
  type Extended,
} from '../src/index.js';
import { makePayloadTorrent } from './payload-torrent.js';
import { is, PeerConn } from './peer-conn.js';

const PIECE_LENGTH = 32 * 1024;
const FILE_BYTES = 5 * PIECE_LENGTH + 1234; // a short last piece

describe('live: a python3-libtorrent seeder on loopback', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let seeder: LibtorrentPeer;
  let data: Buffer;
  let info: Buffer;
  let infoHash: Buffer;
  let pieceCount: number;
  const conns: PeerConn[] = [];

  beforeAll(async () => {
    expect(hasLibtorrent()).toBe(true);
    dir = await tempDir('tc-wire-lt-');
    const t = await makePayloadTorrent(dir.path, FILE_BYTES, PIECE_LENGTH);
    ({ data, info, infoHash, pieceCount } = t);
    expect(pieceCount).toBe(6);
    seeder = await startLibtorrent({ torrentPath: t.torrentPath, savePath: t.dataDir, seed: true });
    await seeder.waitFor('finished'); // checked and seeding
  });

  afterAll(async () => {
    await Promise.all(conns.map((c) => c.close()));
    await seeder?.stop();
    await dir?.cleanup();
  });

  async function handshake(features: { extended: boolean; fast: boolean }): Promise<{ conn: PeerConn; router: ExtensionRouter }> {
    const conn = await PeerConn.open(seeder.port, { pieceCount, features });
    conns.push(conn);
    const router = new ExtensionRouter();
    conn.send(encodeHandshake({ infoHash, peerId: generatePeerId(), features }));
    const hs = await conn.next(is('handshake'));
    expect(hs.infoHash).toEqual(infoHash);
    expect(describePeerId(hs.peerId)).toMatch(/^libtorrent 2\.0\.\d+$/);
    if (features.extended) {
      conn.send(encodeMessage({ type: 'extended', id: 0, payload: encodeExtendedHandshake({ m: router.localMap, reqq: 250 }) }));
    }
    return { conn, router };
  }

  async function requestBlock(conn: PeerConn, index: number, begin: number, length: number): Promise<Buffer> {
    conn.send(encodeMessage({ type: 'interested' }));
    await conn.next(is('unchoke'));
    conn.send(encodeMessage({ type: 'request', index, begin, length }));
    const piece = await conn.next((m): m is Extract<typeof m, { type: 'piece' }> => m.type === 'piece' && m.index === index && m.begin === begin);
    return Buffer.from(piece.block);
  }

  it('completes both handshakes, gets have-all, and one block matches the file (BEP 3, 6, 10)', async () => {
    const { conn, router } = await handshake({ extended: true, fast: true });
    const ext = await conn.next((m): m is Extended => m.type === 'extended' && m.id === 0);
    const routed = router.route(ext);
    if (routed.name !== 'handshake') throw new Error('expected the extended handshake');
    expect(routed.handshake.m.has(UT_METADATA)).toBe(true);
    expect(routed.handshake.metadataSize).toBe(info.length);
    expect(routed.handshake.v).toMatch(/^libtorrent/);
    expect(routed.handshake.yourip).toBe('127.0.0.1');
    // A seed on a fast-extension connection says have-all (BEP 6) instead of a bitfield.
    await conn.next(is('have-all'));
    const block = await requestBlock(conn, 5, 0, 1234);
    expect(block).toEqual(data.subarray(5 * PIECE_LENGTH, 5 * PIECE_LENGTH + 1234));
    const block2 = await requestBlock(conn, 2, 16384, 16384);
    expect(block2).toEqual(data.subarray(2 * PIECE_LENGTH + 16384, 3 * PIECE_LENGTH));

    // With BEP 10, libtorrent names us by the handshake's `v`.
    const peers = await seeder.peers();
    expect(peers.map((p) => p.client)).toContain(EXTENDED_CLIENT_NAME);
  });

  it('fetches the info dictionary over ut_metadata and it hashes to the info-hash (BEP 9)', async () => {
    const { conn, router } = await handshake({ extended: true, fast: true });
    router.route(await conn.next((m): m is Extended => m.type === 'extended' && m.id === 0));
    const req = router.encode(UT_METADATA, encodeMetadataMessage({ type: 'request', piece: 0 }));
    expect(req).toBeDefined();
    conn.send(req!);
    const ours = router.localMap.get(UT_METADATA);
    const reply = router.route(await conn.next((m): m is Extended => m.type === 'extended' && m.id === ours));
    if (reply.name !== UT_METADATA || reply.message.type !== 'data') throw new Error('expected metadata data');
    expect(reply.message.totalSize).toBe(info.length);
    expect(createHash('sha1').update(reply.message.data).digest()).toEqual(infoHash);
  });

  it('gets a full bitfield without the fast extension, valid under the spare-bits rule', async () => {
    const { conn } = await handshake({ extended: false, fast: false });
    const bf = await conn.next(is('bitfield'));
    const have = Bitfield.fromWire(bf.bytes, pieceCount);
    expect(have.isComplete).toBe(true);
    const block = await requestBlock(conn, 0, 0, 16384);
    expect(block).toEqual(data.subarray(0, 16384));
    // Without BEP 10 libtorrent falls back to the peer id: `-TC0100-` is no client it knows.
    const peers = await seeder.peers();
    expect(peers.map((p) => p.client)).toContain('TC 0.1.0');
  });
});
