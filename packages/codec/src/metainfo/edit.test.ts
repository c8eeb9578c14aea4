import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CodecError } from '../errors.js';
import { editMetainfo } from './edit.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '../../../../test-fixtures/torrents', name));

describe('editMetainfo', () => {
  it('changes fields outside info and keeps the info bytes, even non-canonical ones', () => {
    const input = fixture('hostile/unsorted-keys.torrent');
    const r = editMetainfo(input, {
      announceTiers: [['udp://127.0.0.1:1'], ['http://127.0.0.1:2/announce']],
      webSeeds: ['http://127.0.0.1:3/'],
      comment: 'new',
      createdBy: null,
      creationDate: new Date('2024-01-01T00:00:00Z'),
    });
    expect(r.infoChanged).toBe(false);
    expect(r.after.infoHashHex).toBe(r.before.infoHashHex);
    expect(r.after.infoBytes.equals(r.before.infoBytes)).toBe(true);
    expect(r.after.announce).toBe('udp://127.0.0.1:1');
    expect(r.after.announceTiers).toEqual([['udp://127.0.0.1:1'], ['http://127.0.0.1:2/announce']]);
    expect(r.after.webSeeds).toEqual(['http://127.0.0.1:3/']);
    expect(r.after.comment).toBe('new');
    expect(r.after.createdBy).toBeUndefined();
    expect(r.after.creationDate?.toISOString()).toBe('2024-01-01T00:00:00.000Z');
  });

  it('removes trackers with an empty list', () => {
    const r = editMetainfo(fixture('real/leaves.torrent'), { announceTiers: [] });
    expect(r.after.announceTiers).toEqual([]);
    expect(r.after.raw.has('announce')).toBe(false);
  });

  it('changes private or source only when asked, and reports the new info-hash', () => {
    const input = fixture('real/leaves.torrent');
    expect(() => editMetainfo(input, { private: true })).toThrow(CodecError);
    const r = editMetainfo(input, { private: true, source: 'TC', allowInfoChange: true });
    expect(r.infoChanged).toBe(true);
    expect(r.after.private).toBe(true);
    expect(r.after.source).toBe('TC');
    expect(r.after.pieces.equals(r.before.pieces)).toBe(true);
    const back = editMetainfo(r.bytes, { private: false, source: null, allowInfoChange: true });
    expect(back.after.infoHashHex).toBe(r.before.infoHashHex);
  });
});
