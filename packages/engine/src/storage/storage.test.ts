import { mkdir, open, readFile, readdir, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { tempDir } from '@tc/testkit/tmp';
import { EngineError } from '../errors.js';
import { makeLayout } from '../layout.js';
import { FsStorage } from './fs.js';
import { MemoryStorage } from './memory.js';
import { containedJoin } from './safe-path.js';

const layout = makeLayout({
  pieceLength: 8,
  files: [
    { path: ['a.txt'], length: 5 },
    { path: ['.pad', '3'], length: 3, padding: true },
    { path: ['sub', 'b.bin'], length: 12 },
    { path: ['empty'], length: 0 },
    { path: ['c'], length: 1 },
  ],
  pieceHashes: new Uint8Array(20 * 3),
});

describe('containedJoin', () => {
  it('refuses traversal and absolute components', () => {
    for (const bad of [['..', 'x'], ['a', '..'], ['/etc'], ['a/b'], ['a\\b'], ['C:x'], [''], ['.'], ['a\0b']]) {
      expect(() => containedJoin('/tmp/root', bad)).toThrow(EngineError);
    }
    expect(containedJoin('/tmp/root', ['a', 'b'])).toBe('/tmp/root/a/b');
  });
});

describe('FsStorage', () => {
  it('writes across files, skips padding, creates files lazily at final size', async () => {
    const d = await tempDir();
    const s = new FsStorage(layout, d.path, 1);
    try {
      expect(await readdir(d.path).catch(() => [])).toEqual([]);
      // piece 0 = a.txt(5) + pad(3); piece 1 = b.bin[0..8); piece 2 = b.bin[8..12) + c(1)
      await s.write(0, 0, [Buffer.from('hel'), Buffer.from('loXXX')]);
      expect((await readdir(d.path)).sort()).toEqual(['a.txt']);
      await s.write(2, 0, [Buffer.from('WXYZ!')]);
      expect((await stat(join(d.path, 'sub', 'b.bin'))).size).toBe(12);
      await s.write(1, 2, [Buffer.from('234567')]);
      await s.write(1, 0, [Buffer.from('01')]);
      expect(await readFile(join(d.path, 'a.txt'), 'latin1')).toBe('hello');
      expect(await readFile(join(d.path, 'sub', 'b.bin'), 'latin1')).toBe('01234567WXYZ');
      expect(await readFile(join(d.path, 'c'), 'latin1')).toBe('!');
      expect(s.openHandles).toBeLessThanOrEqual(1);
      expect((await s.read(0, 0, 8)).toString('latin1')).toBe('hello\0\0\0');
      expect((await s.read(1, 4, 6)).toString('latin1')).toBe('4567WX');
      await expect(stat(join(d.path, '.pad'))).rejects.toThrow();
    } finally {
      await s.close();
      await d.cleanup();
    }
  });

  it('reads unwritten files as zeros without creating them', async () => {
    const d = await tempDir();
    const s = new FsStorage(layout, d.path);
    try {
      expect((await s.read(2, 0, 5)).equals(Buffer.alloc(5))).toBe(true);
      expect(await readdir(d.path)).toEqual([]);
    } finally {
      await s.close();
      await d.cleanup();
    }
  });

  it('refuses to write through a symlinked folder that leaves the target', async () => {
    const d = await tempDir();
    const out = await tempDir();
    await symlink(out.path, join(d.path, 'sub'));
    const s = new FsStorage(layout, d.path);
    try {
      await expect(s.write(1, 0, [Buffer.alloc(8)])).rejects.toMatchObject({ code: 'ENGINE_UNSAFE_PATH' });
      expect(await readdir(out.path)).toEqual([]);
    } finally {
      await s.close();
      await d.cleanup();
      await out.cleanup();
    }
  });

  it('creates no folder outside the target when a nested path runs through a planted symlink', async () => {
    const d = await tempDir();
    const out = await tempDir();
    await symlink(out.path, join(d.path, 'sub'));
    const deep = makeLayout({ pieceLength: 4, files: [{ path: ['sub', 'x', 'y', 'b.bin'], length: 4 }], pieceHashes: new Uint8Array(20) });
    const s = new FsStorage(deep, d.path);
    try {
      await expect(s.write(0, 0, [Buffer.from('evil')])).rejects.toMatchObject({ code: 'ENGINE_UNSAFE_PATH' });
      // Every component is checked before any is created: not even `x/` appears outside.
      expect(await readdir(out.path)).toEqual([]);
      await expect(s.read(0, 0, 4)).rejects.toMatchObject({ code: 'ENGINE_UNSAFE_PATH' });
      expect(await readdir(out.path)).toEqual([]);
    } finally {
      await s.close();
      await d.cleanup();
      await out.cleanup();
    }
  });

  it('follows a symlinked folder that stays inside the target', async () => {
    const d = await tempDir();
    await mkdir(join(d.path, 'real'));
    await symlink(join(d.path, 'real'), join(d.path, 'sub'));
    const deep = makeLayout({ pieceLength: 4, files: [{ path: ['sub', 'x', 'b.bin'], length: 4 }], pieceHashes: new Uint8Array(20) });
    const s = new FsStorage(deep, d.path);
    try {
      await s.write(0, 0, [Buffer.from('good')]);
      expect(await readFile(join(d.path, 'real', 'x', 'b.bin'), 'latin1')).toBe('good');
    } finally {
      await s.close();
      await d.cleanup();
    }
  });

  it('refuses to follow a symlinked file', async () => {
    const d = await tempDir();
    const out = await tempDir();
    await writeFile(join(out.path, 'target'), 'keep');
    await symlink(join(out.path, 'target'), join(d.path, 'a.txt'));
    const s = new FsStorage(layout, d.path);
    try {
      await expect(s.write(0, 0, [Buffer.from('hello')])).rejects.toMatchObject({ code: 'ENGINE_DISK' });
      expect(await readFile(join(out.path, 'target'), 'latin1')).toBe('keep');
    } finally {
      await s.close();
      await d.cleanup();
      await out.cleanup();
    }
  });

  it('reports an unwritable folder as a disk error', async () => {
    const d = await tempDir();
    await mkdir(join(d.path, 'ro'));
    await writeFile(join(d.path, 'ro', 'sub'), 'a file where a folder should be');
    const s = new FsStorage(layout, join(d.path, 'ro'));
    try {
      await expect(s.write(1, 0, [Buffer.alloc(8)])).rejects.toMatchObject({ code: 'ENGINE_DISK' });
    } finally {
      await s.close();
      await d.cleanup();
    }
  });

  it('rejects an escaping layout before anything is written', async () => {
    const bad = makeLayout({ pieceLength: 4, files: [{ path: ['..', 'evil'], length: 4 }], pieceHashes: new Uint8Array(20) });
    expect(() => new FsStorage(bad, '/nonexistent/tc')).toThrow(expect.objectContaining({ code: 'ENGINE_UNSAFE_PATH' }));
  });
});

describe('FsStorage handle cache under concurrency', () => {
  it('never closes a handle that a concurrent write has just opened (many small files, cap 2)', async () => {
    // 40 files of 3 bytes, pieces of 6: each piece spans two files. Written all at once, the
    // openings interleave with evictions; a handle opened for one write must not be evicted by another.
    const many = makeLayout({
      pieceLength: 6,
      files: Array.from({ length: 40 }, (_, i) => ({ path: ['d', `f${i}`], length: 3 })),
      pieceHashes: new Uint8Array(20 * 20),
    });
    const d = await tempDir();
    const s = new FsStorage(many, d.path, 2);
    try {
      await Promise.all(Array.from({ length: 20 }, (_, p) => s.write(p, 0, [Buffer.from(`${String(p).padStart(2, '0')}abcd`)])));
      for (let p = 0; p < 20; p++) expect((await s.read(p, 0, 6)).toString('latin1')).toBe(`${String(p).padStart(2, '0')}abcd`);
      expect(s.openHandles).toBeLessThanOrEqual(4); // 2 writable + 2 read-only
    } finally {
      await s.close();
      await d.cleanup();
    }
  });
});

describe('FsStorage reads', () => {
  const openFds = (): number => readdirSync('/proc/self/fd').length;

  it('serves many reads of an existing file through one cached handle, closed on close()', async () => {
    const d = await tempDir();
    await mkdir(join(d.path, 'sub'), { recursive: true });
    await writeFile(join(d.path, 'sub', 'b.bin'), '01234567WXYZ');
    const s = new FsStorage(layout, d.path);
    const before = openFds();
    try {
      for (let i = 0; i < 200; i++) expect((await s.read(1, 0, 8)).toString('latin1')).toBe('01234567');
      // Seeding reads whole blocks at a time: one handle for the file, not one per read.
      expect(s.openHandles).toBe(1);
      expect(openFds()).toBe(before + 1);
      // A write to the same file afterwards is read back through either handle.
      await s.write(1, 0, [Buffer.from('ab')]);
      expect((await s.read(1, 0, 8)).toString('latin1')).toBe('ab234567');
    } finally {
      await s.close();
      await d.cleanup();
    }
    expect(openFds()).toBe(before);
  });
});

describe('FsStorage sync', () => {
  /** Records the path of every file or folder fdatasync'ed or fsync'ed through a FileHandle. */
  async function recordSyncs(): Promise<{ paths: string[]; restore: () => void }> {
    const d = await tempDir();
    const probe = await open(d.path, 'r');
    const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void>; sync: () => Promise<void> };
    await probe.close();
    await d.cleanup();
    const paths: string[] = [];
    const spies = (['datasync', 'sync'] as const).map((m) =>
      vi.spyOn(proto, m).mockImplementation(async function (this: { fd: number }) {
        paths.push(`${m} ${readlinkSync(`/proc/self/fd/${this.fd}`)}`);
      }),
    );
    return { paths, restore: () => spies.forEach((s) => s.mockRestore()) };
  }

  it('syncs only the files written since the last sync, open or evicted, and the folders it created', async () => {
    const d = await tempDir();
    const root = await realpath(d.path);
    const rec = await recordSyncs();
    // One open handle at a time: a.txt's is evicted when sub/b.bin opens, and still gets synced.
    const s = new FsStorage(layout, d.path, 1);
    try {
      await s.sync();
      expect(rec.paths).toEqual([]); // nothing written yet
      await s.write(0, 0, [Buffer.from('hello')]);
      await s.write(1, 0, [Buffer.alloc(8)]);
      await s.sync();
      expect(rec.paths.sort()).toEqual([`datasync ${root}/a.txt`, `datasync ${root}/sub/b.bin`, `sync ${root}`, `sync ${root}/sub`].sort());
      rec.paths.length = 0;
      await s.sync();
      expect(rec.paths).toEqual([]); // clean: nothing to do
      await s.write(1, 0, [Buffer.alloc(8, 1)]);
      await s.sync();
      expect(rec.paths).toEqual([`datasync ${root}/sub/b.bin`]);
      rec.paths.length = 0;
      // Written, then closed (a torrent closes its storage before the final resume save): still synced.
      await s.write(0, 0, [Buffer.from('HELLO')]);
      await s.close();
      await s.sync();
      expect(rec.paths).toEqual([`datasync ${root}/a.txt`]);
    } finally {
      rec.restore();
      await s.close();
      await d.cleanup();
    }
  });

  it('a failed sync leaves the file to the next one', async () => {
    const d = await tempDir();
    const rec = await recordSyncs();
    const s = new FsStorage(layout, d.path);
    try {
      await s.write(0, 0, [Buffer.from('hello')]);
      await rm(join(d.path, 'a.txt'));
      await mkdir(join(d.path, 'a.txt')); // a folder where our file was: reopening it fails
      await s.close(); // so the sync must reopen
      await expect(s.sync()).rejects.toMatchObject({ code: 'ENGINE_DISK' });
      await rm(join(d.path, 'a.txt'), { recursive: true });
      await writeFile(join(d.path, 'a.txt'), 'hello');
      await s.sync();
      expect(rec.paths.filter((p) => p.startsWith('datasync'))).toEqual([`datasync ${await realpath(d.path)}/a.txt`]);
    } finally {
      rec.restore();
      await s.close();
      await d.cleanup();
    }
  });
});

describe('MemoryStorage', () => {
  it('round-trips', async () => {
    const s = new MemoryStorage(layout);
    await s.write(2, 1, [Buffer.from('ab')]);
    expect((await s.read(2, 0, 4)).toString('latin1')).toBe('\0ab\0');
    await expect(s.write(2, 4, [Buffer.from('ab')])).rejects.toThrow();
  });
});
