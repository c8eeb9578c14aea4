import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeLayout } from '../layout.js';
import { backoffMs, freshHealth, mayRequest, noteFailure, noteHashFailure, noteSuccess, WEB_SEED_MAX_FAILURES } from './policy.js';
import { blockRuns, spanRanges } from './ranges.js';
import { parseContentRange } from './fetch.js';
import { checkWebSeedUrl, webSeedFileUrl } from './url.js';

describe('web seed URLs (BEP 19)', () => {
  it('single file: a base ending in / gets the name, otherwise names the file', () => {
    expect(webSeedFileUrl(checkWebSeedUrl('http://h/files/'), ['a b.iso'], false)).toBe('http://h/files/a%20b.iso');
    expect(webSeedFileUrl(checkWebSeedUrl('http://h/files/x.iso'), ['a.iso'], false)).toBe('http://h/files/x.iso');
  });
  it('multi-file: name and path appended, each segment percent-encoded', () => {
    expect(webSeedFileUrl(checkWebSeedUrl('http://h/m/'), ['My Torrent', 'sub dir', 'f#1?.txt'], true)).toBe('http://h/m/My%20Torrent/sub%20dir/f%231%3F.txt');
    // A folder URL without its slash gets one, as libtorrent does.
    expect(webSeedFileUrl(checkWebSeedUrl('http://h/m'), ['t', 'é'], true)).toBe('http://h/m/t/%C3%A9');
  });
  it('refuses what is not a usable http(s) URL', () => {
    for (const bad of ['ftp://h/x', 'not a url', 'http://u:p@h/x', `http://h/${'a'.repeat(3000)}`]) {
      expect(() => checkWebSeedUrl(bad)).toThrow(/web seed/);
    }
  });
});

describe('span → per-file ranges', () => {
  const layout = makeLayout({
    pieceLength: 32 * 1024,
    files: [
      { path: ['t', 'a'], length: 10_000 },
      { path: ['t', 'empty'], length: 0 },
      { path: ['t', 'pad'], length: 6_384, padding: true },
      { path: ['t', 'b'], length: 70_000 },
    ],
    pieceHashes: new Uint8Array(20 * 3),
  });
  it('crosses file boundaries, skips empty files, flags padding', () => {
    expect(spanRanges(layout, 0, 0, 32 * 1024)).toEqual([
      { file: 0, start: 0, length: 10_000, spanOffset: 0, padding: false },
      { file: 2, start: 0, length: 6_384, spanOffset: 10_000, padding: true },
      { file: 3, start: 0, length: 16_384, spanOffset: 16_384, padding: false },
    ]);
    expect(spanRanges(layout, 2, 0, layout.totalLength - 2 * 32 * 1024)).toEqual([
      { file: 3, start: 65_536 - 16_384, length: 86_384 - 65_536, spanOffset: 0, padding: false },
    ]);
    expect(() => spanRanges(layout, 2, 0, 32 * 1024)).toThrow(RangeError);
  });
  it('property: the ranges cover exactly the span, in order', () => {
    const file = fc.record({ length: fc.nat({ max: 5_000 }), padding: fc.boolean() });
    fc.assert(
      fc.property(
        fc.array(file, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 4_096 }),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        (files, pieceLength, a, b, c) => {
          const total = files.reduce((s, f) => s + f.length, 0);
          fc.pre(total > 0);
          const l = makeLayout({
            pieceLength,
            files: files.map((f, i) => ({ path: ['t', String(i)], length: f.length, padding: f.padding })),
            pieceHashes: new Uint8Array(20 * Math.ceil(total / pieceLength)),
          });
          const piece = a % l.pieceCount;
          const size = Math.min(pieceLength, total - piece * pieceLength);
          const offset = b % size;
          const length = 1 + (c % (size - offset));
          const rs = spanRanges(l, piece, offset, length);
          let at = 0;
          for (const r of rs) {
            expect(r.spanOffset).toBe(at);
            expect(r.length).toBeGreaterThan(0);
            const f = l.files[r.file]!;
            expect(f.offset + r.start).toBe(piece * pieceLength + offset + at);
            expect(r.start + r.length).toBeLessThanOrEqual(f.length);
            expect(r.padding).toBe(f.padding);
            at += r.length;
          }
          expect(at).toBe(length);
        },
      ),
    );
  });
  it('groups picked blocks into runs contiguous in the torrent, across pieces, up to a size', () => {
    const b = (piece: number, offset: number): { piece: number; offset: number; length: number } => ({ piece, offset, length: 16_384 });
    // Pieces of two blocks: 1:16384 is followed by 2:0 in the torrent.
    const runs = blockRuns([b(1, 0), b(1, 16_384), b(2, 0), b(2, 32_768), b(5, 0)], 32_768);
    expect(runs.map((r) => [r.piece, r.offset, r.length, r.blocks.length])).toEqual([
      [1, 0, 49_152, 3],
      [2, 32_768, 16_384, 1],
      [5, 0, 16_384, 1],
    ]);
    expect(blockRuns([b(1, 0), b(1, 16_384), b(2, 0)], 32_768, 32_768).map((r) => r.length)).toEqual([32_768, 16_384]);
  });
});

describe('Content-Range', () => {
  it('reads bytes FIRST-LAST/TOTAL and refuses the rest', () => {
    expect(parseContentRange('bytes 0-99/1000')).toEqual({ first: 0, last: 99 });
    expect(parseContentRange('bytes 5-9/*')).toEqual({ first: 5, last: 9 });
    expect(parseContentRange(undefined)).toBeUndefined();
    expect(parseContentRange('bytes */1000')).toBeUndefined();
    expect(parseContentRange('items 0-1/2')).toBeUndefined();
  });
});

describe('web seed backoff', () => {
  it('backs off exponentially, then drops with the reason', () => {
    const h = freshHealth();
    let now = 0;
    for (let i = 1; i < WEB_SEED_MAX_FAILURES; i++) {
      noteFailure(h, 'HTTP 503', now);
      expect(h.state).toBe('backoff');
      expect(h.retryAt - now).toBe(backoffMs(i));
      expect(mayRequest(h, now + backoffMs(i) - 1)).toBe(false);
      now += backoffMs(i);
      expect(mayRequest(h, now)).toBe(true);
    }
    noteFailure(h, 'HTTP 503', now);
    expect(h.state).toBe('dropped');
    expect(h.reason).toBe('HTTP 503');
    expect(mayRequest(h, now + 1e9)).toBe(false);
    expect(backoffMs(2)).toBe(2 * backoffMs(1));
  });
  it('requests failing together count once per wait; success forgets', () => {
    const h = freshHealth();
    noteFailure(h, 'stalled', 0);
    noteFailure(h, 'stalled', 1);
    noteFailure(h, 'stalled', 2);
    expect(h.failures).toBe(1);
    noteSuccess(h);
    expect(h).toMatchObject({ state: 'backoff', failures: 1 });
    expect(mayRequest(h, backoffMs(1))).toBe(true);
    noteSuccess(h);
    expect(h).toMatchObject({ state: 'active', failures: 0 });
  });
  it('bad data: backed off the first time, dropped the second', () => {
    const h = freshHealth();
    noteHashFailure(h, 0);
    expect(h.state).toBe('backoff');
    noteHashFailure(h, 10);
    expect(h.state).toBe('dropped');
    expect(h.reason).toMatch(/2 piece\(s\) that failed the hash check/);
  });
});
