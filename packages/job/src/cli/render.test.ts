import { describe, expect, it } from 'vitest';
import { EngineError, type TorrentStats } from '@tc/engine';
import { etaSeconds, seedText, statusJson, statusText, summaryText, trackerFailures } from './render.js';

const stats: TorrentStats = {
  state: 'downloading',
  pieceCount: 100,
  piecesHave: 25,
  totalBytes: 100 * 1048576,
  haveBytes: 25 * 1048576,
  downloaded: 26 * 1048576,
  uploaded: 0,
  left: 75 * 1048576,
  downRateBps: 5 * 1048576,
  upRateBps: 1024,
  peers: 3,
  peersUsed: 4,
  candidates: 9,
  hashFailures: 1,
  wasteBytes: 16384,
  endgame: false,
};

describe('render', () => {
  it('status line', () => {
    expect(statusText(stats)).toBe('25.0 MiB/100 MiB  ↓ 5.00 MiB/s  ↑ 1.00 KiB/s  ETA 15s  pieces 25/100  peers 3  hash failures 1');
    expect(etaSeconds({ ...stats, downRateBps: 0 })).toBe(Infinity);
  });

  it('json status', () => {
    expect(statusJson('x', 'ab', stats, 1.23456, false)).toMatchObject({ type: 'status', percent: 25, etaS: 15, peers: 3, peersUsed: 4, elapsedS: 1.235 });
    expect(statusJson('x', 'ab', { ...stats, downRateBps: 0 }, 1, true)).toMatchObject({ type: 'summary', etaS: null });
    expect(statusJson('x', 'ab', stats, 1, false)).not.toHaveProperty('error');
    const disk = new EngineError('ENGINE_DISK', 'cannot write /d/x: ENOSPC');
    expect(statusJson('x', 'ab', { ...stats, state: 'upload-only', error: disk }, 1, false)).toMatchObject({
      state: 'upload-only',
      error: { code: 'ENGINE_DISK', message: 'cannot write /d/x: ENOSPC' },
    });
  });

  it('summary, sanitized', () => {
    expect(summaryText('evil\u001b[31mname', { ...stats, downloaded: 100 * 1048576 }, 10, '/tmp/out')).toBe(
      [
        'downloaded evil\\x1b[31mname',
        '  bytes:         100 MiB (104857600 bytes, 100 pieces verified)',
        '  time:          10s (10.00 s)',
        '  average speed: 10.0 MiB/s',
        '  peers used:    4',
        '  hash failures: 1',
        '  saved in:      /tmp/out',
      ].join('\n'),
    );
  });

  it('seeding line: with a --seed goal, how far along it is (issue 17)', () => {
    const seeding = { ...stats, uploaded: 50 * 1048576 };
    expect(seedText(seeding)).toBe('↑ 1.00 KiB/s  uploaded 50.0 MiB  ratio 0.50  peers 3');
    expect(seedText(seeding, { kind: 'forever' }, 1000)).toBe('↑ 1.00 KiB/s  uploaded 50.0 MiB  ratio 0.50  peers 3');
    expect(seedText(seeding, { kind: 'ratio', ratio: 2 }, 1000)).toBe('↑ 1.00 KiB/s  uploaded 50.0 MiB  ratio 0.50 of 2  peers 3');
    expect(seedText(seeding, { kind: 'time', ms: 1_800_000 }, 600_000)).toBe('↑ 1.00 KiB/s  uploaded 50.0 MiB  ratio 0.50  peers 3  stops in 20m00s');
  });

  it('tracker failures', () => {
    expect(trackerFailures([])).toBe('the torrent lists no trackers');
  });
});
