import { TrackerError } from '@tc/tracker';
import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { probeError, type TrackerProbe } from '../src/probe.js';
import { renderReport, reportJson, type Report } from '../src/render.js';

/** Golden output (no colour) for a fixed report: what a person sees for a dead tier and a live one. */
const report: Report = {
  infoHash: Buffer.alloc(20, 0xab),
  name: 'demo\x1b[2J',
  ms: 1234,
  trackers: [
    {
      url: 'http://127.0.0.1:1/announce',
      tier: 1,
      addresses: ['127.0.0.1'],
      failure: { step: 'connect', error: probeError(new TrackerError('TRACKER_REFUSED', 'TCP connect to 127.0.0.1:1 failed (ECONNREFUSED)')) },
      raw: [],
    },
    {
      url: 'udp://tracker.example:6969/announce',
      tier: 2,
      addresses: ['192.0.2.7'],
      resolveMs: 1.5,
      connectMs: 3.2,
      announce: {
        ms: 4.1,
        result: {
          interval: 1800,
          minInterval: 900,
          complete: 1,
          incomplete: 2,
          skipped: 1,
          warning: 'upgrade\x07 your client',
          peers: Array.from({ length: 7 }, (_, i) => ({ ip: `198.51.100.${i + 1}`, port: 6881 + i, family: 4 as const })),
        },
      },
      scrape: { ms: 2, entry: { infoHash: Buffer.alloc(20, 0xab), complete: 1, incomplete: 2, downloaded: 30 } },
      handshakes: [
        { ip: '198.51.100.1', port: 6881, ok: true, ms: 5.5, client: 'qBittorrent 4.5.2' },
        { ip: '198.51.100.2', port: 6882, ok: false, error: 'refused' },
      ],
      raw: [],
    },
    {
      url: 'https://t.example/announce',
      tier: 2,
      addresses: ['192.0.2.8'],
      connectMs: 10,
      announce: { ms: 20, error: probeError(new TrackerError('TRACKER_FAILURE', 'tracker said: x', { trackerMessage: 'unregistered torrent' })) },
      failure: {
        step: 'announce',
        error: probeError(new TrackerError('TRACKER_FAILURE', 'tracker said: x', { trackerMessage: 'unregistered torrent' })),
      },
      raw: [],
    },
    {
      url: 'udp://127.0.0.1:2/announce',
      tier: 3,
      addresses: ['127.0.0.1'],
      announce: { ms: 1.2, error: probeError(new TrackerError('TRACKER_REFUSED', 'port unreachable: nothing listens on UDP 127.0.0.1:2 (ECONNREFUSED)')) },
      failure: {
        step: 'connect',
        error: probeError(new TrackerError('TRACKER_REFUSED', 'port unreachable: nothing listens on UDP 127.0.0.1:2 (ECONNREFUSED)')),
        ms: 1.2,
      },
      raw: [],
    },
  ] satisfies TrackerProbe[],
};

