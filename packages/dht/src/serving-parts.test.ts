import { describe, expect, it } from 'vitest';
import { MAX_PEERS_PER_INFO_HASH, MAX_STORED_INFO_HASHES, MAX_STORED_PEERS, PEER_TTL_MS, PeerStore } from './peer-store.js';
import { RateLimiter } from './rate-limit.js';
import { TOKEN_ROTATE_MS, TokenSecrets } from './tokens.js';

const hash = (n: number): Buffer => {
  const b = Buffer.alloc(20);
  b.writeUInt32BE(n);
  return b;
};

describe('TokenSecrets', () => {
  it('accepts a token from the same IP under the current and the previous secret only', () => {
    const s = new TokenSecrets();
    const tok = s.issue('10.0.0.1');
    expect(s.check(tok, '10.0.0.1')).toBe(true);
    expect(s.check(tok, '10.0.0.2')).toBe(false);
    s.rotate(); // 5 minutes later: still good
    expect(s.check(tok, '10.0.0.1')).toBe(true);
    s.rotate(); // 10 minutes later: gone
    expect(s.check(tok, '10.0.0.1')).toBe(false);
    expect(s.check(Buffer.alloc(3), '10.0.0.1')).toBe(false);
    expect(TOKEN_ROTATE_MS).toBe(300_000);
  });
});

describe('PeerStore', () => {
  it('stores, refreshes, serves by family and expires after 30 minutes', () => {
    const st = new PeerStore();
    st.add(hash(1), { ip: '10.0.0.1', port: 1, family: 4 }, 0);
    st.add(hash(1), { ip: '10.0.0.1', port: 1, family: 4 }, 1000);
    st.add(hash(1), { ip: '::1', port: 2, family: 6 }, 1000);
    expect(st.peers).toBe(2);
    expect(st.get(hash(1), 4, 50, 2000)).toEqual([{ ip: '10.0.0.1', port: 1, family: 4 }]);
    expect(st.get(hash(1), 6, 50, 2000)).toEqual([{ ip: '::1', port: 2, family: 6 }]);
    expect(st.get(hash(1), 4, 50, 1000 + PEER_TTL_MS)).toEqual([]);
    st.sweep(1000 + PEER_TTL_MS);
    expect(st.peers).toBe(0);
    expect(st.infoHashes).toBe(0);
  });

  it('keeps within its caps under a flood, evicting the least recently announced', () => {
    const st = new PeerStore();
    for (let i = 0; i < MAX_PEERS_PER_INFO_HASH + 50; i++) st.add(hash(0), { ip: '10.0.0.1', port: i + 1, family: 4 }, i);
    expect(st.get(hash(0), 4, 10_000, 1000)).toHaveLength(MAX_PEERS_PER_INFO_HASH);
    for (let h = 1; h <= MAX_STORED_INFO_HASHES + 10; h++) {
      for (let p = 1; p <= 30; p++) st.add(hash(h), { ip: '10.0.0.2', port: p, family: 4 }, h);
      expect(st.peers).toBeLessThanOrEqual(MAX_STORED_PEERS);
    }
    expect(st.infoHashes).toBeLessThanOrEqual(MAX_STORED_INFO_HASHES);
    expect(st.get(hash(0), 4, 1, 1000)).toEqual([]); // the first info-hash was evicted
    expect(st.get(hash(MAX_STORED_INFO_HASHES + 10), 4, 100, 1000)).toHaveLength(30);
  });

  it('samples at most `max` peers', () => {
    const st = new PeerStore();
    for (let p = 1; p <= 100; p++) st.add(hash(1), { ip: '10.0.0.1', port: p, family: 4 }, 0);
    const got = st.get(hash(1), 4, 20, 0);
    expect(got).toHaveLength(20);
    expect(new Set(got.map((g) => g.port)).size).toBe(20);
  });
});

describe('RateLimiter', () => {
  const opts = { perKeyPerSecond: 10, perKeyBurst: 5, globalPerSecond: 100, globalBurst: 8, maxKeys: 3 };

  it('allows a burst per key, then the sustained rate', () => {
    const r = new RateLimiter(opts);
    for (let i = 0; i < 5; i++) expect(r.allow('a', 0)).toBe(true);
    expect(r.allow('a', 0)).toBe(false);
    expect(r.allow('a', 99)).toBe(false);
    expect(r.allow('a', 100)).toBe(true); // 10/s: one token per 100 ms
  });

  it('caps all keys together', () => {
    const r = new RateLimiter(opts);
    let allowed = 0;
    for (const k of ['a', 'b', 'c']) for (let i = 0; i < 5; i++) allowed += Number(r.allow(k, 0));
    expect(allowed).toBe(8);
  });

  it('tracks a bounded number of keys', () => {
    const r = new RateLimiter({ ...opts, globalBurst: 1e9, globalPerSecond: 1e9 });
    for (let i = 0; i < 100; i++) r.allow(`k${i}`, i);
    expect(r.keys).toBeLessThanOrEqual(3);
    r.sweep(10_000);
    expect(r.keys).toBe(0);
  });
});
