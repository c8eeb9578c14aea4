import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, stat, symlink, truncate, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encode } from '@tc/codec';
import { tempDir } from '@tc/testkit/tmp';
import { Bitfield } from '@tc/wire';
import { EngineError } from '../errors.js';
import { decodeResume, encodeResume, MAX_RESUME_BYTES, staleFiles, trustablePieces, type ResumeData, type ResumeExpect } from './format.js';
import { readResume, resumePath, ResumeStore, stampFiles, TEMP_SUFFIX, writeDurably } from './store.js';

// Piece length 16. Files: a [0,40) pad [40,48) b [48,100) c [100,100) (empty) → 7 pieces.
const infoHash = Buffer.alloc(20, 0xab);
const expectT: ResumeExpect = {
  infoHash,
  pieceLength: 16,
  pieceCount: 7,
  totalLength: 100,
  files: [
    { offset: 0, length: 40 },
    { offset: 40, length: 8, padding: true },
    { offset: 48, length: 52 },
    { offset: 100, length: 0 },
  ],
};
const names = ['a', undefined, 'b', 'c'];

function haveOf(pieces: number[], count = 7): Buffer {
  const bf = new Bitfield(count);
  for (const p of pieces) bf.set(p);
  return bf.toBuffer();
}

function sample(over: Partial<ResumeData> = {}): ResumeData {
  return {
    infoHash,
    pieceLength: 16,
    pieceCount: 7,
    have: haveOf([0, 1, 3, 6]),
    files: [{ size: 40, mtimeMs: 1_700_000_000_123 }, undefined, { size: 52, mtimeMs: 1_700_000_000_456 }, { size: 0, mtimeMs: 5 }],
    uploaded: 1234,
    downloaded: 99_999,
    selection: [0, 2],
    savedAt: 1_700_000_001_000,
    ...over,
  };
}

function reason(bytes: Uint8Array, expect = expectT): string {
  const r = decodeResume(bytes, expect);
  return r.ok ? 'ok' : r.reason;
}