describe('render', () => {
  it('prints the golden human report, sanitized', () => {
    expect(renderReport(report, { chalk: new Chalk({ level: 0 }), verbose: false })).toBe(
      [
        `torrent  demo\\x1b[2J (info-hash ${'ab'.repeat(20)})`,
        '',
        'tracker  http://127.0.0.1:1/announce  tier 1  FAILED',
        '  address   127.0.0.1',
        '  connect   failed: refused: nothing listens on that port (tracker down or wrong port); error: TCP connect to 127.0.0.1:1 failed (ECONNREFUSED)',
        '',
        'tracker  udp://tracker.example:6969/announce  tier 2  OK',
        '  address   192.0.2.7  (resolved in 1.5 ms)',
        '  connect   3.2 ms',
        '  announce  ok in 4.1 ms: 7 peers, interval 1800 s (min 900 s), 1 seeder, 2 leechers',
        '            198.51.100.1:6881',
        '            198.51.100.2:6882',
        '            198.51.100.3:6883',
        '            198.51.100.4:6884',
        '            198.51.100.5:6885',
        '            … and 2 more',
        '            1 entry skipped (port 0, malformed or over the cap)',
        '  warning   upgrade\\x07 your client',
        '  scrape    1 seeder, 2 leechers, 30 downloaded (2 ms)',
        '  handshake 198.51.100.1:6881 answered in 5.5 ms (qBittorrent 4.5.2)',
        '  handshake 198.51.100.2:6882 no: refused',
        '',
        'tracker  https://t.example/announce  tier 2  FAILED',
        '  address   192.0.2.8',
        '  connect   10 ms',
        '  announce  failed: tracker error: the tracker refused the request: "unregistered torrent"; error: tracker said: x',
        '',
        'tracker  udp://127.0.0.1:2/announce  tier 3  FAILED',
        '  address   127.0.0.1',
        '  connect   failed after 1.2 ms: refused: nothing listens on that port (tracker down or wrong port); error: port unreachable: nothing listens on UDP 127.0.0.1:2 (ECONNREFUSED)',
        '',
        'summary  1 of 4 trackers answered (1234 ms)',
        '',
      ].join('\n'),
    );
  });

  it('keeps the JSON shape stable', () => {
    const doc = JSON.parse(JSON.stringify(reportJson(report, false))) as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual(['infoHash', 'name', 'answered', 'ms', 'trackers']);
    const t = (doc.trackers as Record<string, unknown>[])[1]!;
    expect(Object.keys(t)).toEqual(['url', 'tier', 'ok', 'addresses', 'resolveMs', 'connectMs', 'announce', 'scrape', 'handshakes', 'failure']);
    expect(t.announce).toMatchObject({ interval: 1800, minInterval: 900, seeders: 1, leechers: 2, skipped: 1 });
    expect((doc.trackers as Record<string, unknown>[])[0]).toMatchObject({
      ok: false,
      announce: null,
      failure: { step: 'connect', error: { code: 'TRACKER_REFUSED' } },
    });
    expect((doc.trackers as Record<string, unknown>[])[3]).toMatchObject({
      ok: false,
      announce: { ms: 1.2, error: { code: 'TRACKER_REFUSED' } },
      // `message` is the explanation, `detail` the raw error (issue 17).
      failure: {
        step: 'connect',
        ms: 1.2,
        error: {
          code: 'TRACKER_REFUSED',
          message: 'refused: nothing listens on that port (tracker down or wrong port)',
          detail: 'port unreachable: nothing listens on UDP 127.0.0.1:2 (ECONNREFUSED)',
        },
      },
    });
    expect(Object.keys((doc.trackers as { failure: { error: object } }[])[3]!.failure.error)).toEqual(['code', 'message', 'detail']);
  });

  it('explains an HTTP timeout without blaming UDP, and a UDP one with it (issue 17)', () => {
    const timeout = probeError(new TrackerError('TRACKER_TIMEOUT', 'no answer within 5 s'));
    const at = (url: string): Report => ({ ...report, trackers: [{ url, tier: 1, failure: { step: 'announce', error: timeout }, raw: [] }] });
    const text = (url: string): string => renderReport(at(url), { chalk: new Chalk({ level: 0 }), verbose: false });
    expect(text('http://t.example/announce')).toMatch(
      /announce  failed: timeout: no answer \(host down, or packets dropped by a firewall\); error: no answer within 5 s/,
    );
    expect(text('http://t.example/announce')).not.toContain('UDP');
    expect(text('udp://t.example:1/announce')).toContain('UDP blocked');
    const doc = JSON.parse(JSON.stringify(reportJson(at('https://t.example/announce'), false))) as { trackers: { failure: { error: { message: string } } }[] };
    expect(doc.trackers[0]!.failure.error.message).not.toContain('UDP');
  });

  it('labels the raw exchanges of -v: a UDP packet as hex (issue 17)', () => {
    const r: Report = {
      ...report,
      trackers: [
        {
          url: 'udp://t.example:1/announce',
          tier: 1,
          raw: [{ direction: 'request', text: '0000041727101980' }],
          failure: { step: 'announce', error: probeError(new TrackerError('TRACKER_TIMEOUT', 'x')) },
        },
        {
          url: 'http://t.example/announce',
          tier: 2,
          raw: [{ direction: 'response', text: 'HTTP 200' }],
          failure: { step: 'announce', error: probeError(new TrackerError('TRACKER_TIMEOUT', 'x')) },
        },
      ],
    };
    const text = renderReport(r, { chalk: new Chalk({ level: 0 }), verbose: true });
    expect(text).toContain('  sent hex  0000041727101980');
    expect(text).toContain('  received  HTTP 200');
  });
});
