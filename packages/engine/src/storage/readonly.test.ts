import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { tempDir } from '@tc/testkit/tmp';
import { makeLayout } from '../layout.js';
import { FsStorage } from './fs.js';

// Tests may run as root, which ignores permission bits: enforce them as the kernel does for an
// ordinary user, so a read-only file refuses any open for writing (EACCES).
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const open: typeof real.open = async (path, flags, mode) => {
    const f = typeof flags === 'number' ? flags : 0;
    if ((f & (constants.O_WRONLY | constants.O_RDWR)) !== 0) {
      const st = await real.stat(path).catch(() => undefined);
      if (st !== undefined && (st.mode & 0o222) === 0) throw Object.assign(new Error(`EACCES: permission denied, open '${String(path)}'`), { code: 'EACCES' });
    }
    return real.open(path, flags, mode);
  };
  return { ...real, open, default: { ...real, open } };
});

describe('FsStorage on read-only data', () => {
  it('reads (seeds, re-checks) files it may not write', async () => {
    const d = await tempDir();
    try {
      const layout = makeLayout({ pieceLength: 8, files: [{ path: ['ro', 'a.bin'], length: 10 }], pieceHashes: new Uint8Array(40) });
      await mkdir(join(d.path, 'ro'));
      const file = join(d.path, 'ro', 'a.bin');
      await writeFile(file, Buffer.from('0123456789'));
      await chmod(file, 0o444);
      expect((await stat(file)).mode & 0o222).toBe(0);
      const s = new FsStorage(layout, d.path);
      try {
        expect((await s.read(0, 0, 8)).toString()).toBe('01234567');
        expect((await s.read(1, 0, 2)).toString()).toBe('89');
      } finally {
        await s.close();
      }
    } finally {
      await d.cleanup();
    }
  });
});
