/**
 * Making a .torrent from a file or folder: v1 (BEP 3), v2 (BEP 52) or hybrid (both, with BEP 47
 * padding so every file starts a piece), with trackers (BEP 12), web seeds (BEP 19) and the private
 * flag (BEP 27). The data is read once, hashed on every core (hash.ts), never held whole in memory.
 * For the same files and options the info dictionary is byte-identical to libtorrent 2's.
 */
import { basename, resolve } from 'node:path';
import {
  checkPathComponent,
  checkUrl,
  CodecError,
  encode,
  MAX_PIECE_LENGTH_BYTES,
  MAX_PIECES,
  rootFromPieceLayer,
  TRACKER_PROTOCOLS,
  V2_BLOCK_SIZE,
  WEB_SEED_PROTOCOLS,
  type BEncodable,
} from '@tc/codec';
import { collectFiles, type CollectOptions, type SourceFile } from './collect.js';
import { runHashJobs, type HashJob, type Segment } from './hash.js';

/** Automatic piece lengths stay within 16 KiB (BEP 52's minimum) … */
const AUTO_MIN_PIECE_BYTES = 16 * 1024;
/** … and 16 MiB (larger pieces hurt swarms; libtorrent and transmission stop about here). */
const AUTO_MAX_PIECE_BYTES = 16 * 1024 * 1024;
/** Automatic piece length aims at no more than this many pieces (small .torrent, fine-grained verify). */
const AUTO_TARGET_PIECES = 1500;
/** A hashing job covers about this much data (whole pieces), so both cores stay busy to the end. */
const JOB_BYTES = 32 * 1024 * 1024;

export type TorrentVersion = 'v1' | 'v2' | 'hybrid';

export interface CreateTorrentOptions extends CollectOptions {
  /** A file (single-file torrent) or a folder (multi-file torrent named after it). */
  readonly path: string;
  /** 'v1' (default here; tc-create defaults to hybrid), 'v2' or 'hybrid'. */
  readonly version?: TorrentVersion;
  /** Torrent name; default the base name of `path`. */
  readonly name?: string;
  /** Bytes per piece; default chosen by `choosePieceLength`. v2 and hybrid need a power of two ≥ 16 KiB. */
  readonly pieceLength?: number;
  /** Trackers: a string is a tier of its own, an array is one tier (BEP 12). The first is `announce`. */
  readonly trackers?: readonly (string | readonly string[])[];
  /** BEP 19 web seeds (`url-list`). */
  readonly webSeeds?: readonly string[];
  /** BEP 27 private flag, written inside `info`. */
  readonly private?: boolean;
  readonly comment?: string;
  /** `created by`; default 'tc'; null leaves it out. */
  readonly createdBy?: string | null;
  /** `creation date`; default now; `null` leaves it out (reproducible output). */
  readonly creationDate?: Date | null;
  /** `info.source`, which private trackers use to give a torrent its own info-hash. */
  readonly source?: string;
  /** Hashing threads; default one per core. */
  readonly threads?: number;
  /** Called as data is hashed. */
  readonly onProgress?: (hashedBytes: number, totalBytes: number) => void;
  readonly signal?: AbortSignal;
}

/**
 * The automatic piece length: the smallest power of two from 16 KiB to 16 MiB giving at most about
 * 1500 pieces.
 */
export function choosePieceLength(totalBytes: number): number {
  let len = AUTO_MIN_PIECE_BYTES;
  while (len < AUTO_MAX_PIECE_BYTES && Math.ceil(totalBytes / len) > AUTO_TARGET_PIECES) len *= 2;
  return len;
}

/** Refuses a URL that our own parser would drop, so a torrent we make reads back as written. */
function checked(url: string, protocols: ReadonlySet<string>, field: string): string {
  const r = checkUrl(url, protocols);
  if ('why' in r) throw new CodecError('CODEC_BAD_METAINFO', `${field} ${JSON.stringify(url)} ${r.why}`, { field });
  return r.url;
}

