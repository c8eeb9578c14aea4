/** Builds v2 and hybrid torrents in memory for tests (the real creator is @tc/create). */
import { createHash } from 'node:crypto';
import { encode, type BEncodable } from '../src/bencode/index.js';
import { fileMerkle, sha256, V2_BLOCK_SIZE } from '../src/metainfo/merkle.js';

export interface MemFile {
  readonly path: readonly string[];
  readonly data: Buffer;
}

export interface Built {
  readonly info: Map<string, BEncodable>;
  readonly layers: Map<Buffer, BEncodable>;
  readonly roots: (Buffer | undefined)[];
  torrent(top?: Record<string, BEncodable>): Buffer;
}

/** Files must be given in tree (sorted) order; `single` makes a single-file torrent of files[0]. */
export function buildV2(name: string, files: readonly MemFile[], pieceLength: number, kind: 'v2' | 'hybrid', single = false): Built {
  const tree = new Map<string, BEncodable>();
  const layers = new Map<Buffer, BEncodable>();
  const roots: (Buffer | undefined)[] = [];
  for (const f of files) {
    let root: Buffer | undefined;
    if (f.data.length > 0) {
      const blocks: Buffer[] = [];
      for (let o = 0; o < f.data.length; o += V2_BLOCK_SIZE) blocks.push(sha256(f.data.subarray(o, o + V2_BLOCK_SIZE)));
      const m = fileMerkle(blocks, pieceLength);
      root = m.root;
      if (m.layer) layers.set(m.root, m.layer);
    }
    roots.push(root);
    let node = tree;
    const comps = single ? [name] : f.path;
    comps.forEach((c, i) => {
      if (i === comps.length - 1) {
        node.set(c, new Map([['', new Map<string, BEncodable>([['length', f.data.length], ...(root ? ([['pieces root', root]] as const) : [])])]]));
      } else {
        if (!node.has(c)) node.set(c, new Map<string, BEncodable>());
        node = node.get(c) as Map<string, BEncodable>;
      }
    });
  }
  const info = new Map<string, BEncodable>([
    ['file tree', tree],
    ['meta version', 2],
    ['name', name],
    ['piece length', pieceLength],
  ]);
  if (kind === 'hybrid') {
    const parts: Buffer[] = [];
    const list: BEncodable[] = [];
    // libtorrent 2 pads after every file of a multi-file hybrid that does not end on a piece boundary, the last one too.
    let off = 0;
    for (const f of files) {
      parts.push(f.data);
      list.push(
        new Map<string, BEncodable>([
          ['length', f.data.length],
          ['path', [...f.path]],
        ]),
      );
      off += f.data.length;
      if (off % pieceLength !== 0 && !single) {
        const pad = pieceLength - (off % pieceLength);
        parts.push(Buffer.alloc(pad));
        list.push(
          new Map<string, BEncodable>([
            ['attr', 'p'],
            ['length', pad],
            ['path', ['.pad', String(pad)]],
          ]),
        );
        off += pad;
      }
    }
    const all = Buffer.concat(parts);
    const pieces: Buffer[] = [];
    for (let o = 0; o < all.length; o += pieceLength)
      pieces.push(
        createHash('sha1')
          .update(all.subarray(o, o + pieceLength))
          .digest(),
      );
    if (single) info.set('length', files[0]!.data.length);
    else info.set('files', list);
    info.set('pieces', Buffer.concat(pieces));
  }
  return {
    info,
    layers,
    roots,
    torrent: (top = {}) => encode({ announce: 'http://127.0.0.1:1/a', ...top, info, ...(layers.size > 0 ? { 'piece layers': layers } : {}) }),
  };
}
