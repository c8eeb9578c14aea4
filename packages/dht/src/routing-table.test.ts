import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { secureNodeId } from './bep42.js';
import { commonPrefixBits, compareDistance, randomIdNear, type Contact } from './ids.js';
import { BAD_AFTER_FAILURES, BUCKET_REFRESH_MS, GOOD_FOR_MS, K, RoutingTable } from './routing-table.js';

const OUR_ID = Buffer.alloc(20, 0); // bucket i: ids whose first set bit is bit i
let port = 1000;
/** A loopback contact (BEP 42- and per-IP-exempt) whose id shares exactly `bits` leading bits with ours. */
function near(bits: number, ip = '127.0.0.1'): Contact {
  return { id: randomIdNear(OUR_ID, bits, true), ip, port: port++, family: 4 };
}

describe('RoutingTable', () => {
  it('fills one bucket, then splits only the bucket holding our id', () => {
    const t = new RoutingTable(OUR_ID, 0);
    for (let i = 0; i < K; i++) expect(t.responded(near(0), 0).outcome).toBe('added');
    expect(t.bucketCount).toBe(1);
    // A ninth node close to us: the full bucket covers our id, so it splits.
    expect(t.responded(near(3), 0).outcome).toBe('added');
    expect(t.bucketCount).toBeGreaterThan(1);
    // Bucket 0 (far half) is full and does not hold our id: a ninth far node is only cached.
    const r = t.responded(near(0), 0);
    expect(r.outcome).toBe('cached');
    expect(r.ping).toEqual([]); // every member is good: nothing to ping
    t.checkInvariants();
  });

  it('good → questionable after 15 minutes; a query keeps a responder good; two failures make it bad', () => {
    const t = new RoutingTable(OUR_ID, 0);
    const a = near(0);
    t.responded(a, 0);
    const e = t.get(a.id)!;
    expect(t.status(e, GOOD_FOR_MS - 1)).toBe('good');
    expect(t.status(e, GOOD_FOR_MS)).toBe('questionable');
    t.queried(a, GOOD_FOR_MS);
    expect(t.status(e, GOOD_FOR_MS + 1)).toBe('good');
    for (let i = 0; i < BAD_AFTER_FAILURES; i++) t.failed(a, GOOD_FOR_MS + 2);
    expect(t.status(e, GOOD_FOR_MS + 2)).toBe('bad');
    expect(t.closest(OUR_ID, 8)).toEqual([]);
    t.responded(a, GOOD_FOR_MS + 3);
    expect(t.status(e, GOOD_FOR_MS + 3)).toBe('good');
  });

  it('asks to ping questionable members of a full bucket, and replaces a bad one from the cache', () => {
    const t = new RoutingTable(OUR_ID, 0);
    t.responded(near(5), 0); // keep the near side occupied so bucket 0 stops splitting
    const far = Array.from({ length: K }, () => near(0));
    // Fill until bucket 0 is a far bucket with K members.
    for (const c of far) t.responded(c, 0);
    const later = GOOD_FOR_MS + 1;
    const extra = near(0);
    const r = t.responded(extra, later);
    expect(r.outcome).toBe('cached');
    expect(r.ping).toHaveLength(K);
    // The first pinged node fails twice: the cached node takes its place.
    const victim = r.ping[0]!;
    t.failed(victim, later + 1);
    expect(t.get(victim.id)).toBeDefined();
    t.failed(victim, later + 2);
    expect(t.get(victim.id)).toBeUndefined();
    expect(t.get(extra.id)).toBeDefined();
    t.checkInvariants();
  });

  it('a new node replaces a bad member at once', () => {
    const t = new RoutingTable(OUR_ID, 0);
    t.responded(near(5), 0);
    const far = Array.from({ length: K }, () => near(0));
    for (const c of far) t.responded(c, 0);
    for (let i = 0; i < BAD_AFTER_FAILURES; i++) t.failed(far[2]!, 1);
    const fresh = near(0);
    expect(t.responded(fresh, 2).outcome).toBe('replaced');
    expect(t.get(far[2]!.id)).toBeUndefined();
    t.checkInvariants();
  });

  it('prefers BEP 42-conforming nodes over non-conforming ones in a full bucket', () => {
    const t = new RoutingTable(OUR_ID, 0);
    t.responded(near(5), 0);
    // Public addresses, ids with the top bit set (bucket 0), none of them conforming.
    const insecure = Array.from({ length: K }, (_, i): Contact => {
      const id = randomIdNear(OUR_ID, 0, true);
      return { id, ip: `8.8.${i}.1`, port: 6881, family: 4 };
    });
    for (const c of insecure) expect(t.responded(c, 0).outcome).toBe('added');
    let secure: Contact;
    do secure = { id: secureNodeId('9.9.9.9'), ip: '9.9.9.9', port: 6881, family: 4 };
    while (commonPrefixBits(secure.id, OUR_ID) !== 0);
    expect(t.responded(secure, 1).outcome).toBe('replaced');
    expect(t.get(secure.id)?.secure).toBe(true);
    expect(t.size).toBe(K + 1);
    t.checkInvariants();
  });

  it('keeps one node per public IP, any number on loopback', () => {
    const t = new RoutingTable(OUR_ID, 0);
    expect(t.responded({ ...near(1), ip: '8.8.8.8' }, 0).outcome).toBe('added');
    expect(t.responded({ ...near(2), ip: '8.8.8.8' }, 0).outcome).toBe('rejected');
    expect(t.responded(near(1), 0).outcome).toBe('added');
    expect(t.responded(near(2), 0).outcome).toBe('added');
  });

  it('refuses our own id and an id that moved to another address; a new id at a known address replaces the old', () => {
    const t = new RoutingTable(OUR_ID, 0);
    expect(t.responded({ id: OUR_ID, ip: '127.0.0.1', port: 1, family: 4 }, 0).outcome).toBe('rejected');
    const a = near(3);
    t.responded(a, 0);
    expect(t.responded({ ...a, port: a.port + 1 }, 0).outcome).toBe('rejected');
    const restarted = { ...near(4), port: a.port };
    expect(t.responded(restarted, 1).outcome).toBe('added');
    expect(t.get(a.id)).toBeUndefined();
    expect(t.size).toBe(1);
  });

  it('hands out each stale bucket once per refresh period, with a target in its range', () => {
    const t = new RoutingTable(OUR_ID, 0);
    for (let i = 0; i < 3 * K; i++) t.responded(near(i % 6), 0);
    const n = t.bucketCount;
    expect(t.takeStale(BUCKET_REFRESH_MS - 1)).toEqual([]);
    const targets = t.takeStale(BUCKET_REFRESH_MS);
    expect(targets).toHaveLength(n);
    targets.forEach((target, i) => {
      const cpl = commonPrefixBits(target, OUR_ID);
      if (i < n - 1) expect(cpl).toBe(i);
      else expect(cpl).toBeGreaterThanOrEqual(i);
    });
    expect(t.takeStale(BUCKET_REFRESH_MS + 1)).toEqual([]);
  });

  it('rebuilds under a new id with the same members', () => {
    const t = new RoutingTable(OUR_ID, 0);
    const cs = Array.from({ length: 12 }, (_, i) => near(i));
    for (const c of cs) t.responded(c, 0);
    const t2 = t.rebuild(Buffer.alloc(20, 0xff), 1);
    t2.checkInvariants();
    expect(t2.size).toBeGreaterThan(0);
    for (const e of t2.entries()) expect(cs.some((c) => c.id.equals(e.contact.id))).toBe(true);
  });

  it('closest() agrees with sorting every member by distance, and invariants hold (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ bits: fc.integer({ min: 0, max: 40 }), op: fc.constantFrom('add', 'fail', 'query') }), { maxLength: 300 }),
        fc.uint8Array({ minLength: 20, maxLength: 20 }),
        (ops, target) => {
          const t = new RoutingTable(OUR_ID, 0);
          const known: Contact[] = [];
          let now = 0;
          for (const o of ops) {
            now += 1000;
            if (o.op === 'add' || known.length === 0) {
              const c = near(o.bits);
              known.push(c);
              t.responded(c, now);
            } else if (o.op === 'fail') t.failed(known[o.bits % known.length]!, now);
            else t.queried(known[o.bits % known.length]!, now);
            t.checkInvariants();
          }
          const tgt = Buffer.from(target);
          const all = t
            .entries()
            .filter((e) => e.failures < BAD_AFTER_FAILURES)
            .map((e) => e.contact)
            .sort((a, b) => compareDistance(a.id, b.id, tgt));
          expect(t.closest(tgt, K).map((c) => c.id.toString('hex'))).toEqual(all.slice(0, K).map((c) => c.id.toString('hex')));
        },
      ),
      { numRuns: 60 },
    );
  });
});
