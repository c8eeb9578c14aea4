import { describe, expect, it } from 'vitest';
import { EngineBug } from '../errors.js';
import { Choker, NEW_PEER_MS, OPTIMISTIC_INTERVAL_MS, RECHOKE_INTERVAL_MS, rechoke, type ChokeDecision, type ChokerPeer } from './choker.js';

/** A deterministic uniform generator (LCG), so every run picks the same optimistic peers. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const OLD = -1_000_000;

function peer(id: string, over: Partial<ChokerPeer> = {}): ChokerPeer {
  return {
    id,
    interested: true,
    amInterested: true,
    downloadBps: 0,
    uploadBps: 0,
    snubbed: false,
    choked: true,
    connectedAt: OLD,
    ...over,
  };
}

/** Applies a decision to the snapshot, as the engine would by sending the messages. */
function apply(peers: ChokerPeer[], d: ChokeDecision): ChokerPeer[] {
  return peers.map((p) => ({ ...p, choked: !d.unchoke.has(p.id) }));
}

function sorted(s: ReadonlySet<string>): string[] {
  return [...s].sort();
}

describe('rechoke: regular slots', () => {
  it('leeching: unchokes the interested peers that give us most, plus one optimistic', () => {
    const peers = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((id, i) => peer(id, { downloadBps: (i + 1) * 1000 }));
    const d = rechoke({ peers, mode: 'leeching', optimistic: undefined, now: 0, random: () => 0 });
    // random 0 picks the first choked interested peer as optimistic: a. Then 3 regular: g, f, e.
    expect(d.optimistic).toEqual({ id: 'a', since: 0 });
    expect(sorted(d.unchoke)).toEqual(['a', 'e', 'f', 'g']);
    expect(d.unchoke.size).toBe(4);
    expect(d.nextRunAt).toBe(RECHOKE_INTERVAL_MS);
    expect([...d.toUnchoke].sort()).toEqual(['a', 'e', 'f', 'g']);
    expect(d.toChoke).toEqual([]);
  });

  it('respects the slot count, whatever it is', () => {
    const peers = Array.from({ length: 30 }, (_, i) => peer(`p${i}`, { downloadBps: i }));
    for (const slots of [1, 2, 4, 8, 29, 30, 50]) {
      const d = rechoke({ peers, mode: 'leeching', slots, optimistic: undefined, now: 0, random: lcg(slots) });
      const interestedUnchoked = [...d.unchoke].filter((id) => peers.find((p) => p.id === id)!.interested);
      expect(interestedUnchoked.length).toBe(Math.min(slots, 30));
    }
  });

  it('seeding: ranks by the rate we upload to them and ignores what they give us', () => {
    const peers = [
      peer('fastup', { uploadBps: 9000, choked: false }),
      peer('midup', { uploadBps: 5000, choked: false }),
      peer('slowup', { uploadBps: 100, choked: false }),
      peer('giver', { downloadBps: 1e9, uploadBps: 0 }),
      peer('x', { uploadBps: 3000, choked: false }),
    ];
    const d = rechoke({ peers, mode: 'seeding', slots: 4, optimistic: { id: 'x', since: 0 }, now: 1000 });
    expect(sorted(d.unchoke)).toEqual(['fastup', 'midup', 'slowup', 'x']);
    expect(d.toChoke).toEqual([]);
  });

  it('seeding: peers that are not interested are never unchoked', () => {
    const peers = [peer('seed', { interested: false, uploadBps: 0 }), peer('l', { uploadBps: 10 })];
    const d = rechoke({ peers, mode: 'seeding', optimistic: undefined, now: 0, random: () => 0.99 });
    expect(sorted(d.unchoke)).toEqual(['l']);
  });

  it('leeching: a faster peer that is not interested is unchoked too, without taking a slot (BEP 3)', () => {
    const peers = [
      peer('fast-uninterested', { interested: false, downloadBps: 50_000 }),
      peer('a', { downloadBps: 4000 }),
      peer('b', { downloadBps: 3000 }),
      peer('c', { downloadBps: 2000 }),
      peer('d', { downloadBps: 1000 }),
      peer('slow-uninterested', { interested: false, downloadBps: 10 }),
    ];
    const d = rechoke({ peers, mode: 'leeching', slots: 4, optimistic: { id: 'd', since: 0 }, now: 5000 });
    expect(sorted(d.unchoke)).toEqual(['a', 'b', 'c', 'd', 'fast-uninterested']);
  });

  it('ties keep the status quo: an already unchoked peer is not swapped for an equal one', () => {
    const peers = [peer('new1'), peer('new2'), peer('old', { choked: false }), peer('opt', { choked: false })];
    const d = rechoke({ peers, mode: 'leeching', slots: 2, optimistic: { id: 'opt', since: 0 }, now: 10_000 });
    expect(sorted(d.unchoke)).toEqual(['old', 'opt']);
    expect(d.toUnchoke).toEqual([]);
    expect(d.toChoke).toEqual([]);
  });

  it('rejects a non-positive slot count as a bug', () => {
    expect(() => rechoke({ peers: [], mode: 'leeching', slots: 0, optimistic: undefined, now: 0 })).toThrow(EngineBug);
  });

  it('no peers: nothing to do, still schedules the next run', () => {
    const d = rechoke({ peers: [], mode: 'seeding', optimistic: { id: 'gone', since: 0 }, now: 42 });
    expect(d.unchoke.size).toBe(0);
    expect(d.optimistic).toBeUndefined();
    expect(d.nextRunAt).toBe(42 + RECHOKE_INTERVAL_MS);
  });
});

