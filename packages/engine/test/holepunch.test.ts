import { encodeHolepunch, UT_HOLEPUNCH } from '@tc/wire';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestTorrent } from '@tc/testkit/swarm-fixture';
import { until } from '@tc/testkit/wait';
import { memoryStorage } from '../src/storage/memory.js';
import type { Session } from '../src/session.js';
import type { PeerState } from '../src/torrent/peer-state.js';
import type { Torrent } from '../src/torrent/torrent.js';
import { loopbackSession, sourceOf } from './helpers.js';

// BEP 55 between three tc engines: A and B know only the relay R; A asks R to introduce it to B,
// R sends `connect` to both, and A and B reach each other (over uTP: transport both).

const sessions: Session[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
});

const peersOf = (t: Torrent): PeerState[] => [...(t as unknown as { peers: { values(): Iterable<PeerState> } }).peers.values()];

describe('holepunch through a tc relay', () => {
  it('a rendezvous makes the relay introduce two peers, which then connect', async () => {
    const t = createTestTorrent({ length: 200_000, seed: 55 });
    const src = sourceOf(t);
    const open = async (): Promise<Session> => {
      const s = await loopbackSession({ transport: 'both', encryption: 'prefer' });
      sessions.push(s);
      return s;
    };
    const [r, a, b] = [await open(), await open(), await open()];
    // Nobody has data: connections stay up (nobody finishes and leaves).
    const relay = await r.add(src, { storage: memoryStorage(), noTrackers: true });
    const ta = await a.add(src, { storage: memoryStorage(), noTrackers: true, peers: [{ host: '127.0.0.1', port: r.port }] });
    const tb = await b.add(src, { storage: memoryStorage(), noTrackers: true, peers: [{ host: '127.0.0.1', port: r.port }] });
    // Each side has the other's extended handshake (ut_holepunch advertised).
    const ready = (x: Torrent, n: number): boolean => peersOf(x).filter((p) => p.router.remoteId(UT_HOLEPUNCH) !== undefined).length >= n;
    await until('A, B and R connected with extended handshakes', () => ready(relay, 2) && ready(ta, 1) && ready(tb, 1), { timeoutMs: 10_000 });
    expect(ta.stats().peers).toBe(1);
    const toRelay = peersOf(ta)[0]!;
    toRelay.conn.send({
      type: 'extended',
      id: toRelay.router.remoteId(UT_HOLEPUNCH)!,
      payload: encodeHolepunch({ type: 'rendezvous', ip: '127.0.0.1', port: b.port }),
    });
    await until('A and B connected to each other', () => ta.stats().peers === 2 && tb.stats().peers === 2, { timeoutMs: 10_000 });
    const links = ta.peerList().map((p) => p.link.transport);
    expect(links).toContain('utp');
  });
});
