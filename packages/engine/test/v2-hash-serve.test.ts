// tc answers BEP 52 hash requests from a torrent's piece layers and from the blocks of pieces it holds.
import { connect, type Socket } from 'node:net';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseMetainfo, type Metainfo } from '@tc/codec';
import { decodeHashMessage, encodeHandshake, encodeHashMessage, MessageDecoder, type HashMessage, type HashRequestFields } from '@tc/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTorrentWithLibtorrent, hasLibtorrent } from '@tc/testkit/libtorrent';
import { seededRandomBytes } from '@tc/testkit/random';
import { tempDir } from '@tc/testkit/tmp';
import type { Session } from '../src/session.js';
import { treeLayers, verifyHashes } from '../src/v2/proof.js';
import { loopbackSession } from './helpers.js';

const PIECE = 64 * 1024;
const BIG = 2 * 1024 * 1024 + 17;

/** A bare BEP 52 peer: handshakes with the v2 bit, sends hash requests, collects the answers. */
async function rawPeer(port: number, infoHash: Buffer): Promise<{ ask(r: HashRequestFields): Promise<HashMessage>; sock: Socket; handshake: Promise<Buffer> }> {
  const sock = connect(port, '127.0.0.1');
  const decoder = new MessageDecoder();
  const answers: HashMessage[] = [];
  const waiters: ((m: HashMessage) => void)[] = [];
  let gotHandshake: (h: Buffer) => void = () => {};
  const handshake = new Promise<Buffer>((res) => (gotHandshake = res));
  sock.on('data', (c: Buffer) => {
    for (const m of decoder.push(c)) {
      if (m.type === 'handshake') gotHandshake(m.infoHash);
      if (m.type === 'unknown' && (m.id === 22 || m.id === 23)) {
        const h = decodeHashMessage(m.id, m.payload);
        const w = waiters.shift();
        if (w) w(h);
        else answers.push(h);
      }
    }
  });
  await new Promise<void>((res, rej) => sock.once('connect', res).once('error', rej));
  sock.write(encodeHandshake({ infoHash, peerId: Buffer.alloc(20, 9), features: { fast: true, extended: true, v2: true } }));
  return {
    sock,
    handshake,
    ask(r) {
      sock.write(encodeHashMessage({ type: 'hash-request', ...r }));
      const ready = answers.shift();
      return ready ? Promise.resolve(ready) : new Promise((res) => waiters.push(res));
    },
  };
}

describe('tc serves BEP 52 hash requests', () => {
  let session: Session;
  let meta: Metainfo;
  const dirs: { cleanup: () => Promise<void> }[] = [];

  beforeAll(async () => {
    expect(hasLibtorrent(), 'python3-libtorrent is needed').toBe(true);
    const d = await tempDir();
    dirs.push(d);
    await mkdir(join(d.path, 'v2data'), { recursive: true });
    await writeFile(join(d.path, 'v2data', 'big.bin'), seededRandomBytes(5)(BIG));
    await writeFile(join(d.path, 'v2data', 'small.bin'), seededRandomBytes(6)(40_000));
    const torrentPath = join(d.path, 'x.torrent');
    await createTorrentWithLibtorrent({ dataPath: join(d.path, 'v2data'), torrentPath, pieceLength: PIECE, v2Only: true });
    meta = parseMetainfo(await readFile(torrentPath), { allowV2Only: true }).metainfo;
    session = await loopbackSession();
    await session.add(meta, { dir: d.path, noTrackers: true, have: Array.from({ length: meta.pieceCount }, (_, i) => i) });
  });

  afterAll(async () => {
    await session?.close();
    for (const d of dirs) await d.cleanup();
  });

  it('answers the piece layer and a block-layer proof that verify against the root; rejects the rest', async () => {
    const big = meta.v2!.files.find((f) => f.length === BIG)!;
    const shape = { length: BIG, pieceLength: PIECE };
    const { top, pieceLevel } = treeLayers(shape);
    const peer = await rawPeer(session.port, meta.infoHash);
    try {
      const layerReq = { root: big.piecesRoot!, base: pieceLevel, index: 0, length: 64, proofLayers: top - pieceLevel - 1 };
      const a = await peer.ask(layerReq);
      expect(a.type).toBe('hashes');
      const hashes = (a as Extract<HashMessage, { type: 'hashes' }>).hashes;
      expect(verifyHashes(layerReq, hashes, big.piecesRoot!, shape)).toBe(true);
      expect(Buffer.concat(hashes.slice(0, big.pieceCount)).equals(big.layer!)).toBe(true);

      const blockReq = { root: big.piecesRoot!, base: 0, index: 4, length: 4, proofLayers: top - 1 };
      const b = await peer.ask(blockReq);
      expect(b.type).toBe('hashes');
      expect(verifyHashes(blockReq, (b as Extract<HashMessage, { type: 'hashes' }>).hashes, big.piecesRoot!, shape)).toBe(true);

      expect((await peer.ask({ ...layerReq, root: Buffer.alloc(32, 1) })).type).toBe('hash-reject');
      expect((await peer.ask({ ...layerReq, proofLayers: top })).type).toBe('hash-reject');
      expect((await peer.ask({ ...blockReq, index: 1024, length: 1024 })).type).toBe('hash-reject');
    } finally {
      peer.sock.destroy();
    }
  }, 30_000);
});

describe('a hybrid torrent reached by its v2 info-hash', () => {
  let session: Session;
  let meta: Metainfo;
  const dirs: { cleanup: () => Promise<void> }[] = [];

  beforeAll(async () => {
    const d = await tempDir();
    dirs.push(d);
    await mkdir(join(d.path, 'v2data'), { recursive: true });
    await writeFile(join(d.path, 'v2data', 'big.bin'), seededRandomBytes(5)(BIG));
    await writeFile(join(d.path, 'v2data', 'small.bin'), seededRandomBytes(6)(40_000));
    const torrentPath = join(d.path, 'x.torrent');
    await createTorrentWithLibtorrent({ dataPath: join(d.path, 'v2data'), torrentPath, pieceLength: PIECE, hybrid: true });
    meta = parseMetainfo(await readFile(torrentPath)).metainfo;
    expect(meta.version).toBe('hybrid');
    session = await loopbackSession();
    await session.add(meta, { dir: d.path, noTrackers: true, have: Array.from({ length: meta.pieceCount }, (_, i) => i) });
  });

  afterAll(async () => {
    await session?.close();
    for (const d of dirs) await d.cleanup();
  });

  it('answers the handshake with the v2 hash and serves hash requests', async () => {
    const v2hash = meta.v2!.truncatedInfoHash;
    const peer = await rawPeer(session.port, v2hash);
    try {
      expect((await peer.handshake).equals(v2hash)).toBe(true);
      const small = meta.v2!.files.find((f) => f.length === 40_000)!;
      const shape = { length: 40_000, pieceLength: PIECE };
      const { top } = treeLayers(shape);
      const r = { root: small.piecesRoot!, base: 0, index: 0, length: 4, proofLayers: top - 1 };
      const a = await peer.ask(r);
      expect(a.type).toBe('hashes');
      expect(verifyHashes(r, (a as Extract<HashMessage, { type: 'hashes' }>).hashes, small.piecesRoot!, shape)).toBe(true);
    } finally {
      peer.sock.destroy();
    }
  }, 30_000);
});
