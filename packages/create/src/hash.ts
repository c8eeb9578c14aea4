/**
 * Hashing the data of a torrent being made, on every core: the content (in the padded v1 layout) is
 * cut into piece-aligned jobs, each hashed by a worker thread that reads its range sequentially in
 * large chunks and returns SHA-1 piece hashes (v1) and, for v2, each piece's merkle hash over its
 * 16 KiB SHA-256 blocks (BEP 52: the piece layer; for a file of one piece or less, the file's root),
 * so the tree is built on every core and the main thread only joins the piece layers. Memory: one
 * read buffer per worker and the hashes.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CodecError } from '@tc/codec';

/** One stretch of a job: bytes of a file, or zeros (BEP 47 padding, hashed for v1 only). */
export interface Segment {
  /** Index into the file list, or -1 for padding. */
  readonly file: number;
  readonly path: string;
  /** Where the stretch starts in the file: a multiple of the piece length when v2 is wanted. */
  readonly offset: number;
  readonly length: number;
  /** The whole file's length (a file of at most one piece has its root as its only piece hash). */
  readonly fileLength: number;
}

export interface HashJob {
  readonly segments: readonly Segment[];
}

export interface JobResult {
  /** Concatenated SHA-1 hashes of the job's pieces (empty when v1 is not wanted). */
  readonly sha1: Buffer;
  /**
   * Per segment of a file: the concatenated v2 hashes of its pieces (empty when v2 is not wanted):
   * merkle roots of the piece's blocks padded with zero leaves to a full piece, or, for a file of
   * at most one piece, the file's `pieces root` (padded only to a power of two).
   */
  readonly pieces: Buffer[];
}

/** Bytes a worker reads per call. */
const READ_BYTES = 4 * 1024 * 1024;

// The worker's code, evaluated in the thread (plain JavaScript, so it runs from sources and builds alike).
// crypto.hash (Node 20.12+) is a one-shot digest without a Hash object: much cheaper per 16 KiB block.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const crypto = require('node:crypto');
const { openSync, readSync, closeSync } = require('node:fs');
const { pieceLength, v1, v2, readBytes } = workerData;
const BLOCK = 16384;
const perPiece = pieceLength / BLOCK;
const sha256 = typeof crypto.hash === 'function'
  ? (b) => crypto.hash('sha256', b, 'buffer')
  : (b) => crypto.createHash('sha256').update(b).digest();