describe('rechoke: snubbed peers', () => {
  it('a snubbed peer loses its regular slot even with the best rate', () => {
    const peers = [
      peer('snub', { downloadBps: 1e6, snubbed: true, choked: false }),
      peer('a', { downloadBps: 300, choked: false }),
      peer('b', { downloadBps: 200 }),
      peer('c', { downloadBps: 100 }),
      peer('opt', { choked: false }),
    ];
    const d = rechoke({ peers, mode: 'leeching', optimistic: { id: 'opt', since: 0 }, now: 10_000 });
    expect(d.unchoke.has('snub')).toBe(false);
    expect(d.toChoke).toEqual(['snub']);
    expect(sorted(d.unchoke)).toEqual(['a', 'b', 'c', 'opt']);
  });

  it('a snubbed peer can still be the optimistic unchoke', () => {
    const peers = [peer('snub', { snubbed: true }), peer('a', { downloadBps: 10, choked: false })];
    const d = rechoke({ peers, mode: 'leeching', optimistic: undefined, now: 0, random: () => 0 });
    expect(d.optimistic?.id).toBe('snub');
    expect(sorted(d.unchoke)).toEqual(['a', 'snub']);
  });
});

describe('rechoke: interest changes', () => {
  it('a peer that loses interest frees its slot for the next best', () => {
    let peers = ['a', 'b', 'c', 'd', 'e'].map((id, i) => peer(id, { downloadBps: 1000 * (5 - i) }));
    const opt = { id: 'e', since: 0 };
    let d = rechoke({ peers, mode: 'leeching', optimistic: opt, now: 0 });
    expect(sorted(d.unchoke)).toEqual(['a', 'b', 'c', 'e']);
    peers = apply(peers, d).map((p) => (p.id === 'b' ? { ...p, interested: false, downloadBps: 0 } : p));
    d = rechoke({ peers, mode: 'leeching', optimistic: d.optimistic, now: 2000 });
    expect(sorted(d.unchoke)).toEqual(['a', 'c', 'd', 'e']);
    expect(d.toChoke).toEqual(['b']);
    expect(d.toUnchoke).toEqual(['d']);
  });

  it('a fast unchoked peer that becomes interested takes the slot of the slowest downloader', () => {
    let peers = [
      peer('fast', { interested: false, downloadBps: 9000 }),
      peer('a', { downloadBps: 3000 }),
      peer('b', { downloadBps: 2000 }),
      peer('c', { downloadBps: 1000 }),
      peer('opt'),
    ];
    let d = rechoke({ peers, mode: 'leeching', optimistic: { id: 'opt', since: 0 }, now: 0 });
    expect(sorted(d.unchoke)).toEqual(['a', 'b', 'c', 'fast', 'opt']);
    peers = apply(peers, d).map((p) => (p.id === 'fast' ? { ...p, interested: true } : p));
    d = rechoke({ peers, mode: 'leeching', optimistic: d.optimistic, now: 1000 });
    expect(sorted(d.unchoke)).toEqual(['a', 'b', 'fast', 'opt']);
    expect(d.toChoke).toEqual(['c']);
  });

  it('the optimistic peer is replaced at once when it loses interest', () => {
    const peers = [peer('opt', { interested: false, choked: false }), peer('x')];
    const d = rechoke({ peers, mode: 'seeding', optimistic: { id: 'opt', since: 0 }, now: 1000, random: () => 0 });
    expect(d.optimistic).toEqual({ id: 'x', since: 1000 });
    expect(d.toChoke).toEqual(['opt']);
  });

  it('the optimistic peer is replaced at once when it disconnects', () => {
    const d = rechoke({ peers: [peer('x')], mode: 'seeding', optimistic: { id: 'gone', since: 0 }, now: 1000, random: () => 0 });
    expect(d.optimistic).toEqual({ id: 'x', since: 1000 });
  });
});

