/**
 * BEP 52 parts of a metainfo: the `file tree` (v2 files with their `pieces root`), the top-level
 * `piece layers`, and the checks that a hybrid's v1 and v2 views describe the same files.
 */
import { asBytes, typeName } from '../bencode/access.js';
import { BDict, type BValue } from '../bencode/types.js';
import { reqLength, text, warnUnknownKeys } from './fields.js';
import { checkComponents } from './files.js';
import { filePieceCount, rootFromPieceLayer, V2_BLOCK_SIZE, V2_HASH_BYTES } from './merkle.js';
import type { Problems } from './problems.js';
import { MAX_PATH_DEPTH, toSafePath } from './safe-path.js';
import type { MetainfoFile, MetainfoV2File, ParseMetainfoOptions, V2LayerState } from './types.js';

const LEAF_KEYS = new Set(['length', 'pieces root', 'attr', 'mtime', 'symlink path']);

/** One file of the `file tree`, in tree (byte-sorted key) order. */
export interface V2Leaf {
  /** Path components under the torrent's folder (the file's own name for a single-file torrent). */
  readonly rawPath: readonly Buffer[];
  readonly display: readonly string[];
  readonly length: number;
  readonly piecesRoot: Buffer | undefined;
  readonly attr: string;
}

export interface FileTree {
  readonly leaves: V2Leaf[];
  /** The tree is one file at its root: a single-file torrent. */
  readonly singleFile: boolean;
}

const treeField = (path: readonly Buffer[]): string => `info.file tree/${path.map((c) => c.toString('utf8')).join('/')}`;

function readLeaf(node: BDict, path: Buffer[], problems: Problems, out: V2Leaf[]): void {
  const field = treeField(path);
  if (node.size !== 1) problems.error('CODEC_BAD_FILE_TREE', `${field} is a file ('' key) with other keys beside it`, field);
  const leaf = node.get('');
  if (!(leaf instanceof BDict)) {
    problems.error('CODEC_BAD_FILE_TREE', `${field}[''] should be a dictionary but is ${typeName(leaf)}`, field);
    return;
  }
  warnUnknownKeys(leaf, LEAF_KEYS, `${field}.`, problems);
  const length = problems.attempt(() => reqLength(leaf.get('length'), `${field}.length`));
  if (length === undefined) return;
  let piecesRoot: Buffer | undefined;
  const root = leaf.get('pieces root');
  if (length > 0) {
    if (!Buffer.isBuffer(root) || root.length !== V2_HASH_BYTES) {
      const what = root === undefined ? 'is missing' : Buffer.isBuffer(root) ? `is ${root.length} bytes` : `is ${typeName(root)}`;
      problems.error('CODEC_BAD_PIECES_ROOT', `${field}.pieces root ${what}: a non-empty file needs a ${V2_HASH_BYTES}-byte root`, `${field}.pieces root`);
      return;
    }
    piecesRoot = root;
  } else if (root !== undefined) {
    problems.warn('WARN_BAD_OPTIONAL_FIELD', `${field}.pieces root is given for an empty file; ignored`, `${field}.pieces root`);
  }
  const attrRaw = leaf.get('attr');
  const attr = Buffer.isBuffer(attrRaw) ? attrRaw.toString('latin1') : '';
  const display = path.map((c, i) => text(c, () => `${field}[${i}]`, problems));
  out.push({ rawPath: path, display, length, piecesRoot, attr });
}