function trackerTiers(trackers: CreateTorrentOptions['trackers']): string[][] {
  return (trackers ?? []).map((t) => (typeof t === 'string' ? [t] : [...t]).map((u) => checked(u, TRACKER_PROTOCOLS, 'tracker'))).filter((t) => t.length > 0);
}

/** The v1 view: files in order, with a padding entry after each file that does not end on a piece boundary (libtorrent 2's layout). */
interface Entry {
  readonly file: number;
  readonly length: number;
}

function layout(files: readonly SourceFile[], pieceLength: number, padded: boolean): Entry[] {
  const out: Entry[] = [];
  let off = 0;
  files.forEach((f, i) => {
    out.push({ file: i, length: f.length });
    off += f.length;
    if (padded && off % pieceLength !== 0) {
      const pad = pieceLength - (off % pieceLength);
      out.push({ file: -1, length: pad });
      off += pad;
    }
  });
  return out;
}

/** Cuts the layout into piece-aligned jobs of about JOB_BYTES (files are split at piece multiples, so 16 KiB blocks stay whole). */
function plan(entries: readonly Entry[], files: readonly SourceFile[], pieceLength: number): { jobs: HashJob[]; sizes: number[] } {
  const jobBytes = Math.max(pieceLength, Math.floor(JOB_BYTES / pieceLength) * pieceLength);
  const jobs: HashJob[] = [];
  const sizes: number[] = [];
  let cur: Segment[] = [];
  let curBytes = 0;
  for (const e of entries) {
    let done = 0;
    while (done < e.length) {
      const n = Math.min(e.length - done, jobBytes - curBytes);
      cur.push({ file: e.file, path: e.file >= 0 ? files[e.file]!.abs : '', offset: done, length: n, fileLength: e.length });
      done += n;
      curBytes += n;
      if (curBytes === jobBytes) {
        jobs.push({ segments: cur });
        sizes.push(curBytes);
        cur = [];
        curBytes = 0;
      }
    }
  }
  if (cur.length > 0) {
    jobs.push({ segments: cur });
    sizes.push(curBytes);
  }
  return { jobs, sizes };
}

function fileTree(files: readonly SourceFile[], roots: readonly (Buffer | undefined)[], singleName: string | undefined): Map<string, BEncodable> {
  const tree = new Map<string, BEncodable>();
  files.forEach((f, i) => {
    const comps = singleName !== undefined ? [singleName] : f.rel;
    let node = tree;
    comps.forEach((c, j) => {
      if (j === comps.length - 1) {
        const leaf = new Map<string, BEncodable>([['length', f.length]]);
        if (roots[i]) leaf.set('pieces root', roots[i]);
        node.set(c, new Map([['', leaf]]));
      } else {
        if (!node.has(c)) node.set(c, new Map<string, BEncodable>());
        node = node.get(c) as Map<string, BEncodable>;
      }
    });
  });
  return tree;
}