const pads = [Buffer.alloc(32)];
const padAt = (level) => {
  while (pads.length <= level) { const p = pads[pads.length - 1]; pads.push(sha256(Buffer.concat([p, p]))); }
  return pads[level];
};
// BEP 52: the root over leaves padded with zero hashes to width (a power of two).
const merkle = (leaves, width) => {
  let layer = leaves.length > 0 ? leaves : [padAt(0)];
  let level = 0;
  for (let n = width; n > 1; n /= 2) {
    const next = [];
    for (let i = 0; i < layer.length; i += 2) next.push(sha256(Buffer.concat([layer[i], layer[i + 1] || padAt(level)])));
    layer = next;
    level++;
  }
  return layer[0];
};
const pow2 = (n) => { let p = 1; while (p < n) p *= 2; return p; };
const buf = Buffer.allocUnsafe(readBytes);
const zeros = Buffer.alloc(Math.min(readBytes, pieceLength));
parentPort.on('message', ({ id, segments }) => {
  try {
    const sha1 = [];
    const pieces = [];
    let piece = crypto.createHash('sha1');
    let inPiece = 0;
    const feedV1 = (b) => {
      let o = 0;
      while (o < b.length) {
        const n = Math.min(b.length - o, pieceLength - inPiece);
        piece.update(b.subarray(o, o + n));
        inPiece += n; o += n;
        if (inPiece === pieceLength) { sha1.push(piece.digest()); piece = crypto.createHash('sha1'); inPiece = 0; }
      }
    };
    for (const s of segments) {
      if (s.file < 0) {
        let left = s.length;
        while (left > 0) { const n = Math.min(left, zeros.length); if (v1) feedV1(zeros.subarray(0, n)); left -= n; }
        continue;
      }
      const out = [];
      let blocks = [];
      const small = s.fileLength <= pieceLength;
      const endPiece = () => { if (blocks.length > 0) out.push(merkle(blocks, small ? pow2(blocks.length) : perPiece)); blocks = []; };
      let fd;
      try { fd = openSync(s.path, 'r'); } catch (e) { throw Object.assign(new Error('cannot open: ' + s.path + ' (' + (e.code || e.message) + ')'), { io: true, path: s.path }); }
      try {
        let pos = s.offset;
        const end = s.offset + s.length;
        while (pos < end) {
          const n = Math.min(buf.length, end - pos);
          let got = 0;
          while (got < n) {
            let r;
            try { r = readSync(fd, buf, got, n - got, pos + got); } catch (e) { throw Object.assign(new Error('cannot read: ' + s.path + ' (' + (e.code || e.message) + ')'), { io: true, path: s.path }); }
            if (r === 0) throw Object.assign(new Error('file shrank while being hashed: ' + s.path), { io: true, path: s.path });
            got += r;
          }
          const b = buf.subarray(0, n);
          if (v1) feedV1(b);
          // Reads start on piece boundaries and are whole pieces (4 MiB or a piece), except at the file's end.
          if (v2) for (let o = 0; o < n; o += BLOCK) { blocks.push(sha256(b.subarray(o, Math.min(n, o + BLOCK)))); if (blocks.length === perPiece) endPiece(); }
          pos += n;
        }
      } finally { closeSync(fd); }
      endPiece();
      pieces.push(Buffer.concat(out));
    }
    if (inPiece > 0) sha1.push(piece.digest());
    parentPort.postMessage({ id, sha1: Buffer.concat(sha1), pieces });
  } catch (e) {
    parentPort.postMessage({ id, error: String(e && e.message || e), io: !!(e && e.io), path: e && e.path });
  }
});
`;

interface WorkerReply {
  id: number;
  sha1?: Uint8Array;
  pieces?: Uint8Array[];
  error?: string;
  io?: boolean;
  path?: string;
}

/** Worker threads used: one per core (two on the reference machine), at least one. */
export function defaultThreads(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

/**
 * Runs the jobs on `threads` workers; results come back in job order. Reads need 16 KiB-aligned
 * segment offsets for v2 (each file's blocks start at its first byte), which the planner ensures.
 */
export async function runHashJobs(
  jobs: readonly HashJob[],
  opts: { pieceLength: number; v1: boolean; v2: boolean; threads?: number; signal?: AbortSignal; onJobDone?: (job: number) => void },
): Promise<JobResult[]> {
  const results: JobResult[] = new Array<JobResult>(jobs.length);
  const n = Math.max(1, Math.min(opts.threads ?? defaultThreads(), jobs.length));
  // Reads bigger than a piece still end on piece boundaries in the worker's accounting; 4 MiB is enough for sequential speed.
  const workerData = { pieceLength: opts.pieceLength, v1: opts.v1, v2: opts.v2, readBytes: READ_BYTES };
  const workers = Array.from({ length: n }, () => new Worker(WORKER_SOURCE, { eval: true, workerData }));
  let next = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      let active = 0;
      let failed = false;
      const fail = (e: unknown) => {
        if (failed) return;
        failed = true;
        reject(e instanceof Error ? e : new Error(String(e)));
      };
      const abort = () => fail(opts.signal?.reason ?? new Error('aborted'));
      if (opts.signal?.aborted) return abort();
      opts.signal?.addEventListener('abort', abort, { once: true });
      const give = (w: Worker) => {
        if (failed) return;
        if (next >= jobs.length) {
          if (active === 0) {
            opts.signal?.removeEventListener('abort', abort);
            resolve();
          }
          return;
        }
        const id = next++;
        active++;
        w.postMessage({ id, segments: jobs[id]!.segments });
      };
      for (const w of workers) {
        w.on('error', fail);
        w.on('message', (m: WorkerReply) => {
          active--;
          if (m.error !== undefined) {
            fail(m.io ? new CodecError('CODEC_IO', m.error, { field: m.path ?? '' }) : new Error(m.error));
            return;
          }
          results[m.id] = { sha1: Buffer.from(m.sha1!), pieces: m.pieces!.map((b) => Buffer.from(b)) };
          opts.onJobDone?.(m.id);
          give(w);
        });
      }
      for (const w of workers) give(w);
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}
