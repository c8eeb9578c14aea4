import { describe, expect, it } from 'vitest';
import { Diagnoser } from './debounce.js';
import { clip, diagnose, diagnoseMetadata, pieceRanges, type FindingCode } from './diagnose.js';
import type { PeerSnapshot, TorrentSnapshot } from './snapshot.js';

const MiB = 1024 * 1024;

function peer(o: Partial<PeerSnapshot> = {}): PeerSnapshot {
  return {
    address: '10.0.0.1:6881',
    incoming: false,
    chokesUs: false,
    weAreInterested: true,
    interestedInUs: false,
    seeder: true,
    downRateBps: 500_000,
    upRateBps: 0,
    snubbed: false,
    connectedMs: 60_000,
    ...o,
  };
}

/** A healthy download: one fast unchoking seeder, nothing wrong. */
function snap(o: Partial<TorrentSnapshot> = {}): TorrentSnapshot {
  const peers = o.peers ?? [peer()];
  return {
    state: 'downloading',
    pieceCount: 100,
    piecesHave: 10,
    wantedLeft: 90,
    downRateBps: 500_000,
    upRateBps: 0,
    trackers: [{ url: 'http://t.example/announce', state: 'ok', failures: 0, peers: 1 }],
    candidates: peers.length,
    candidatesBySource: { tracker: peers.length },
    dials: { attempts: 1, connected: 1, failed: {} },
    incomingEver: 0,
    peerCount: peers.length,
    unavailableWanted: 0,
    unavailableWantedSample: [],
    unavailableUnwanted: 0,
    fileGaps: [],
    maxPeers: 50,
    writeBacklogBytes: 0,
    maxWriteBacklogBytes: 24 * MiB,
    verifyingPieces: 0,
    hashFailures: 0,
    wasteBytes: 0,
    banned: [],
    ...o,
    peers,
  };
}

const codes = (s: TorrentSnapshot): FindingCode[] => diagnose(s).map((f) => f.code);

