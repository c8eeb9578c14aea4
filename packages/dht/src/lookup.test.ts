import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { compareDistance, endpointKey, type Contact } from './ids.js';
import { ALPHA, Lookup, MAX_QUERIES_PER_LOOKUP, type Seed } from './lookup.js';
import type { ResponseBody } from './krpc.js';

/** The nodes of a simulated network (their views of each other are set up per test). */
function network(n: number, seed = 'net'): Contact[] {
  return Array.from({ length: n }, (_, i) => ({
    id: createHash('sha1').update(`${seed}-${i}`).digest(),
    ip: '127.0.0.1',
    port: 10_000 + i,
    family: 4 as const,
  }));
}

function closestOf(nodes: readonly Contact[], target: Buffer, k = 8): Contact[] {
  return [...nodes].sort((a, b) => compareDistance(a.id, b.id, target)).slice(0, k);
}

/** Runs a lookup to the end against `answer`; returns the number of rounds. */
function drive(l: Lookup, answer: (to: Seed) => ResponseBody | undefined, maxRounds = 1000): number {
  let rounds = 0;
  for (; rounds < maxRounds && !l.done; rounds++) {
    const batch = l.next();
    if (batch.length === 0) break;
    for (const to of batch) {
      const r = answer(to);
      if (r) l.answered(to, r);
      else l.failed(to);
    }
  }
  return rounds;
}

const OWN = Buffer.alloc(20, 0x55);

