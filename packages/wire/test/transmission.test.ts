import { join } from 'node:path';
import { tempDir } from '@tc/testkit/tmp';
import { startTransmissionSeeder, type TransmissionSeeder } from '@tc/testkit/transmission';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Bitfield,
  describePeerId,
  encodeExtendedHandshake,
  encodeHandshake,
  encodeMessage,
  ExtensionRouter,
  generatePeerId,
  type Extended,
  type Incoming,
} from '../src/index.js';
import { makePayloadTorrent } from './payload-torrent.js';
import { is, PeerConn } from './peer-conn.js';

const PIECE_LENGTH = 32 * 1024;
const FILE_BYTES = 3 * PIECE_LENGTH + 777;

describe('live: a transmission-cli 3.00 seeder on loopback', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let seeder: TransmissionSeeder;
  let data: Buffer;
  let infoHash: Buffer;
  let pieceCount: number;
  let conn: PeerConn | undefined;

  beforeAll(async () => {
    dir = await tempDir('tc-wire-tr-');
    const t = await makePayloadTorrent(dir.path, FILE_BYTES, PIECE_LENGTH);
    ({ data, infoHash, pieceCount } = t);
    seeder = await startTransmissionSeeder({ torrentPath: t.torrentPath, dataDir: t.dataDir, configDir: join(dir.path, 'tr-config') });
  });

  afterAll(async () => {
    await conn?.close();
    await seeder?.stop();
    await dir?.cleanup();
  });

  it('completes both handshakes, gets its have-set, and one block matches the file', async () => {
    const features = { extended: true, fast: true };
    conn = await PeerConn.open(seeder.port, { pieceCount, features });
    const router = new ExtensionRouter();
    conn.send(
      encodeHandshake({ infoHash, peerId: generatePeerId(), features }),
      encodeMessage({ type: 'extended', id: 0, payload: encodeExtendedHandshake({ m: router.localMap }) }),
    );
    const hs = await conn.next(is('handshake'));
    expect(hs.infoHash).toEqual(infoHash);
    expect(describePeerId(hs.peerId)).toMatch(/^Transmission 3\.00$/);
    const routed = router.route(await conn.next((m): m is Extended => m.type === 'extended' && m.id === 0));
    if (routed.name !== 'handshake') throw new Error('expected the extended handshake');
    expect(routed.handshake.v).toMatch(/^Transmission 3\.00/);
    // Transmission sends have-all on a fast connection, a bitfield otherwise: accept either.
    const have = await conn.next((m): m is Incoming => m.type === 'have-all' || m.type === 'bitfield');
    if (have.type === 'bitfield') expect(Bitfield.fromWire(have.bytes, pieceCount).isComplete).toBe(true);
    conn.send(encodeMessage({ type: 'interested' }));
    await conn.next(is('unchoke'), 20_000);
    conn.send(encodeMessage({ type: 'request', index: 3, begin: 0, length: 777 }));
    const piece = await conn.next(is('piece'), 20_000);
    expect(piece).toMatchObject({ index: 3, begin: 0 });
    expect(Buffer.from(piece.block)).toEqual(data.subarray(3 * PIECE_LENGTH));
  });
});