describe('diagnose (issue 15)', () => {
  it('finds nothing in a healthy download, a finished one or a paused one', () => {
    expect(diagnose(snap())).toEqual([]);
    expect(diagnose(snap({ state: 'seeding', wantedLeft: 0, peers: [] }))).toEqual([]);
    expect(diagnose(snap({ state: 'paused', peers: [], candidates: 0 }))).toEqual([]);
  });

  it('no peers known: names each tracker with its error, the DHT and the advice', () => {
    const s = snap({
      peers: [],
      candidates: 0,
      candidatesBySource: {},
      dials: { attempts: 0, connected: 0, failed: {} },
      trackers: [
        { url: 'udp://a.example:1337', state: 'failed', failures: 3, error: 'timed out after 15 s' },
        { url: 'http://b.example/announce', state: 'failed', failures: 1, error: 'HTTP 404' },
      ],
      dhtNodes: 0,
    });
    const [f] = diagnose(s);
    expect(f!.code).toBe('no-peers-known');
    expect(f!.text).toBe('no peers known: udp://a.example:1337: timed out after 15 s; http://b.example/announce: HTTP 404; DHT: 0 nodes; no PEX/LSD source');
    expect(f!.advice).toMatch(/tc-debug-tracker.*tc-enhance.*tc-netcheck/);
    expect(f!.facts['dhtNodes']).toBe(0);
  });

  it('no peers known: a torrent without trackers, and no DHT running', () => {
    const f = diagnose(snap({ peers: [], candidates: 0, trackers: [] }))[0]!;
    expect(f.text).toBe('no peers known: the torrent lists no trackers; no DHT; no PEX/LSD source');
  });

  it('escapes and cuts a hostile tracker error', () => {
    const evil = `\u001b]0;pwned\u0007${'x'.repeat(500)}`;
    const f = diagnose(snap({ peers: [], candidates: 0, trackers: [{ url: 'http://t/', state: 'failed', failures: 1, error: evil }] }))[0]!;
    expect(f.text).not.toMatch(/[\u0000-\u001f]/);
    expect(f.text.length).toBeLessThan(300);
    expect(clip('\u202eabc')).toBe('\\u202eabc');
  });

  it('peers known but none connect: shares of each reason, and that nobody reached us', () => {
    const f = diagnose(snap({ peers: [], candidates: 4, dials: { attempts: 8, connected: 0, failed: { refused: 6, 'timed-out': 2 } } }))[0]!;
    expect(f.code).toBe('peers-unreachable');
    expect(f.text).toBe('peers known but none connect: 4 addresses, 8 failed dials (75% refused, 25% timed-out); nobody has connected to us either');
    expect(f.advice).toMatch(/not reachable.*tc-netcheck/);
    const g = diagnose(snap({ peers: [], candidates: 1, incomingEver: 2, dials: { attempts: 1, connected: 0, failed: { reset: 1 } } }))[0]!;
    expect(g.text).toBe('peers known but none connect: 1 address, 1 failed dial (100% reset)');
  });

  it('addresses that all failed and were forgotten still read as none connect, with the advice for the main reason', () => {
    const f = diagnose(
      snap({ peers: [], candidates: 0, candidatesBySource: { manual: 2 }, dials: { attempts: 5, connected: 0, failed: { 'timed-out': 5 } } }),
    )[0]!;
    expect(f.text).toBe('peers known but none connect: 2 addresses, 5 failed dials (100% timed-out); nobody has connected to us either');
    expect(f.advice).toMatch(/^the peers do not answer/);
  });

  it('dials still in flight with no failure yet: nothing to say', () => {
    expect(diagnose(snap({ peers: [], candidates: 3, dials: { attempts: 3, connected: 0, failed: {} } }))).toEqual([]);
  });

  it('choked by all: counts seeders and interested peers, and blames our upload cap when we hit it', () => {
    const peers = [peer({ chokesUs: true }), peer({ chokesUs: true, seeder: false, interestedInUs: true }), peer({ weAreInterested: false })];
    const f = diagnose(snap({ peers, downRateBps: 0 }))[0]!;
    expect(f.code).toBe('choked-by-all');
    expect(f.text).toBe('choked by all 2 peers that have what we want (1 seeding, 1 interested in us); uploading 0 B/s');
    const capped = diagnose(snap({ peers, downRateBps: 0, upRateBps: 9_000, upLimitBps: 10_000 }))[0]!;
    expect(capped.text).toMatch(/at our upload limit$/);
    expect(capped.advice).toMatch(/--limit-up/);
  });

  it('swarm lacks pieces: names the files and the share of each that cannot complete', () => {
    const f = diagnose(
      snap({
        peers: [peer({ seeder: false, downRateBps: 0 })],
        unavailableWanted: 10,
        unavailableWantedSample: [10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
        fileGaps: [
          { path: 'dir/b.bin', wanted: true, unavailablePieces: 6, pieces: 6 },
          { path: 'dir/c.bin', wanted: true, unavailablePieces: 4, pieces: 8 },
        ],
      }),
    )[0]!;
    expect(f.code).toBe('swarm-lacks-pieces');
    expect(f.text).toBe('10 pieces (2 files) are on no connected peer: dir/b.bin 100%, dir/c.bin 50%; waiting for a seeder');
    expect(f.facts['sample']).toBe('10-19');
  });

  it('when only unselected files lack pieces, says the wanted ones can complete', () => {
    const s = snap({ unavailableUnwanted: 10, fileGaps: [{ path: 'b.bin', wanted: false, unavailablePieces: 10, pieces: 10 }] });
    const f = diagnose(s)[0]!;
    expect(f.code).toBe('unwanted-pieces-missing');
    expect(f.text).toMatch(/the wanted files can complete$/);
  });

  it('limited by ourselves: download limit, peer cap, disk backlog, hashing', () => {
    expect(codes(snap({ downLimitBps: 100_000, downRateBps: 95_000 }))).toEqual(['download-limit']);
    expect(codes(snap({ downLimitBps: 100_000, downRateBps: 10_000, peers: [peer({ downRateBps: 10_000 })] }))).toEqual(['slow-peers']);
    const full = Array.from({ length: 2 }, (_, i) => peer({ address: `10.0.0.${i}:1`, downRateBps: 1_000 }));
    expect(codes(snap({ peers: full, maxPeers: 2, candidates: 40 }))).toEqual(['peer-cap', 'slow-peers']);
    expect(codes(snap({ writeBacklogBytes: 23 * MiB }))).toEqual(['disk-backlog']);
    expect(codes(snap({ verifyingPieces: 40 }))).toEqual(['verify-backlog']);
  });

  it('corrupt data names the banned peer and the waste', () => {
    const f = diagnose(snap({ hashFailures: 3, wasteBytes: 3 * 262144, banned: [{ address: '10.0.0.9:6881', reason: 'sent 3 bad pieces' }] }))[0]!;
    expect(f.code).toBe('corrupt-data');
    expect(f.text).toBe('corrupt data: 3 hash failures, 768 KiB wasted; banned 10.0.0.9:6881');
  });

  it('slow peers only: snubbed peers and long latency', () => {
    const peers = [peer({ downRateBps: 2_000, responseMs: 8_000 }), peer({ downRateBps: 0, snubbed: true })];
    const f = diagnose(snap({ peers, downRateBps: 2_000 }))[0]!;
    expect(f.text).toBe('slow peers only: 2 peers sending, each below 16.0 KiB/s, 1 snubbed, requests take up to 8.0 s');
  });

  it('metadata not arriving: no offer, rejects, sizes disagreeing', () => {
    const m = (o: object) => snap({ metadata: { peers: 2, offering: 0, rejects: 0, sizes: [], elapsedMs: 30_000, ...o } });
    expect(diagnose(m({}))[0]!.text).toBe('metadata not arriving: none of 2 peers offers it');
    expect(diagnose(m({ offering: 2, sizes: [100, 200] }))[0]!.text).toBe('metadata not arriving: peers disagree on its size (100, 200 bytes)');
    expect(diagnose(m({ offering: 1, rejects: 4, sizes: [100] }))[0]!.text).toBe('metadata not arriving: 4 requests rejected by 1 offering peer');
    expect(codes(m({ peers: 0 }))).toEqual(['metadata-not-arriving']);
  });

  it('a magnet fetch going well has no finding', () => {
    expect(diagnoseMetadata({ peers: 2, offering: 1, rejects: 0, sizes: [100], elapsedMs: 1_000 })).toEqual([]);
    expect(diagnoseMetadata({ peers: 0, offering: 0, rejects: 0, sizes: [], elapsedMs: 1_000 }).map((f) => f.text)).toEqual([
      'metadata not arriving: no peer connected yet',
    ]);
  });

  it('orders several findings most blocking first', () => {
    const s = snap({
      peers: [peer({ chokesUs: true, downRateBps: 0 })],
      downRateBps: 0,
      unavailableWanted: 5,
      unavailableWantedSample: [1, 2, 3, 4, 5],
      fileGaps: [{ path: 'a', wanted: true, unavailablePieces: 5, pieces: 10 }],
      writeBacklogBytes: 24 * MiB,
      hashFailures: 1,
      wasteBytes: 16384,
    });
    expect(codes(s)).toEqual(['swarm-lacks-pieces', 'choked-by-all', 'disk-backlog', 'corrupt-data']);
  });

  it('pieceRanges folds runs', () => {
    expect(pieceRanges([1, 2, 3, 5, 7, 8])).toBe('1-3, 5, 7-8');
    expect(pieceRanges([])).toBe('');
  });
});

describe('Diagnoser: no flicker', () => {
  const f = (s: TorrentSnapshot) => diagnose(s);
  const stuck = snap({ peers: [], candidates: 0 });
  it('shows a finding only after it held for 5 s, clears it after 3 s without it', () => {
    const d = new Diagnoser();
    expect(d.update(f(stuck), 0).findings).toEqual([]);
    expect(d.update(f(stuck), 4_000).findings).toEqual([]);
    const r = d.update(f(stuck), 5_000);
    expect(r.changed).toBe(true);
    expect(r.findings.map((x) => x.code)).toEqual(['no-peers-known']);
    expect(r.findings[0]!.facts['heldS']).toBe(5);
    // One healthy second does not clear it.
    expect(d.update(f(snap()), 6_000).findings.map((x) => x.code)).toEqual(['no-peers-known']);
    expect(d.update(f(stuck), 7_000).changed).toBe(false);
    expect(d.update(f(snap()), 8_000).findings).toHaveLength(1);
    const gone = d.update(f(snap()), 10_000);
    expect(gone).toEqual({ findings: [], changed: true });
  });

  it('a finding that comes and goes within the hold never shows', () => {
    const d = new Diagnoser();
    for (let t = 0; t < 30_000; t += 2_000) expect(d.update(f(t % 4_000 === 0 ? stuck : snap()), t).findings).toEqual([]);
  });
});

describe('web seeds in the diagnosis (BEP 19)', () => {
  const none = { peers: [], candidates: 0, candidatesBySource: {}, dials: { attempts: 0, connected: 0, failed: {} }, trackers: [] };
  it('a failing web seed is named with its state and reason; a working one hides no-peers-known', () => {
    const s = snap({
      webSeeds: [
        { url: 'http://m.example/a/', state: 'dropped', reason: 'no Range support (HTTP 200 with the whole file for a range request)', downloaded: 0 },
        { url: 'http://m.example/b/', state: 'backoff', reason: 'HTTP 503', downloaded: 5 },
        { url: 'http://m.example/c/', state: 'active', downloaded: 9 },
      ],
    });
    const f = diagnose(s).find((x) => x.code === 'web-seed-failing')!;
    expect(f.text).toMatch(/^2 web seeds of 3 failing: http:\/\/m\.example\/a\/ dropped: no Range support.*; http:\/\/m\.example\/b\/ backed off: HTTP 503$/);
    expect(f.facts['webSeeds']).toEqual([
      { url: 'http://m.example/a/', state: 'dropped', reason: 'no Range support (HTTP 200 with the whole file for a range request)', downloaded: 0 },
      { url: 'http://m.example/b/', state: 'backoff', reason: 'HTTP 503', downloaded: 5 },
    ]);
    expect(codes(snap({ ...none, webSeeds: [{ url: 'http://m/', state: 'active', downloaded: 1 }] }))).not.toContain('no-peers-known');
    expect(codes(snap({ ...none, webSeeds: [{ url: 'http://m/', state: 'dropped', reason: 'HTTP 404: file not found', downloaded: 0 }] }))).toEqual([
      'no-peers-known',
      'web-seed-failing',
    ]);
  });
});
