import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BDict, decode } from '@tc/codec';
import { createTorrentWithLibtorrent } from '@tc/testkit/libtorrent';

export interface PayloadTorrent {
  /** The random file's bytes. */
  readonly data: Buffer;
  /** Folder holding `payload.bin` (the save path for seeders). */
  readonly dataDir: string;
  readonly torrentPath: string;
  /** Raw `info` bytes, exactly as in the .torrent. */
  readonly info: Buffer;
  /** SHA-1 of `info`, checked equal to libtorrent's info-hash. */
  readonly infoHash: Buffer;
  readonly pieceCount: number;
}

/** A one-file v1 torrent of random bytes, made by libtorrent, with our own hash of its info bytes. */
export async function makePayloadTorrent(dir: string, fileBytes: number, pieceLength: number): Promise<PayloadTorrent> {
  const dataDir = join(dir, 'data');
  await mkdir(dataDir, { recursive: true });
  const data = randomBytes(fileBytes);
  await writeFile(join(dataDir, 'payload.bin'), data);
  const torrentPath = join(dir, 'payload.torrent');
  const created = await createTorrentWithLibtorrent({ dataPath: join(dataDir, 'payload.bin'), torrentPath, pieceLength });
  const torrent = await readFile(torrentPath);
  const span = (decode(torrent, { mode: 'lenient' }) as BDict).span('info');
  if (!span) throw new Error('libtorrent wrote a torrent without info');
  const info = torrent.subarray(span.start, span.end);
  const infoHash = createHash('sha1').update(info).digest();
  if (infoHash.toString('hex') !== created.infoHash) {
    throw new Error(`info-hash ${infoHash.toString('hex')} differs from libtorrent's ${created.infoHash}`);
  }
  return { data, dataDir, torrentPath, info, infoHash, pieceCount: created.pieces };
}
