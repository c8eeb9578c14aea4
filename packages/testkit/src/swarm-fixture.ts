import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BRaw, encode } from '@tc/codec';

export interface FixtureFile {
  /** Path components inside the torrent (without the torrent name). */
  readonly path: readonly string[];
  readonly length: number;
}

export interface TestTorrent {
  /** Bytes of the .torrent file. */
  readonly torrent: Buffer;
  readonly infoHash: Buffer;
  readonly infoHashHex: string;
  readonly name: string;
  readonly pieceLength: number;
  /** The whole torrent's data, files concatenated. */
  readonly data: Buffer;
  readonly files: readonly FixtureFile[];
  readonly multiFile: boolean;
  /** Writes the files under `dir` (as a client would have them: `dir/name/...` for multi-file). */
  writeTo(dir: string): Promise<void>;
  /** Where a file lands under `dir`. */
  pathOf(dir: string, file: FixtureFile): string;
}

/** Deterministic pseudo-random bytes (xorshift32), so failures reproduce. */
export function pseudoRandomBytes(length: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  let x = seed | 0 || 1;
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeInt32LE(x, i);
  }
  for (; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/**
 * A v1 torrent with generated content: single-file when `files` is omitted (`length` bytes),
 * multi-file otherwise. Announce URLs optional.
 */
export function createTestTorrent(opts: {
  name?: string;
  pieceLength?: number;
  length?: number;
  files?: readonly FixtureFile[];
  announce?: readonly string[];
  seed?: number;
}): TestTorrent {
  const name = opts.name ?? 'fixture';
  const pieceLength = opts.pieceLength ?? 32 * 1024;
  const multiFile = opts.files !== undefined;
  const files: FixtureFile[] = multiFile ? [...opts.files!] : [{ path: [], length: opts.length ?? 100_000 }];
  const total = files.reduce((n, f) => n + f.length, 0);
  const data = pseudoRandomBytes(total, opts.seed ?? 1);
  const hashes: Buffer[] = [];
  for (let off = 0; off < total; off += pieceLength) {
    hashes.push(
      createHash('sha1')
        .update(data.subarray(off, Math.min(total, off + pieceLength)))
        .digest(),
    );
  }
  const info = new Map<string, unknown>();
  if (multiFile)
    info.set(
      'files',
      files.map(
        (f) =>
          new Map<string, unknown>([
            ['length', f.length],
            ['path', f.path.map((c) => Buffer.from(c))],
          ]),
      ),
    );
  else info.set('length', total);
  info.set('name', Buffer.from(name));
  info.set('piece length', pieceLength);
  info.set('pieces', Buffer.concat(hashes));
  const infoBytes = encode(info as never);
  const top = new Map<string, unknown>();
  if (opts.announce !== undefined && opts.announce.length > 0) {
    top.set('announce', Buffer.from(opts.announce[0]!));
    if (opts.announce.length > 1)
      top.set(
        'announce-list',
        opts.announce.map((u) => [Buffer.from(u)]),
      );
  }
  top.set('created by', Buffer.from('tc testkit'));
  // The info dictionary is spliced in verbatim, so its bytes (and hash) are exactly infoBytes.
  top.set('info', new BRaw(infoBytes));
  const torrent = encode(top as never);
  const infoHash = createHash('sha1').update(infoBytes).digest();
  const pathOf = (dir: string, f: FixtureFile): string => (multiFile ? join(dir, name, ...f.path) : join(dir, name));
  return {
    torrent,
    infoHash,
    infoHashHex: infoHash.toString('hex'),
    name,
    pieceLength,
    data,
    files,
    multiFile,
    pathOf,
    async writeTo(dir: string) {
      let off = 0;
      for (const f of files) {
        const p = pathOf(dir, f);
        await mkdir(dirname(p), { recursive: true });
        await writeFile(p, data.subarray(off, off + f.length));
        off += f.length;
      }
    },
  };
}