/** Makes a .torrent (bencoded bytes) from a file or folder, reading the data once. */
export async function createTorrent(opts: CreateTorrentOptions): Promise<Buffer> {
  const version = opts.version ?? 'v1';
  const wantV1 = version !== 'v2';
  const wantV2 = version !== 'v1';
  const root = resolve(opts.path);
  const { files, multiFile } = await collectFiles(root, opts);
  const name = opts.name ?? basename(root);
  if (checkPathComponent(Buffer.from(name, 'utf8')) !== undefined) {
    throw new CodecError('CODEC_UNSAFE_PATH', `unsafe torrent name ${JSON.stringify(name)}`, { field: 'name' });
  }
  let total = 0;
  for (const f of files) total += f.length;
  if (total === 0) throw new CodecError('CODEC_BAD_LENGTH', `nothing to share: ${root} holds 0 bytes`, { field: root });
  const pieceLength = opts.pieceLength ?? choosePieceLength(total);
  if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0 || pieceLength > MAX_PIECE_LENGTH_BYTES) {
    throw new CodecError('CODEC_BAD_PIECE_LENGTH', `piece length ${pieceLength} is outside 1..${MAX_PIECE_LENGTH_BYTES}`, { field: 'pieceLength' });
  }
  if (wantV2 && (pieceLength < V2_BLOCK_SIZE || (pieceLength & (pieceLength - 1)) !== 0)) {
    throw new CodecError('CODEC_BAD_PIECE_LENGTH', `piece length ${pieceLength}: a ${version} torrent needs a power of two of at least 16 KiB`, {
      field: 'pieceLength',
    });
  }
  const tiers = trackerTiers(opts.trackers);
  const webSeeds = (opts.webSeeds ?? []).map((u) => checked(u, WEB_SEED_PROTOCOLS, 'web seed'));

  const entries = layout(files, pieceLength, wantV2 && multiFile);
  const laidOut = entries.reduce((n, e) => n + e.length, 0);
  if (Math.ceil(laidOut / pieceLength) > MAX_PIECES) {
    throw new CodecError('CODEC_TOO_MANY_PIECES', `piece length ${pieceLength} gives more than ${MAX_PIECES} pieces`, { field: 'pieceLength' });
  }
  const { jobs, sizes } = plan(entries, files, pieceLength);
  let hashed = 0;
  const results = await runHashJobs(jobs, {
    pieceLength,
    v1: wantV1,
    v2: wantV2,
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    onJobDone: (j) => {
      hashed += sizes[j]!;
      opts.onProgress?.(Math.min(hashed, laidOut), laidOut);
    },
  });

  const info = new Map<string, BEncodable>([
    ['name', name],
    ['piece length', pieceLength],
  ]);
  const layers = new Map<Buffer, BEncodable>();
  if (wantV2) {
    // Each file's piece hashes, from the jobs in order; a file of one piece or less has its root as its one hash.
    const pieceHashes: Buffer[][] = files.map(() => []);
    const seenRoots = new Set<string>();
    jobs.forEach((job, j) => {
      let k = 0;
      for (const s of job.segments) if (s.file >= 0) pieceHashes[s.file]!.push(results[j]!.pieces[k++]!);
    });
    const roots = files.map((f, i) => {
      if (f.length === 0) return undefined;
      const hashes = Buffer.concat(pieceHashes[i]!);
      if (f.length <= pieceLength) return hashes;
      const root = rootFromPieceLayer(hashes, pieceLength);
      // Files with the same content share a root, and so one entry (a key may appear only once).
      if (!seenRoots.has(root.toString('hex'))) layers.set(root, hashes);
      seenRoots.add(root.toString('hex'));
      return root;
    });
    info.set('file tree', fileTree(files, roots, multiFile ? undefined : name));
    info.set('meta version', 2);
  }
  if (wantV1) {
    info.set('pieces', Buffer.concat(results.map((r) => r.sha1)));
    if (multiFile) {
      info.set(
        'files',
        entries.map((e) =>
          e.file < 0
            ? new Map<string, BEncodable>([
                ['attr', 'p'],
                ['length', e.length],
                ['path', ['.pad', String(e.length)]],
              ])
            : new Map<string, BEncodable>([
                ['length', e.length],
                ['path', files[e.file]!.rel],
              ]),
        ),
      );
    } else info.set('length', total);
  }
  if (opts.private === true) info.set('private', 1);
  if (opts.source !== undefined) info.set('source', opts.source);

  const created = opts.creationDate === undefined ? new Date() : opts.creationDate;
  const createdBy = opts.createdBy === undefined ? 'tc' : opts.createdBy;
  return encode({
    announce: tiers[0]?.[0],
    'announce-list': tiers.length > 1 || (tiers[0]?.length ?? 0) > 1 ? tiers : undefined,
    comment: opts.comment,
    'created by': createdBy ?? undefined,
    'creation date': created === null ? undefined : Math.floor(created.getTime() / 1000),
    info,
    'piece layers': layers.size > 0 ? layers : undefined,
    'url-list': webSeeds.length > 0 ? webSeeds : undefined,
  });
}