describe('rechoke: optimistic rotation', () => {
  it('rotates every 30 s and not before, across 10 s runs', () => {
    const choker = new Choker({ random: lcg(1) });
    let peers = Array.from({ length: 10 }, (_, i) => peer(`p${i}`));
    const seen: { t: number; id: string | undefined }[] = [];
    for (let t = 0; t <= 180_000; t += RECHOKE_INTERVAL_MS) {
      expect(choker.due(t)).toBe(true);
      const d = choker.run(peers, 'seeding', t);
      expect(choker.due(t + RECHOKE_INTERVAL_MS - 1)).toBe(false);
      peers = apply(peers, d);
      seen.push({ t, id: d.optimistic?.id });
    }
    for (const s of seen) {
      const start = seen.find((x) => x.t === Math.floor(s.t / OPTIMISTIC_INTERVAL_MS) * OPTIMISTIC_INTERVAL_MS)!;
      expect(s.id, `at ${s.t}`).toBe(start.id);
    }
    // A new optimistic peer each 30 s (never the outgoing one again at once).
    for (let t = OPTIMISTIC_INTERVAL_MS; t <= 180_000; t += OPTIMISTIC_INTERVAL_MS) {
      const before = seen.find((x) => x.t === t - RECHOKE_INTERVAL_MS)!.id;
      const after = seen.find((x) => x.t === t)!.id;
      expect(after).not.toBe(before);
    }
  });

  it('an early run (an event between rounds) does not rotate it', () => {
    const peers = [peer('a'), peer('b'), peer('c')];
    const d1 = rechoke({ peers, mode: 'seeding', slots: 1, optimistic: undefined, now: 0, random: () => 0 });
    const d2 = rechoke({ peers: apply(peers, d1), mode: 'seeding', slots: 1, optimistic: d1.optimistic, now: 29_999, random: () => 0.99 });
    expect(d2.optimistic).toEqual(d1.optimistic);
    const d3 = rechoke({ peers: apply(peers, d2), mode: 'seeding', slots: 1, optimistic: d2.optimistic, now: 30_000, random: () => 0.99 });
    expect(d3.optimistic?.id).not.toBe(d1.optimistic?.id);
  });

  it('keeps the only candidate with a fresh turn', () => {
    const d = rechoke({ peers: [peer('only', { choked: false })], mode: 'seeding', optimistic: { id: 'only', since: 0 }, now: 30_000 });
    expect(d.optimistic).toEqual({ id: 'only', since: 30_000 });
  });

  it('is picked among choked interested peers only', () => {
    const peers = [peer('unch', { choked: false, downloadBps: 100 }), peer('bored', { interested: false }), peer('c')];
    for (const r of [0, 0.3, 0.6, 0.99]) {
      const d = rechoke({ peers, mode: 'leeching', optimistic: undefined, now: 0, random: () => r });
      expect(d.optimistic?.id).toBe('c');
    }
  });

  it('new peers are three times as likely to be picked', () => {
    const now = 1_000_000;
    const peers = [peer('new', { connectedAt: now - NEW_PEER_MS + 1 }), peer('old1'), peer('old2'), peer('old3')];
    const count = new Map<string, number>();
    const random = lcg(99);
    const N = 60_000;
    for (let i = 0; i < N; i++) {
      const d = rechoke({ peers, mode: 'seeding', slots: 1, optimistic: undefined, now, random });
      const id = d.optimistic!.id;
      count.set(id, (count.get(id) ?? 0) + 1);
    }
    // Weights 3:1:1:1 → the new peer half the time, each old one a sixth.
    expect(count.get('new')! / N).toBeCloseTo(0.5, 1);
    for (const id of ['old1', 'old2', 'old3']) expect(count.get(id)! / N).toBeCloseTo(1 / 6, 1);
  });

  it('deterministic: the same random gives the same sequence', () => {
    const run = (): (string | undefined)[] => {
      const c = new Choker({ random: lcg(5) });
      let peers = Array.from({ length: 8 }, (_, i) => peer(`p${i}`, { downloadBps: i % 3 }));
      const out: (string | undefined)[] = [];
      for (let t = 0; t < 300_000; t += RECHOKE_INTERVAL_MS) {
        const d = c.run(peers, 'leeching', t);
        peers = apply(peers, d);
        out.push(c.optimisticPeer, ...sorted(d.unchoke));
      }
      return out;
    };
    expect(run()).toEqual(run());
  });
});

describe('rechoke: a swarm over time', () => {
  it('tit-for-tat: the peers that upload to us end up holding the regular slots', () => {
    const choker = new Choker({ random: lcg(3) });
    // Four reciprocating peers, six free riders.
    let peers = [...['r1', 'r2', 'r3', 'r4'].map((id) => peer(id, { downloadBps: 5000 })), ...Array.from({ length: 6 }, (_, i) => peer(`free${i}`))];
    let freeRiderRegularRounds = 0;
    for (let t = 0; t < 600_000; t += RECHOKE_INTERVAL_MS) {
      const d = choker.run(peers, 'leeching', t);
      peers = apply(peers, d);
      const regular = [...d.unchoke].filter((id) => id !== d.optimistic?.id);
      freeRiderRegularRounds += regular.filter((id) => id.startsWith('free')).length;
      expect(d.unchoke.size).toBeLessThanOrEqual(4);
    }
    expect(freeRiderRegularRounds).toBe(0);
  });
});
