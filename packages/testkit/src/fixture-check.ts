import { readFile } from 'node:fs/promises';
import type { TestTorrent } from './swarm-fixture.js';

/** True when every file of the test torrent under `dir` holds exactly its bytes (a missing file is a mismatch). */
export async function matchesFixture(t: TestTorrent, dir: string): Promise<boolean> {
  let off = 0;
  for (const f of t.files) {
    const got = await readFile(t.pathOf(dir, f)).catch(() => Buffer.alloc(0));
    if (!got.equals(t.data.subarray(off, off + f.length))) return false;
    off += f.length;
  }
  return true;
}
