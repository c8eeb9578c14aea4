import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeLsdAnnounce, encodeLsdAnnounce, LSD_GROUP4, MAX_LSD_DATAGRAM, MAX_LSD_INFO_HASHES } from './lsd.js';

const HASH = 'ab'.repeat(20);

describe('BEP 14 announces', () => {
  it('round-trips and reads what libtorrent sends', () => {
    const d = encodeLsdAnnounce({ host: `${LSD_GROUP4}:6771`, port: 51413, infoHashes: [HASH], cookie: 'c0ffee' });
    expect(decodeLsdAnnounce(d)).toEqual({ ok: true, announce: { port: 51413, infoHashes: [HASH], cookie: 'c0ffee' } });
    const lt = Buffer.from(`BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 6881\r\nInfohash: ${HASH.toUpperCase()}\r\n\r\n\r\n`);
    expect(decodeLsdAnnounce(lt)).toEqual({ ok: true, announce: { port: 6881, infoHashes: [HASH], cookie: undefined } });
  });

  it('refuses malformed or oversized announces with a reason, and bounds the info-hashes read', () => {
    const cases: [string, string][] = [
      ['GET / HTTP/1.1\r\n\r\n', 'not a BT-SEARCH'],
      ['BT-SEARCH * HTTP/1.1\r\nInfohash: ' + HASH + '\r\n\r\n', 'no Port'],
      ['BT-SEARCH * HTTP/1.1\r\nPort: 6881\r\n\r\n', 'no Infohash'],
      ['BT-SEARCH * HTTP/1.1\r\nPort: 0\r\nInfohash: ' + HASH + '\r\n\r\n', 'port'],
      ['BT-SEARCH * HTTP/1.1\r\nPort: 6881\r\nInfohash: xyz\r\n\r\n', '40 hex'],
      ['BT-SEARCH * HTTP/1.1\r\ngarbage line\r\n\r\n', 'NAME: VALUE'],
    ];
    for (const [text, reason] of cases) {
      const r = decodeLsdAnnounce(Buffer.from(text));
      expect(r.ok, text).toBe(false);
      if (!r.ok) expect(r.reason).toContain(reason);
    }
    expect(decodeLsdAnnounce(Buffer.alloc(MAX_LSD_DATAGRAM + 1, 0x41)).ok).toBe(false);
    const many = encodeLsdAnnounce({ host: 'x', port: 1, infoHashes: Array.from({ length: 20 }, (_, i) => i.toString(16).padStart(40, '0')), cookie: 'c' });
    const r = decodeLsdAnnounce(many);
    expect(r.ok && r.announce.infoHashes.length).toBe(MAX_LSD_INFO_HASHES);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2_000 }), (b) => {
        const x = decodeLsdAnnounce(b);
        if (x.ok) expect(x.announce.infoHashes.length).toBeLessThanOrEqual(MAX_LSD_INFO_HASHES);
      }),
      { numRuns: 2_000 },
    );
  });
});