describe('resume format', () => {
  it('round-trips', () => {
    const d = sample();
    const r = decodeResume(encodeResume(d), expectT);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.haveCount).toBe(4);
    expect(Buffer.from(r.resume.have)).toEqual(Buffer.from(d.have));
    expect(r.resume.files).toEqual(d.files);
    expect(r.resume.selection).toEqual([0, 2]);
    expect(r.resume.uploaded).toBe(1234);
    expect(r.resume.downloaded).toBe(99_999);
    expect(r.resume.savedAt).toBe(d.savedAt);
    const all = decodeResume(encodeResume(sample({ selection: undefined })), expectT);
    expect(all.ok && all.resume.selection).toBeUndefined();
  });

  it('is canonical bencode with a format tag and version', () => {
    const text = encodeResume(sample()).toString('latin1');
    expect(text.startsWith('d10:downloadedi99999e5:filesl')).toBe(true);
    expect(text).toContain('6:format9:tc-resume');
    expect(text).toContain('7:versioni1e');
  });

  it('zero bytes, garbage, truncation and wrong top-level type are rejected, never thrown', () => {
    const good = encodeResume(sample());
    expect(reason(Buffer.alloc(0))).toBe('empty');
    expect(reason(randomBytes(300))).toBe('corrupt');
    expect(reason(Buffer.from('not bencode at all'))).toBe('corrupt');
    for (let cut = 1; cut < good.length; cut += 7) expect(reason(good.subarray(0, cut)), `cut ${cut}`).toBe('corrupt');
    expect(reason(Buffer.concat([good, Buffer.from('x')]))).toBe('corrupt');
    expect(reason(encode([1, 2, 3]))).toBe('corrupt');
    expect(reason(Buffer.alloc(MAX_RESUME_BYTES + 1, 0x64))).toBe('too-large');
    // A single flipped byte anywhere never throws, and never yields an "ok" for other geometry: what
    // loads names this torrent, its piece length and count, its file count, and claims pieces only in
    // files it says were long enough. (Flips in free-form bytes, such as the bitfield, may still load.)
    // File b is short here, so a flip in the bitfield that claims one of its pieces must be refused.
    const partial = encodeResume(sample({ have: haveOf([0, 1]), files: [{ size: 40, mtimeMs: 7 }, undefined, { size: 10, mtimeMs: 8 }, undefined] }));
    let accepted = 0;
    for (let i = 0; i < partial.length; i++) {
      const bad = Buffer.from(partial);
      bad[i] = bad[i]! ^ 0x5a;
      const r = decodeResume(bad, expectT);
      if (!r.ok) continue;
      accepted++;
      expect(Buffer.from(r.resume.infoHash), `flip at ${i}`).toEqual(infoHash);
      expect([r.resume.pieceLength, r.resume.pieceCount, r.resume.files.length], `flip at ${i}`).toEqual([16, 7, 4]);
      const claimed = Bitfield.fromWire(r.resume.have, 7);
      expect(claimed.count).toBe(r.haveCount);
      for (const p of claimed.indices()) {
        expectT.files.forEach((f, k) => {
          if (f.padding === true || f.offset >= (p + 1) * 16 || f.offset + f.length <= p * 16) return;
          expect(r.resume.files[k]?.size ?? -1, `flip at ${i}: piece ${p} in file ${k}`).toBeGreaterThanOrEqual(f.length);
        });
      }
    }
    // Some flips did load (else the checks above never ran).
    expect(accepted).toBeGreaterThan(0);
  });

  it('fields of the wrong type or out of range are corrupt', () => {
    const base = (over: Record<string, unknown>): Buffer => {
      const d = encodeResume(sample());
      const obj = { ...decodeAsObject(d), ...over };
      return encode(obj as Parameters<typeof encode>[0]);
    };
    expect(reason(base({ format: 'other-client' }))).toBe('corrupt');
    expect(reason(base({ version: 'one' }))).toBe('corrupt');
    expect(reason(base({ 'info-hash': 12 }))).toBe('corrupt');
    expect(reason(base({ 'info-hash': Buffer.alloc(19) }))).toBe('corrupt');
    expect(reason(base({ have: [1] }))).toBe('corrupt');
    expect(reason(base({ files: 'x' }))).toBe('corrupt');
    expect(reason(base({ files: [{ size: 40, mtime: 1 }, {}, { size: -1, mtime: 1 }, {}] }))).toBe('corrupt');
    expect(reason(base({ files: [{ size: 40 }, {}, {}, {}] }))).toBe('corrupt');
    expect(reason(base({ files: [{ size: 40, mtime: 1 }, { size: 8, mtime: 1 }, { size: 52, mtime: 1 }, {}] }))).toBe('corrupt');
    expect(reason(base({ uploaded: -5 }))).toBe('corrupt');
    expect(reason(base({ downloaded: 2n ** 60n }))).toBe('corrupt');
    expect(reason(base({ selection: [2, 0] }))).toBe('corrupt');
    expect(reason(base({ selection: [0, 9] }))).toBe('corrupt');
    expect(reason(base({ selection: 'all' }))).toBe('corrupt');
  });

  it('a newer version is refused', () => {
    const obj = { ...decodeAsObject(encodeResume(sample())), version: 2 };
    expect(reason(encode(obj as Parameters<typeof encode>[0]))).toBe('unsupported-version');
  });

  it('wrong info-hash', () => {
    expect(reason(encodeResume(sample({ infoHash: Buffer.alloc(20, 1) })))).toBe('wrong-torrent');
  });

  it('wrong piece count, piece length, file count or bitfield size', () => {
    expect(reason(encodeResume(sample({ pieceCount: 8, have: haveOf([0], 8) })))).toBe('wrong-geometry');
    expect(reason(encodeResume(sample({ pieceLength: 32 })))).toBe('wrong-geometry');
    expect(reason(encodeResume(sample({ files: [{ size: 40, mtimeMs: 1 }] })))).toBe('wrong-geometry');
    expect(reason(encodeResume(sample({ have: Buffer.alloc(2) })))).toBe('wrong-geometry');
    // Spare bits past the last piece set.
    expect(reason(encodeResume(sample({ have: Buffer.from([0xff]) })))).toBe('wrong-geometry');
    expect(reason(encodeResume(sample()), { ...expectT, files: [...expectT.files, { offset: 100, length: 0 }] })).toBe('wrong-geometry');
    expect(reason(encodeResume(sample()), { ...expectT, pieceCount: 8, totalLength: 113 })).toBe('wrong-geometry');
  });

  it('claims in files it says were missing or short are inconsistent', () => {
    expect(reason(encodeResume(sample({ files: [undefined, undefined, { size: 52, mtimeMs: 1 }, undefined] })))).toBe('inconsistent');
    expect(reason(encodeResume(sample({ files: [{ size: 39, mtimeMs: 1 }, undefined, { size: 52, mtimeMs: 1 }, undefined] })))).toBe('inconsistent');
    // Missing files are fine when nothing in them is claimed: piece 3..6 only touch b.
    const ok = sample({ have: haveOf([4, 5]), files: [undefined, undefined, { size: 52, mtimeMs: 1 }, undefined] });
    expect(reason(encodeResume(ok))).toBe('ok');
  });

  it('staleFiles: only files holding claimed pieces, on size, mtime or absence', () => {
    const d = sample({ have: haveOf([0]) }); // piece 0 lies in a only
    const same = d.files.slice();
    expect(staleFiles(d, expectT, same)).toEqual([]);
    expect(staleFiles(d, expectT, [{ size: 40, mtimeMs: 1_700_000_000_124 }, undefined, undefined, undefined])).toEqual([0]);
    expect(staleFiles(d, expectT, [{ size: 41, mtimeMs: 1_700_000_000_123 }, undefined, same[2], same[3]])).toEqual([0]);
    expect(staleFiles(d, expectT, [undefined, undefined, same[2], same[3]])).toEqual([0]);
    // Sub-millisecond differences are below what the file records.
    expect(staleFiles(d, expectT, [{ size: 40, mtimeMs: 1_700_000_000_123.9 }, undefined, undefined, undefined])).toEqual([]);
    // Piece 2 = bytes 32..47 spans a and the padding: claiming it ties a; b is unclaimed and may change.
    const d2 = sample({ have: haveOf([2]) });
    expect(staleFiles(d2, expectT, [same[0], undefined, { size: 1, mtimeMs: 1 }, undefined])).toEqual([]);
  });

  it('trustablePieces drops every claimed piece that touches a stale file, boundary pieces included', () => {
    // Pieces: 0,1 in a; 2 = a + padding; 3 = b (48..63); 4,5 in b; 6 = b's tail (96..99).
    const d = sample({ have: haveOf([0, 1, 2, 3, 4, 6]) });
    const keep = (stale: number[]): number[] => {
      const bf = trustablePieces(d, expectT, stale);
      return [0, 1, 2, 3, 4, 5, 6].filter((p) => bf.has(p));
    };
    expect(keep([])).toEqual([0, 1, 2, 3, 4, 6]);
    expect(keep([0])).toEqual([3, 4, 6]);
    expect(keep([2])).toEqual([0, 1, 2]);
    expect(keep([0, 2])).toEqual([]);
    // A piece shared by two files goes when either is stale.
    const shared = {
      infoHash,
      pieceLength: 16,
      pieceCount: 3,
      totalLength: 40,
      files: [
        { offset: 0, length: 20 },
        { offset: 20, length: 20 },
      ],
    };
    const d2 = sample({
      pieceCount: 3,
      have: haveOf([0, 1, 2], 3),
      files: [
        { size: 20, mtimeMs: 1 },
        { size: 20, mtimeMs: 1 },
      ],
    });
    expect([0, 1, 2].filter((p) => trustablePieces(d2, shared, [1]).has(p))).toEqual([0]);
  });
});