describe('Lookup', () => {
  const nodes = network(300);
  const byKey = new Map(nodes.map((c) => [endpointKey(c), c]));
  // Each node knows its 8 closest and 24 pseudo-random others (a realistic, sparse view).
  const views = new Map(
    nodes.map((c, i) => [
      endpointKey(c),
      [
        ...closestOf(
          nodes.filter((x) => x !== c),
          c.id,
          8,
        ),
        ...nodes.filter((_, j) => (j * 7 + i * 13) % 300 < 24),
      ],
    ]),
  );
  const honest =
    (target: Buffer, peersNear?: Map<string, ResponseBody['values']>) =>
    (to: Seed): ResponseBody | undefined => {
      const me = byKey.get(endpointKey(to));
      if (!me) return undefined;
      return {
        id: me.id,
        nodes: closestOf(views.get(endpointKey(me))!, target),
        token: Buffer.from(`tok-${me.port}`),
        ...(peersNear?.has(endpointKey(me)) ? { values: peersNear.get(endpointKey(me))! } : {}),
      };
    };

  it('converges on the true 8 closest nodes from a few seeds, at most α in flight', () => {
    const target = createHash('sha1').update('target').digest();
    const l = new Lookup(target, { family: 4, ownId: OWN });
    l.seed(nodes.slice(0, 3));
    let maxBatch = 0;
    const answer = honest(target);
    while (!l.done) {
      const batch = l.next();
      if (batch.length === 0) break;
      maxBatch = Math.max(maxBatch, batch.length);
      for (const to of batch) l.answered(to, answer(to)!);
    }
    expect(maxBatch).toBeLessThanOrEqual(ALPHA);
    const want = closestOf(nodes, target).map((c) => c.port);
    expect(l.closest().map((c) => c.port)).toEqual(want);
    expect(l.announceTargets().map((t) => t.contact.port)).toEqual(want);
    expect(l.announceTargets()[0]!.token.toString()).toBe(`tok-${want[0]}`);
    const s = l.stats;
    expect(s.hops).toBeGreaterThan(1);
    expect(s.queried).toBeLessThan(80); // far fewer than the 300 nodes
    expect(s.answered).toBe(s.queried);
  });

  it('collects peers once each from the nodes near the info-hash', () => {
    const target = createHash('sha1').update('torrent').digest();
    const near = closestOf(nodes, target, 3);
    const peers = new Map(
      near.map((c, i) => [
        endpointKey(c),
        [
          { ip: '10.0.0.1', port: 6881, family: 4 as const },
          { ip: '10.0.0.2', port: 7000 + i, family: 4 as const },
        ],
      ]),
    );
    const l = new Lookup(target, { family: 4, ownId: OWN });
    l.seed(nodes.slice(10, 13));
    const found: string[] = [];
    const answer = honest(target, peers);
    while (!l.done) {
      const batch = l.next();
      if (batch.length === 0) break;
      for (const to of batch) found.push(...l.answered(to, answer(to)!).map((p) => endpointKey(p)));
    }
    expect(found.sort()).toEqual(['10.0.0.1:6881', '10.0.0.2:7000', '10.0.0.2:7001', '10.0.0.2:7002']);
    expect(l.stats.peers).toBe(4);
  });

  it('starts from bare addresses (bootstrap) and learns their ids', () => {
    const target = OWN;
    const l = new Lookup(target, { family: 4, ownId: OWN });
    l.seed([{ ip: '127.0.0.1', port: nodes[5]!.port, family: 4 }]);
    drive(l, honest(target));
    expect(l.closest().map((c) => c.port)).toEqual(closestOf(nodes, target).map((c) => c.port));
  });

  it('survives nodes that time out, and ends when nothing closer answers', () => {
    const target = createHash('sha1').update('t2').digest();
    const dead = new Set(closestOf(nodes, target, 4).map((c) => endpointKey(c)));
    const l = new Lookup(target, { family: 4, ownId: OWN });
    l.seed(nodes.slice(20, 23));
    const base = honest(target);
    drive(l, (to) => (dead.has(endpointKey(to)) ? undefined : base(to)));
    expect(l.done).toBe(true);
    const alive = nodes.filter((c) => !dead.has(endpointKey(c)));
    expect(l.closest().map((c) => c.port)).toEqual(closestOf(alive, target).map((c) => c.port));
    expect(l.stats.failed).toBe(4);
  });

  it('a hostile node naming endless fake closer nodes cannot make the lookup run forever', () => {
    const target = createHash('sha1').update('t3').digest();
    const l = new Lookup(target, { family: 4, ownId: OWN });
    l.seed([nodes[0]!]);
    let fake = 0;
    const rounds = drive(l, (to) => {
      if (to.port >= 50_000) return undefined; // the fakes never answer
      // Always "closer" nodes: the target with a flipped last byte, at fresh ports.
      const fakes = Array.from({ length: 8 }, (): Contact => {
        const id = Buffer.from(target);
        id.writeUInt16BE(fake, 18);
        return { id, ip: '127.0.0.1', port: 50_000 + fake++, family: 4 };
      });
      return { id: byKey.get(endpointKey(to))!.id, nodes: fakes };
    });
    expect(l.done).toBe(true);
    expect(l.stats.queried).toBeLessThanOrEqual(MAX_QUERIES_PER_LOOKUP);
    expect(rounds).toBeLessThan(1000);
  });

  it('never queries our own id or address, and drops a reply whose id does not match', () => {
    const target = createHash('sha1').update('t4').digest();
    const self = { ip: '127.0.0.1', port: 9 };
    const l = new Lookup(target, { family: 4, ownId: OWN, isSelf: (e) => e.ip === self.ip && e.port === self.port });
    l.seed([nodes[0]!, { id: OWN, ip: '127.0.0.1', port: 1, family: 4 }, { ...self, family: 4 }]);
    const batch = l.next();
    expect(batch.map((b) => b.port)).toEqual([nodes[0]!.port]);
    l.answered(batch[0]!, { id: Buffer.alloc(20, 1) }); // not the id we were told
    expect(l.stats.failed).toBe(1);
    expect(l.done).toBe(true);
  });

  it('slow nodes free their slot without being given up', () => {
    const target = createHash('sha1').update('t5').digest();
    const l = new Lookup(target, { family: 4, ownId: OWN });
    l.seed(nodes.slice(0, 6));
    const first = l.next();
    expect(first).toHaveLength(ALPHA);
    expect(l.next()).toHaveLength(0);
    l.slow(first[0]!);
    expect(l.next()).toHaveLength(1);
    // A late answer from the slow node still counts.
    l.answered(first[0]!, honest(target)(first[0]!)!);
    expect(l.stats.answered).toBe(1);
  });
});