function walk(node: BDict, path: Buffer[], problems: Problems, opts: ParseMetainfoOptions, out: V2Leaf[]): void {
  if (path.length > 0 && node.has('')) {
    readLeaf(node, path, problems, out);
    return;
  }
  if (path.length >= MAX_PATH_DEPTH) {
    problems.error('CODEC_PATH_TOO_DEEP', `${treeField(path)} is deeper than ${MAX_PATH_DEPTH} folders`, treeField(path));
    return;
  }
  if (node.size === 0) {
    if (path.length === 0) problems.error('CODEC_EMPTY_FILE_LIST', 'info.file tree is empty', 'info.file tree');
    else problems.warn('WARN_BAD_OPTIONAL_FIELD', `${treeField(path)} is an empty folder; ignored`, treeField(path));
    return;
  }
  // Map keys iterate in input order; the file order of a v2 torrent is the sorted order of the keys.
  const keys = [...node.keys()].sort((a, b) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1')));
  for (const key of keys) {
    const raw = Buffer.from(key, 'latin1');
    const child = [...path, raw];
    if (!checkComponents([raw], treeField(path), problems, opts)) continue;
    const v: BValue | undefined = node.get(key);
    if (!(v instanceof BDict)) {
      problems.error('CODEC_BAD_FILE_TREE', `${treeField(child)} should be a dictionary but is ${typeName(v)}`, treeField(child));
      continue;
    }
    walk(v, child, problems, opts, out);
  }
}

/** Reads `info.file tree`; its problems are recorded, and undefined returned when it is unusable. */
export function parseFileTree(info: BDict, problems: Problems, opts: ParseMetainfoOptions): FileTree | undefined {
  const tree = info.get('file tree');
  if (!(tree instanceof BDict)) {
    problems.error(
      tree === undefined ? 'CODEC_MISSING_FIELD' : 'CODEC_BAD_FILE_TREE',
      `info.file tree should be a dictionary but is ${typeName(tree)}`,
      'info.file tree',
    );
    return undefined;
  }
  const leaves: V2Leaf[] = [];
  walk(tree, [], problems, opts, leaves);
  const first = tree.size === 1 ? tree.get([...tree.keys()][0]!) : undefined;
  const singleFile = first instanceof BDict && first.has('');
  return { leaves, singleFile };
}

/** BEP 52: piece length is a power of two of at least 16 KiB. */
export function checkV2PieceLength(pieceLength: number, problems: Problems): void {
  if (pieceLength < V2_BLOCK_SIZE || (pieceLength & (pieceLength - 1)) !== 0) {
    problems.error('CODEC_BAD_PIECE_LENGTH', `info.piece length ${pieceLength} must be a power of two of at least 16 KiB in a v2 torrent`, 'info.piece length');
  }
}

/**
 * The v1 view of a v2-only torrent: the tree's files in order, each starting a piece (an implicit
 * BEP 47 padding file after each file that does not end on a piece boundary, as libtorrent does).
 */
export function layoutV2Only(tree: FileTree, name: string, rawName: Buffer, pieceLength: number): { files: MetainfoFile[]; total: number; v2Index: number[] } {
  const files: MetainfoFile[] = [];
  const v2Index: number[] = [];
  let offset = 0;
  tree.leaves.forEach((leaf, i) => {
    if (offset % pieceLength !== 0 && leaf.length > 0) {
      const pad = pieceLength - (offset % pieceLength);
      const path = ['.pad', String(pad)];
      files.push({
        index: files.length,
        path: [name, ...path],
        safePath: [name, ...path],
        rawPath: path.map((c) => Buffer.from(c)),
        length: pad,
        offset,
        padding: true,
        attr: 'p',
      });
      offset += pad;
    }
    const path = tree.singleFile ? [name] : [name, ...leaf.display];
    v2Index[i] = files.length;
    files.push({
      index: files.length,
      path,
      safePath: toSafePath(path).path,
      rawPath: tree.singleFile ? [rawName] : [...leaf.rawPath],
      length: leaf.length,
      offset,
      padding: false,
      attr: leaf.attr,
    });
    offset += leaf.length;
  });
  return { files, total: offset, v2Index };
}

/**
 * A hybrid's v1 `files` (or `length`) and its `file tree` must list the same files in the same order
 * with the same sizes, each non-empty file starting on a piece boundary (BEP 47 padding between).
 * Returns, for each v2 file, the index of its v1 file.
 */
export function matchHybrid(v1: readonly MetainfoFile[], multiFile: boolean, tree: FileTree, pieceLength: number, problems: Problems): number[] | undefined {
  const real = v1.filter((f) => !f.padding);
  const mismatch = (message: string, field: string): undefined => {
    problems.error('CODEC_HYBRID_MISMATCH', `v1 and v2 views of this hybrid differ: ${message}`, field);
    return undefined;
  };
  // A folder holding one file has a tree of one file at its root, like a single-file torrent (libtorrent
  // makes such hybrids): the v1 file list says which it is, and the paths below must then agree.
  if (!multiFile && !tree.singleFile) return mismatch('v1 has a single file, v2 a folder', 'info.file tree');
  if (real.length !== tree.leaves.length) return mismatch(`${real.length} v1 files against ${tree.leaves.length} v2 files`, 'info.file tree');
  const out: number[] = [];
  for (let i = 0; i < real.length; i++) {
    const f = real[i]!;
    const leaf = tree.leaves[i]!;
    const field = multiFile ? `info.files[${f.index}]` : 'info';
    const v1Path = multiFile ? f.rawPath : [];
    const v2Path = multiFile ? leaf.rawPath : [];
    if (v1Path.length !== v2Path.length || v1Path.some((c, j) => !c.equals(v2Path[j]!))) {
      return mismatch(`file ${i} is ${f.path.join('/')} in v1 but ${leaf.display.join('/')} in v2`, field);
    }
    if (f.length !== leaf.length) return mismatch(`${f.path.join('/')} is ${f.length} bytes in v1 but ${leaf.length} in v2`, field);
    if (f.length > 0 && f.offset % pieceLength !== 0) {
      return mismatch(`${f.path.join('/')} starts at byte ${f.offset}, not on a piece boundary (BEP 47 padding missing)`, field);
    }
    out.push(f.index);
  }
  return out;
}

/**
 * Reads the top-level `piece layers` (absent for a bare info dictionary) and checks each layer a file
 * needs: the right number of 32-byte hashes, and a merkle root equal to the file's `pieces root`.
 */
export function attachLayers(
  layersValue: BValue | undefined,
  leaves: readonly V2Leaf[],
  fileIndex: readonly number[],
  offsets: readonly number[],
  pieceLength: number,
  fromTorrentFile: boolean,
  problems: Problems,
): MetainfoV2File[] {
  let layers: BDict | undefined;
  if (layersValue instanceof BDict) layers = layersValue;
  else if (layersValue !== undefined)
    problems.error('CODEC_BAD_PIECE_LAYERS', `piece layers should be a dictionary but is ${typeName(layersValue)}`, 'piece layers');
  const used = new Set<string>();
  const out: MetainfoV2File[] = [];
  leaves.forEach((leaf, i) => {
    const pieceCount = filePieceCount(leaf.length, pieceLength);
    let layerState: V2LayerState = leaf.length === 0 ? 'empty' : leaf.length <= pieceLength ? 'not-needed' : 'missing';
    let layer: Buffer | undefined;
    if (layerState === 'missing' && leaf.piecesRoot) {
      const key = leaf.piecesRoot.toString('latin1');
      const field = `piece layers[${leaf.piecesRoot.toString('hex')}]`;
      const v = layers?.get(key);
      if (v === undefined) {
        if (fromTorrentFile) problems.warn('WARN_MISSING_PIECE_LAYER', `no piece layer for ${leaf.display.join('/')}: it must come from peers`, field);
      } else {
        used.add(key);
        const b = problems.attempt(() => asBytes(v, field));
        if (b && b.length !== pieceCount * V2_HASH_BYTES) {
          problems.error(
            'CODEC_BAD_PIECE_LAYERS',
            `${field} is ${b.length} bytes, but ${leaf.length} bytes in pieces of ${pieceLength} need ${pieceCount * V2_HASH_BYTES}`,
            field,
          );
        } else if (b && !rootFromPieceLayer(b, pieceLength).equals(leaf.piecesRoot)) {
          problems.error('CODEC_BAD_PIECE_LAYERS', `${field} does not hash to the pieces root of ${leaf.display.join('/')}`, field);
        } else if (b) {
          layer = b;
          layerState = 'present';
        }
      }
    }
    out.push({
      index: fileIndex[i]!,
      path: leaf.display,
      rawPath: leaf.rawPath,
      length: leaf.length,
      offset: offsets[i]!,
      attr: leaf.attr,
      piecesRoot: leaf.piecesRoot,
      pieceCount,
      layer,
      layerState,
    });
  });
  if (layers) {
    for (const key of layers.keys()) {
      if (used.has(key)) continue;
      const raw = Buffer.from(key, 'latin1');
      if (raw.length !== V2_HASH_BYTES) {
        problems.error('CODEC_BAD_PIECE_LAYERS', `a piece layers key is ${raw.length} bytes, not a ${V2_HASH_BYTES}-byte root`, 'piece layers');
      } else {
        problems.warn(
          'WARN_UNKNOWN_KEY',
          `piece layer for ${raw.toString('hex')}, a root no file needs a layer for; ignored`,
          `piece layers[${raw.toString('hex')}]`,
        );
      }
    }
  }
  return out;
}
