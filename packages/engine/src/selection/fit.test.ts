import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseMetainfo } from '@tc/codec';
import { makeLayout } from '../layout.js';
import { decodeResume, encodeResume } from '../resume/format.js';
import { parseSelection, planPieces } from './selection.js';

/** The modules take codec's Metainfo and the engine's TorrentLayout as they are: no adapters. */
describe('selection and resume fit the real types', () => {
  const bytes = readFileSync(fileURLToPath(new URL('../../../../test-fixtures/torrents/real/lots-of-numbers.torrent', import.meta.url)));
  const m = parseMetainfo(bytes, { mode: 'lenient' }).metainfo;

  it('codec Metainfo', () => {
    expect(m.files.length).toBe(6);
    const sel = parseSelection('big numbers/**', m.files);
    expect(sel.map((i) => m.files[i]!.path.at(-1))).toEqual(['10.txt', '11.txt', '12.txt']);
    const plan = planPieces(m, sel);
    // One 16 KiB piece holds every file: selecting any means fetching it and writing them all.
    expect(plan.pieceCount).toBe(1);
    expect([...plan.wanted]).toEqual([1]);
    expect(plan.create.every(Boolean)).toBe(true);
    const r = decodeResume(
      encodeResume({
        infoHash: m.infoHash,
        pieceLength: m.pieceLength,
        pieceCount: m.pieceCount,
        have: Buffer.from([0x80]),
        files: m.files.map((f) => ({ size: f.length, mtimeMs: 1 })),
        uploaded: 0,
        downloaded: m.totalLength,
        selection: sel,
        savedAt: 0,
      }),
      m,
    );
    expect(r.ok).toBe(true);
  });

  it('engine TorrentLayout', () => {
    const layout = makeLayout({ pieceLength: m.pieceLength, files: m.files, pieceHashes: m.pieces });
    expect(parseSelection('1-2', layout.files)).toEqual([1, 2]);
    expect(planPieces(layout, [5]).wantedCount).toBe(1);
    const r = decodeResume(Buffer.from('de'), { ...layout, infoHash: m.infoHash });
    expect(r).toMatchObject({ ok: false, reason: 'corrupt' });
  });
});
