import { describe, expect, it } from 'vitest';
import { BACKOFF_BASE_MS, MAX_FAILURES } from './backoff.js';
import { CandidateList, MAX_CANDIDATES } from './swarm.js';

const self = (a: { host: string; port: number }): boolean => a.host === '127.0.0.1' && a.port === 6881;

describe('CandidateList', () => {
  it('never offers ourselves, duplicates or banned peers', () => {
    const c = new CandidateList(self, () => 0.5);
    expect(
      c.add(
        [
          { host: '127.0.0.1', port: 6881 },
          { host: '127.0.0.1', port: 7000 },
          { host: '127.0.0.1', port: 7000 },
          { host: '::1', port: 0 },
        ],
        'tracker',
      ),
    ).toBe(1);
    c.add([{ host: '127.0.0.1', port: 7001 }], 'tracker');
    c.ban({ host: '127.0.0.1', port: 7001 });
    expect(c.take(10, 0)).toEqual([{ host: '127.0.0.1', port: 7000 }]);
    expect(c.take(10, 0)).toEqual([]);
    expect(c.markConnected({ host: '127.0.0.1', port: 7001 })).toBe(false);
  });

  it('backs off failures exponentially and forgets hopeless ones', () => {
    const c = new CandidateList(self, () => 0.5);
    const a = { host: '10.0.0.1', port: 1 };
    c.add([a], 'tracker');
    let now = 0;
    for (let i = 1; i < MAX_FAILURES; i++) {
      expect(c.take(1, now)).toEqual([a]);
      c.disconnected(a, true, now);
      expect(c.take(1, now + BACKOFF_BASE_MS * 2 ** (i - 1) - 1)).toEqual([]);
      now += BACKOFF_BASE_MS * 2 ** (i - 1);
    }
    expect(c.take(1, now)).toEqual([a]);
    c.disconnected(a, true, now);
    expect(c.size).toBe(0);
  });

  it('keeps manual peers however often they fail, and prefers them', () => {
    const c = new CandidateList(self, () => 0.5);
    c.add([{ host: 'b', port: 2 }], 'tracker');
    c.add([{ host: 'm', port: 1 }], 'manual');
    expect(c.take(1, 0)).toEqual([{ host: 'm', port: 1 }]);
    for (let i = 0; i < MAX_FAILURES + 2; i++) c.disconnected({ host: 'm', port: 1 }, true, 0);
    expect(c.size).toBe(2);
  });

  it('is bounded', () => {
    const c = new CandidateList(self);
    const many = Array.from({ length: MAX_CANDIDATES + 10 }, (_, i) => ({ host: '10.1.0.1', port: 1000 + i }));
    c.add(many, 'pex');
    expect(c.size).toBe(MAX_CANDIDATES);
  });
});