/** Decodes our own canonical output back into a plain object, to tamper with single fields. */
function decodeAsObject(bytes: Buffer): Record<string, unknown> {
  const d = decodeResume(bytes, expectT);
  if (!d.ok) throw new Error(d.message);
  const r = d.resume;
  return {
    downloaded: r.downloaded,
    files: r.files.map((f) => (f === undefined ? {} : { mtime: f.mtimeMs, size: f.size })),
    format: 'tc-resume',
    have: r.have,
    'info-hash': r.infoHash,
    'piece-length': r.pieceLength,
    pieces: r.pieceCount,
    saved: r.savedAt,
    selection: r.selection,
    uploaded: r.uploaded,
    version: 1,
  };
}

describe('resume store on disk', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let paths: (string | undefined)[];

  beforeEach(async () => {
    ({ path: dir, cleanup } = await tempDir('tc-resume-'));
    paths = names.map((n) => (n === undefined ? undefined : join(dir, 'data', n)));
    await mkdir(join(dir, 'data'));
    await writeFile(paths[0]!, Buffer.alloc(40, 1));
    await writeFile(paths[2]!, Buffer.alloc(52, 2));
    await writeFile(paths[3]!, Buffer.alloc(0));
  });
  afterEach(async () => {
    await cleanup();
  });

  async function saveNow(store: ResumeStore, have = haveOf([0, 1, 3, 6])): Promise<ResumeData> {
    const d = sample({ have, files: await stampFiles(paths) });
    await store.save(d);
    return d;
  }

  it('the path sits next to the data', () => {
    expect(resumePath('/dl', 'My Show')).toBe('/dl/My Show.tc-resume');
  });

  it('save then load: trusted when the files match', async () => {
    const store = new ResumeStore(resumePath(dir, 'data'));
    const d = await saveNow(store);
    const r = await store.load(expectT, paths);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.haveCount).toBe(4);
      expect(r.resume.files).toEqual(d.files);
    }
    expect((await readdir(dir)).sort()).toEqual(['data', 'data.tc-resume']);
  });

  it('no file: missing (a first start)', async () => {
    const r = await readResume(join(dir, 'nope.tc-resume'), expectT, paths);
    expect(r.ok ? 'ok' : r.reason).toBe('missing');
  });

  it('a data file truncated after the save: stale, re-check', async () => {
    const store = new ResumeStore(resumePath(dir, 'data'));
    await saveNow(store);
    await truncate(paths[2]!, 10);
    const r = await store.load(expectT, paths);
    expect(r.ok ? 'ok' : r.reason).toBe('stale-files');
    expect(r.ok ? [] : r.staleFiles).toEqual([2]);
  });

  it('a data file changed in place (same size, new mtime): stale', async () => {
    const store = new ResumeStore(resumePath(dir, 'data'));
    await saveNow(store);
    await writeFile(paths[0]!, Buffer.alloc(40, 9));
    const later = new Date(Date.now() + 5000);
    await utimes(paths[0]!, later, later);
    const r = await store.load(expectT, paths);
    expect(r.ok ? 'ok' : r.reason).toBe('stale-files');
  });

  it('a data file deleted or replaced by a symlink: stale', async () => {
    const store = new ResumeStore(resumePath(dir, 'data'));
    await saveNow(store);
    await unlink(paths[0]!);
    expect(await store.load(expectT, paths)).toMatchObject({ ok: false, reason: 'stale-files', staleFiles: [0] });
    await writeFile(join(dir, 'outside'), Buffer.alloc(40, 1));
    await symlink(join(dir, 'outside'), paths[0]!);
    expect(await store.load(expectT, paths)).toMatchObject({ ok: false, reason: 'stale-files' });
  });

  it('empty, garbage and truncated resume files are ignored, never trusted', async () => {
    const p = resumePath(dir, 'data');
    const store = new ResumeStore(p);
    await saveNow(store);
    const good = await readFile(p);
    await writeFile(p, '');
    expect(await store.load(expectT, paths)).toMatchObject({ ok: false, reason: 'empty' });
    await writeFile(p, randomBytes(200));
    expect(await store.load(expectT, paths)).toMatchObject({ ok: false, reason: 'corrupt' });
    await writeFile(p, good.subarray(0, good.length - 3));
    expect(await store.load(expectT, paths)).toMatchObject({ ok: false, reason: 'corrupt' });
    await unlink(p);
    await mkdir(p);
    expect(await store.load(expectT, paths)).toMatchObject({ ok: false, reason: 'unreadable' });
  });

  it('a resume file of another torrent is ignored', async () => {
    const store = new ResumeStore(resumePath(dir, 'data'));
    await saveNow(store);
    const r = await store.load({ ...expectT, infoHash: Buffer.alloc(20, 7) }, paths);
    expect(r).toMatchObject({ ok: false, reason: 'wrong-torrent' });
  });

  it('a crash between writing the temp file and the rename leaves the old file intact', async () => {
    const p = resumePath(dir, 'data');
    const store = new ResumeStore(p);
    const first = await saveNow(store, haveOf([0]));
    const before = await readFile(p);

    // 1. A crash as it really happens: the new temp is on disk, the rename never ran.
    await writeFile(p + TEMP_SUFFIX, encodeResume({ ...first, have: haveOf([0, 1, 2, 3, 4, 5, 6]) }).subarray(0, 20));
    expect(await readFile(p)).toEqual(before);
    const r1 = await store.load(expectT, paths);
    expect(r1.ok && r1.haveCount).toBe(1);

    // 2. The same through the writer: fail right before the rename.
    const crashing = new ResumeStore(p, {
      beforeRename: () => {
        throw new Error('simulated crash');
      },
    });
    await expect(crashing.save({ ...first, have: haveOf([0, 1]) })).rejects.toMatchObject({ code: 'ENGINE_DISK' });
    expect(await readFile(p)).toEqual(before);

    // 3. The next save replaces the stale temp and lands whole.
    await saveNow(store, haveOf([0, 1, 3]));
    const r2 = await store.load(expectT, paths);
    expect(r2.ok && r2.haveCount).toBe(3);
    expect((await readdir(dir)).sort()).toEqual(['data', 'data.tc-resume']);
  });

  it('a symlink planted at the temp name does not redirect the write', async () => {
    const p = resumePath(dir, 'data');
    const victim = join(dir, 'victim');
    await writeFile(victim, 'keep me');
    // Someone who can write the download folder points the fixed temp name at another file.
    await symlink(victim, p + TEMP_SUFFIX);
    const store = new ResumeStore(p);
    await saveNow(store, haveOf([0, 1]));
    expect(await readFile(victim, 'latin1')).toBe('keep me');
    const r = await store.load(expectT, paths);
    expect(r.ok && r.haveCount).toBe(2);
    // The resume file is a file of its own, not a link to the victim.
    expect((await lstat(p)).isFile()).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(['data', 'data.tc-resume', 'victim']);
  });

  it('saves are serialized and coalesced; every caller learns when its data is safe', async () => {
    let renames = 0;
    const p = resumePath(dir, 'data');
    const store = new ResumeStore(p, {
      beforeRename: () => {
        renames++;
      },
    });
    const stamps = await stampFiles(paths);
    const saves = [0, 1, 2, 3, 4].map((k) => store.save(sample({ have: haveOf([k]), files: stamps, uploaded: k })));
    await Promise.all(saves);
    expect(renames).toBeLessThanOrEqual(2);
    const r = await store.load(expectT, paths);
    expect(r.ok && r.resume.uploaded).toBe(4);
  });

  it('an unwritable folder gives ENGINE_DISK and no temp left behind', async () => {
    const p = join(dir, 'no-such-folder', 'x.tc-resume');
    const err = await writeDurably(p, Buffer.from('de')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).code).toBe('ENGINE_DISK');
    expect((err as EngineError).path).toBe(p);
  });

  it('remove deletes it, and tolerates it being gone', async () => {
    const p = resumePath(dir, 'data');
    const store = new ResumeStore(p);
    await saveNow(store);
    await store.remove();
    await expect(stat(p)).rejects.toMatchObject({ code: 'ENOENT' });
    await store.remove();
  });
});
