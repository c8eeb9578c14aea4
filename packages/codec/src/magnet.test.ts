import { describe, expect, it } from 'vitest';
import { CodecError } from './errors.js';
import { parseInfoHash } from './ids.js';
import { formatMagnet, parseMagnet } from './magnet.js';

const HEX = 'd2474e86c95b19b8bcfdb92bc12c9d44667cfa36';

describe('parseMagnet (BEP 9, BEP 53)', () => {
  it('reads every supported parameter', () => {
    const uri =
      `magnet:?xt=urn:btih:${HEX}&dn=Leaves+of%20Grass&tr=udp%3A%2F%2F127.0.0.1%3A6969&tr=http://127.0.0.1:1/announce` +
      '&ws=http%3A%2F%2F127.0.0.1%2Fseed&x.pe=127.0.0.1:6881&x.pe=[::1]:6882&so=0,2,4-6';
    const { magnet, warnings } = parseMagnet(uri);
    expect(magnet.infoHashHex).toBe(HEX);
    expect(magnet.name).toBe('Leaves of Grass');
    expect(magnet.trackers).toEqual(['udp://127.0.0.1:6969', 'http://127.0.0.1:1/announce']);
    expect(magnet.webSeeds).toEqual(['http://127.0.0.1/seed']);
    expect(magnet.peers).toEqual([
      { host: '127.0.0.1', port: 6881 },
      { host: '::1', port: 6882 },
    ]);
    expect(magnet.selectOnly).toEqual([
      { first: 0, last: 0 },
      { first: 2, last: 2 },
      { first: 4, last: 6 },
    ]);
    expect(warnings).toEqual([]);
  });

  it('reads a base32 btih, and a hybrid link with btmh', () => {
    const b32 = parseMagnet(`magnet:?xt=urn:btih:${parseMagnet(`magnet:?xt=urn:btih:${HEX}`).magnet.infoHashBase32}`);
    expect(b32.magnet.infoHashHex).toBe(HEX);
    const hybrid = parseMagnet(`magnet:?xt=urn:btmh:1220${'ab'.repeat(32)}&xt=urn:btih:${HEX}`);
    expect(hybrid.magnet.infoHashHex).toBe(HEX);
  });

  it('keeps BEP 53 ranges unexpanded', () => {
    expect(parseMagnet(`magnet:?xt=urn:btih:${HEX}&so=0-999999`).magnet.selectOnly).toEqual([{ first: 0, last: 999999 }]);
  });

  it.each([
    ['magnet:', 'no query'],
    [`magnet:?xt=urn:sha1:${HEX}`, 'no btih'],
    [`magnet:?xt=urn:btih:${HEX}&tr=%ZZ`, 'bad escape'],
  ])('rejects %s (%s)', (uri) => {
    expect(() => parseMagnet(uri)).toThrow(CodecError);
  });

  it('drops and warns about IDNA tracker hosts, percent-encoded ones included (RELIABILITY #17)', () => {
    for (const tr of [
      'http://%C3%A4pple.com/announce',
      'http://%C3%84PPLE.com/announce',
      'http://\u00e4pple.com/announce',
      'http://xn--pple-koa.com/announce',
    ]) {
      const { magnet, warnings } = parseMagnet(`magnet:?xt=urn:btih:${HEX}&tr=${encodeURIComponent(tr)}&ws=${encodeURIComponent(tr)}`);
      expect(magnet.trackers).toEqual([]);
      expect(magnet.webSeeds).toEqual([]);
      expect(warnings.map((w) => w.code)).toEqual(['WARN_BAD_TRACKER_URL', 'WARN_BAD_TRACKER_URL']);
      expect(warnings[0]!.message).toContain('IDNA');
    }
  });

  it('round-trips through formatMagnet', () => {
    const m = {
      infoHash: parseInfoHash(HEX),
      name: 'a & b = c?',
      trackers: ['udp://127.0.0.1:1', 'http://127.0.0.1:2/announce?x=1&y=2'],
      webSeeds: ['http://127.0.0.1/w s'],
      peers: [{ host: '::1', port: 1 }],
      selectOnly: [{ first: 1, last: 3 }],
    };
    const again = parseMagnet(formatMagnet(m)).magnet;
    expect(again.infoHash).toEqual(m.infoHash);
    expect(again.name).toBe(m.name);
    expect(again.trackers).toEqual(m.trackers);
    expect(again.webSeeds).toEqual(m.webSeeds);
    expect(again.peers).toEqual(m.peers);
    expect(again.selectOnly).toEqual(m.selectOnly);
  });
});
