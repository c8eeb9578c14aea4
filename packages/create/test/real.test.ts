import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMetainfo } from '@tc/codec';
import { describe, expect, it } from 'vitest';
import { verifyData } from '../src/index.js';
import { REAL_DIR, WT_FIXTURES } from './helpers.js';

describe('real torrents', () => {
  it('the published content verifies against its torrents', async () => {
    const cases = [
      ['alice.torrent', WT_FIXTURES],
      ['leaves.torrent', WT_FIXTURES],
      ['numbers.torrent', WT_FIXTURES],
      ['lots-of-numbers.torrent', WT_FIXTURES],
      ['folder.torrent', WT_FIXTURES],
    ] as const;
    for (const [file, dir] of cases) {
      const { metainfo } = parseMetainfo(readFileSync(join(REAL_DIR, file)));
      const report = await verifyData(metainfo, dir);
      expect(report.piecesOk, file).toBe(metainfo.pieceCount);
      expect(
        report.files.every((f) => f.status === 'complete'),
        file,
      ).toBe(true);
      expect(report.bytesOk).toBe(metainfo.totalLength);
    }
  });
});
