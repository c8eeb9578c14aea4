import { describe, expect, it } from 'vitest';
import { torrentFileName } from './save.js';

const HASH = 'ab'.repeat(20);

describe('torrentFileName', () => {
  it('keeps an ordinary name', () => {
    expect(torrentFileName('debian-12.5.0-amd64-netinst.iso', HASH)).toBe('debian-12.5.0-amd64-netinst.iso.torrent');
    expect(torrentFileName('My Album', HASH)).toBe('My Album.torrent');
    expect(torrentFileName('x.torrent', HASH)).toBe('x.torrent');
  });

  it('never yields a path, a hidden file, a device name or escapes', () => {
    expect(torrentFileName('../../etc/passwd', HASH)).toBe('_.._etc_passwd.torrent');
    expect(torrentFileName('a\\b:c', HASH)).toBe('a_b_c.torrent');
    expect(torrentFileName('.hidden', HASH)).toBe('hidden.torrent');
    expect(torrentFileName('\u001b[31mred\u202e', HASH)).toBe('_[31mred_.torrent');
    expect(torrentFileName('CON', HASH)).toBe('_CON.torrent');
    expect(torrentFileName('nul.txt', HASH)).toBe('_nul.txt.torrent');
  });

  it('falls back to the info-hash, and cuts long names on a character boundary', () => {
    expect(torrentFileName('', HASH)).toBe(`${HASH}.torrent`);
    expect(torrentFileName('...', HASH)).toBe(`${HASH}.torrent`);
    expect(torrentFileName('///', HASH)).toBe(`${HASH}.torrent`);
    const long = torrentFileName('é'.repeat(300), HASH);
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(200);
    expect(long).toBe(`${'é'.repeat(96)}.torrent`);
  });
});
