import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePex, encodePex, isWireError, type PexMessage, type PexPeer } from '@tc/wire';
import type { PeerState } from '../torrent/peer-state.js';
import { PEX_FIRST_DELAY_MS, PEX_INTERVAL_MS, PEX_MAX_ADDED, PEX_MAX_DROPPED, pexCandidates, pexDiff, TorrentPex, usablePexAddress } from './pex.js';

const notSelf = (): boolean => false;

function peer(i: number, flags = 0): PexPeer {
  return { ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 1000 + (i % 60000), flags };
}

describe('ut_pex (BEP 11) pure parts', () => {
  it('keeps only dialable addresses', () => {
    expect(usablePexAddress({ ip: '10.0.0.1', port: 6881 })).toBe(true);
    expect(usablePexAddress({ ip: '::1', port: 6881 })).toBe(true);
    for (const bad of [
      { ip: '0.0.0.0', port: 6881 },
      { ip: '224.0.0.1', port: 6881 },
      { ip: '255.255.255.255', port: 6881 },
      { ip: '::', port: 6881 },
      { ip: 'ff02::1', port: 6881 },
      { ip: 'example.com', port: 6881 },
      { ip: '10.0.0.1', port: 0 },
      { ip: '10.0.0.1', port: 70000 },
    ])
      expect(usablePexAddress(bad), JSON.stringify(bad)).toBe(false);
  });

  it('takes at most 50 added per message and what room is left, never ourselves or a repeat', () => {
    const added = Array.from({ length: 100 }, (_, i) => peer(i));
    const m: PexMessage = { added: [{ ip: '127.0.0.1', port: 5000, flags: 0 }, peer(0), ...added], dropped: [] };
    const self = (a: { host: string; port: number }): boolean => a.host === '127.0.0.1' && a.port === 5000;
    const r = pexCandidates(m, self, 1_000);
    expect(r.peers).toHaveLength(PEX_MAX_ADDED);
    expect(r.peers.some((p) => p.host === '127.0.0.1')).toBe(false);
    expect(new Set(r.peers.map((p) => `${p.host}:${p.port}`)).size).toBe(r.peers.length);
    expect(pexCandidates(m, notSelf, 3).peers).toHaveLength(3);
    expect(pexCandidates(m, notSelf, 0).peers).toHaveLength(0);
  });

  it('says what is new and what is gone, within BEP 11 limits', () => {
    const current = new Map(Array.from({ length: 120 }, (_, i) => [`k${i}`, peer(i)] as const));
    const told = new Map(Array.from({ length: 80 }, (_, i) => [`old${i}`, { ip: '10.9.9.9', port: 2000 + i }] as const));
    const d = pexDiff(current, told);
    expect(d.added).toHaveLength(PEX_MAX_ADDED);
    expect(d.dropped).toHaveLength(PEX_MAX_DROPPED);
    // The message encodes and decodes back (what libtorrent reads).
    const back = decodePex(encodePex(d));
    expect(back.added).toHaveLength(PEX_MAX_ADDED);
    expect(back.dropped).toHaveLength(PEX_MAX_DROPPED);
    expect(pexDiff(new Map([['a', peer(1)]]), new Map([['a', peer(1)]]))).toEqual({ added: [], dropped: [] });
  });

  it('hostile payloads: a typed wire error or a bounded list, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4_000 }), (bytes) => {
        let m: PexMessage;
        try {
          m = decodePex(bytes);
        } catch (e) {
          expect(isWireError(e)).toBe(true);
          return;
        }
        expect(pexCandidates(m, notSelf, 10_000).peers.length).toBeLessThanOrEqual(PEX_MAX_ADDED);
      }),
      { numRuns: 3_000 },
    );
    // Well-formed but huge and full of junk: still bounded.
    const junk = Array.from({ length: 5_000 }, (_, i) => ({ ip: i % 2 ? '0.0.0.0' : `10.0.${(i >> 8) & 255}.${i & 255}`, port: 1 + i, flags: 0xff }));
    const m = decodePex(encodePex({ added: junk, dropped: junk }));
    expect(m.truncated).toBe(true);
    const r = pexCandidates(m, notSelf, 10_000);
    expect(r.peers.length).toBeLessThanOrEqual(PEX_MAX_ADDED);
    expect(r.peers.every((p) => p.host !== '0.0.0.0')).toBe(true);
  });

  it('never tells two peers of each other in the same round (they would dial each other at once)', () => {
    const sent = new Map<number, PexMessage[]>();
    const fake = (port: number) =>
      ({
        conn: {
          outgoing: true,
          isClosed: false,
          address: { host: '127.0.0.1', port },
          send: (m: { payload: Uint8Array }) => sent.set(port, [...(sent.get(port) ?? []), decodePex(m.payload)]),
        },
        router: { remoteId: () => 2, peer: undefined },
        bitfield: { count: 0 },
      }) as unknown as PeerState;
    const a = fake(1001);
    const c = fake(1002);
    const pex = new TorrentPex({ isSelf: () => false, addPeers: () => undefined, pieceCount: 4 });
    pex.tick([a, c], 0);
    pex.tick([a, c], PEX_FIRST_DELAY_MS);
    const ports = (p: number) => (sent.get(p) ?? []).flatMap((m) => m.added.map((x) => x.port));
    // C (the newer peer) hears of A now and dials it; A hears of C only in the next round.
    expect(ports(1002)).toEqual([1001]);
    expect(ports(1001)).toEqual([]);
    pex.tick([a, c], PEX_FIRST_DELAY_MS + PEX_INTERVAL_MS);
    expect(ports(1002)).toEqual([1001]);
    expect(ports(1001)).toEqual([1002]);
  });
});
