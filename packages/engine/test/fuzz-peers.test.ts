import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestTorrent } from '@tc/testkit/swarm-fixture';
import { encode } from '@tc/codec';
import { decodeMetadataMessage, encodeExtendedHandshake, encodeMetadataMessage, generatePeerId, METADATA_PIECE_BYTES, type Message } from '@tc/wire';
import { ManualClock } from '../src/clock.js';
import { EngineError } from '../src/errors.js';
import { MetadataFetcher } from '../src/magnet/fetcher.js';
import { LOCAL_EXTENSIONS } from '../src/torrent/peer-state.js';
import { TICK_MS, type Torrent } from '../src/torrent/torrent.js';
import { blockOf, connectMemPeer, memTorrent, type Adopter, type MemPeer } from './mem-peer.js';
import { sourceOf } from './helpers.js';

/**
 * Issue 10, defect 3: random message sequences from several peers, on a manual clock over memory
 * storage, into a Torrent and into a MetadataFetcher (which then hands its peers over to a
 * torrent). Whatever the peers send, the process lives: nothing is thrown out of a socket callback,
 * a peer is closed only with a typed reason (never ENGINE_PEER_INTERNAL, which marks a bug), no
 * bug surfaces as a warning, and the picker's invariants (STATE.md) hold after every step.
 *
 * TC_FUZZ_RUNS sets the number of sequences per property (`bench/fuzz-torrent.mjs` runs a million).
 */
const RUNS = Number(process.env.TC_FUZZ_RUNS ?? 1_000);
/** Runs per property from which every deep path is reached (seen: each at least 16 times in 300 runs). */
const REACH_MIN_RUNS = 300;
const SEED = process.env.TC_FUZZ_SEED !== undefined ? Number(process.env.TC_FUZZ_SEED) : undefined;
/** Timeout of one property: generous for the million-run script, CI runs stay well under 20 s. */
const PROPERTY_TIMEOUT_MS = Math.max(60_000, RUNS * 50);

const PIECE = 32 * 1024;
/** Six pieces, the last one short: two blocks a piece, so blocks, pieces and endgame all get hit. */
const t = createTestTorrent({ pieceLength: PIECE, length: 5 * PIECE + 20_000, seed: 21 });
const PIECES = 6;
/** The id the fuzzing peers give ut_metadata in their extended handshake (BEP 10: each side picks its own). */
const PEER_UT_METADATA = 3;
const OUR_UT_METADATA = LOCAL_EXTENSIONS.ut_metadata!;
const SLOTS = 3;

// ---- what a peer may send ----

const pieceIndex = fc.integer({ min: 0, max: PIECES + 2 });
const offset = fc.oneof(fc.constantFrom(0, 16_384, 32_768), fc.integer({ min: 0, max: 40_000 }));
const length = fc.oneof(fc.constant(16_384), fc.integer({ min: 0, max: 20_000 }));
const bytes = (max: number): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const ref = fc.record({ index: pieceIndex, begin: offset, length });

const extendedPayload = fc.oneof(
  bytes(64),
  // A well-formed handshake with odd values: no or another ut_metadata id, sizes from 0 to absurd, a huge reqq, a long name.
  fc
    .record({
      ut: fc.constantFrom(undefined, 0, PEER_UT_METADATA, 255),
      size: fc.option(fc.integer({ min: 0, max: 20_000_000 }), { nil: undefined }),
      reqq: fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: undefined }),
      v: fc.option(fc.string({ maxLength: 150 }), { nil: undefined }),
    })
    .map(({ ut, size, reqq, v }) =>
      encodeExtendedHandshake({
        m: ut === undefined ? {} : { ut_metadata: ut },
        ...(size !== undefined ? { metadataSize: size } : {}),
        ...(reqq !== undefined ? { reqq } : {}),
        ...(v !== undefined ? { v } : {}),
      }),
    ),
  // ut_metadata messages of every kind (BEP 9 msg_type 0 request, 1 data, 2 reject, and others), with data that is not the metadata.
  fc
    .record({
      type: fc.integer({ min: 0, max: 3 }),
      piece: fc.integer({ min: 0, max: 3 }),
      totalSize: fc.integer({ min: 0, max: 40_000 }),
      data: bytes(METADATA_PIECE_BYTES + 10),
    })
    .map((m) =>
      Buffer.concat([
        encode(
          new Map<string, number>([
            ['msg_type', m.type],
            ['piece', m.piece],
            ['total_size', m.totalSize],
          ]),
        ),
        m.type === 1 ? m.data : Buffer.alloc(0),
      ]),
    ),
);

const message: fc.Arbitrary<Message> = fc.oneof(
  pieceIndex.map((index): Message => ({ type: 'have', index })),
  // Mostly the right size for six pieces (one byte), spare bits set or not; sometimes a wrong size.
  fc.oneof(bytes(1), bytes(1), bytes(3), fc.constantFrom(Buffer.from([0xff]), Buffer.from([0xfc]))).map((b): Message => ({ type: 'bitfield', bytes: b })),
  fc.constantFrom<Message>(
    { type: 'have-all' },
    { type: 'have-none' },
    { type: 'choke' },
    { type: 'unchoke' },
    { type: 'interested' },
    { type: 'not-interested' },
    { type: 'keep-alive' },
  ),
  ref.map((r): Message => ({ type: 'request', ...r })),
  ref.map((r): Message => ({ type: 'cancel', ...r })),
  ref.map((r): Message => ({ type: 'reject', ...r })),
  fc.record({ index: pieceIndex, begin: offset, block: bytes(17_000) }).map((p): Message => ({ type: 'piece', ...p })),
  pieceIndex.map((index): Message => ({ type: 'allowed-fast', index })),
  pieceIndex.map((index): Message => ({ type: 'suggest', index })),
  fc.record({ id: fc.integer({ min: 0, max: 4 }), payload: extendedPayload }).map((e): Message => ({ type: 'extended', ...e })),
);

type Action =
  | { kind: 'send'; peer: number; msgs: Message[] }
  /** Offers pieces (all of them, or a bitfield) and unchokes: what makes the engine ask. */
  | { kind: 'offer'; peer: number; all: boolean; bits: number }
  /** Asks for a block as a leecher would: interested, then a well-formed request. */
  | { kind: 'leech'; peer: number; index: number; block: number }
  /** Answers `count` of the requests the engine sent this peer and not yet answered, from the `which`-th on, with the right bytes or not. */
  | { kind: 'answer'; peer: number; which: number; count: number; good: boolean }
  /** Answers the engine's ut_metadata requests to this peer with the real metadata. */
  | { kind: 'metadata'; peer: number }
  | { kind: 'tick'; ms: number }
  /** Lets pending disk and hashing work finish. */
  | { kind: 'settle' }
  /** A new connection in this slot (a fresh peer id), if its last one closed. */
  | { kind: 'connect'; peer: number };

const peerSlot = fc.integer({ min: 0, max: SLOTS - 1 });
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('send' as const), peer: peerSlot, msgs: fc.array(message, { minLength: 1, maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('offer' as const), peer: peerSlot, all: fc.boolean(), bits: fc.integer({ min: 0, max: 63 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('leech' as const),
      peer: peerSlot,
      index: fc.integer({ min: 0, max: PIECES - 1 }),
      block: fc.integer({ min: 0, max: 1 }),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('answer' as const), peer: peerSlot, which: fc.nat(), count: fc.integer({ min: 1, max: 4 }), good: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('metadata' as const), peer: peerSlot }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.constantFrom(TICK_MS, 30_000, 61_000, 125_000) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'settle' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('connect' as const), peer: peerSlot }) },
);

/** What a peer at a random slot says at connection: which extensions, and a first message. */
const features = fc.record({ fast: fc.boolean(), extended: fc.boolean() });

// ---- the harness ----

interface Owner extends Adopter {
  on(event: 'peer-disconnected', f: (e: { address: string; reason: EngineError | undefined }) => void): unknown;
  on(event: 'warning', f: (w: { message: string; cause?: unknown }) => void): unknown;
  on(event: 'peer-banned', f: () => void): unknown;
}

/** How far the runs got, over all of them: the properties must reach deep paths, not only the parsers. */
const reach = {
  downloaded: 0,
  wasteBytes: 0,
  answered: 0,
  verified: 0,
  hashFailures: 0,
  uploaded: 0,
  handedOver: 0,
  takenOver: 0,
  banned: 0,
  closes: new Map<string, number>(),
};

/** Failures seen through events; asserted after every step. */
class Watch {
  readonly problems: string[] = [];
  attach(o: Owner): void {
    o.on('peer-disconnected', ({ address, reason }) => {
      if (reason !== undefined && !(reason instanceof EngineError)) this.problems.push(`${address} closed with an untyped ${String(reason)}`);
      else if (reason !== undefined && (reason.code as string) === 'ENGINE_PEER_INTERNAL')
        this.problems.push(`${address}: a bug: ${reason.message}: ${String((reason.cause as Error | undefined)?.stack)}`);
      reach.closes.set(reason?.code ?? 'clean', (reach.closes.get(reason?.code ?? 'clean') ?? 0) + 1);
    });
    o.on('peer-banned', () => reach.banned++);
    o.on('warning', (w) => {
      if (/internal error|bug/i.test(w.message)) this.problems.push(`warning: ${w.message}: ${String((w.cause as Error | undefined)?.stack)}`);
    });
  }
  check(): void {
    expect(this.problems).toEqual([]);
  }
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

const source = sourceOf(t);
const infoBytes = source.infoBytes!;

/** A deterministic PRNG for the torrent's own randomness (picker, choker), from a fast-check seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x ^= x + Math.imul(x ^ (x >>> 7), 61 | x);
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}

class Swarm {
  readonly peers: (MemPeer | undefined)[] = [];
  private nextPort = 1;
  constructor(
    private readonly clock: ManualClock,
    public owner: Adopter,
    private readonly pieceCount: number | undefined,
  ) {}

  connect(slot: number, f: { fast: boolean; extended: boolean }): void {
    const old = this.peers[slot];
    if (old !== undefined && !old.closed) return;
    this.peers[slot] = connectMemPeer(this.owner, {
      infoHash: t.infoHash,
      ...(this.pieceCount !== undefined ? { pieceCount: this.pieceCount } : {}),
      now: this.clock.now(),
      port: this.nextPort++,
      features: f,
    });
  }

  /** Runs one action; async only for `settle`. */
  async run(a: Action, onTick: () => void): Promise<void> {
    switch (a.kind) {
      case 'send':
        this.live(a.peer)?.send(...a.msgs);
        return;
      case 'offer': {
        const p = this.live(a.peer);
        if (p === undefined) return;
        // Bit i of `bits` is piece i: a bitfield of the right size for six pieces (the low two bits are spare).
        p.send(a.all ? { type: 'have-all' } : { type: 'bitfield', bytes: Buffer.from([(a.bits << 2) & 0xfc]) }, { type: 'unchoke' });
        return;
      }
      case 'leech': {
        const p = this.live(a.peer);
        const begin = a.block * 16_384;
        const length = Math.min(16_384, source.layout.totalLength - a.index * PIECE - begin);
        if (p !== undefined && length > 0) p.send({ type: 'interested' }, { type: 'request', index: a.index, begin, length });
        return;
      }
      case 'answer': {
        const p = this.live(a.peer);
        if (p === undefined || p.requests.length === 0) return;
        const at = a.which % p.requests.length;
        const msgs: Message[] = p.requests.splice(at, a.count).map((r) => {
          const good = blockOf(t, r);
          return { type: 'piece', index: r.index, begin: r.begin, block: a.good ? good : Buffer.alloc(good.length, 0xee) };
        });
        reach.answered += msgs.length;
        p.send(...msgs);
        return;
      }
      case 'metadata': {
        const p = this.live(a.peer);
        if (p === undefined) return;
        for (const m of p.got.splice(0)) {
          if (m.type !== 'extended' || m.id !== PEER_UT_METADATA) continue;
          let req;
          try {
            req = decodeMetadataMessage(m.payload);
          } catch {
            continue;
          }
          if (req.type !== 'request' || req.piece * METADATA_PIECE_BYTES >= infoBytes.length) continue;
          const data = infoBytes.subarray(req.piece * METADATA_PIECE_BYTES, (req.piece + 1) * METADATA_PIECE_BYTES);
          if (!p.closed)
            p.send({
              type: 'extended',
              id: OUR_UT_METADATA,
              payload: encodeMetadataMessage({ type: 'data', piece: req.piece, totalSize: infoBytes.length, data }),
            });
        }
        return;
      }
      case 'tick':
        for (let left = a.ms; left > 0; left -= TICK_MS) {
          this.clock.advance(Math.min(TICK_MS, left));
          onTick();
        }
        return;
      case 'settle':
        await settle();
        return;
      case 'connect':
        this.connect(a.peer, { fast: true, extended: true });
        return;
    }
  }

  private live(slot: number): MemPeer | undefined {
    const p = this.peers[slot];
    return p === undefined || p.closed ? undefined : p;
  }
}

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

describe('random peers never break the engine (issue 10, defect 3)', () => {
  it(
    'a torrent: only typed closes, picker invariants after every step',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            have: fc.uniqueArray(fc.integer({ min: 0, max: PIECES - 1 }), { maxLength: PIECES }),
            seed: fc.integer(),
            features: fc.array(features, { minLength: SLOTS, maxLength: SLOTS }),
            actions: fc.array(action, { minLength: 10, maxLength: 60 }),
          }),
          async ({ have, seed, features: fs, actions }) => {
            const clock = new ManualClock();
            const tor = await memTorrent(t, { clock, have, random: prng(seed), infoBytes: true });
            const watch = new Watch();
            watch.attach(tor);
            const swarm = new Swarm(clock, tor, PIECES);
            try {
              for (let i = 0; i < SLOTS; i++) swarm.connect(i, fs[i]!);
              for (const a of actions) {
                await swarm.run(a, () => tor.picker.checkInvariants());
                tor.picker.checkInvariants();
                watch.check();
              }
              await settle();
              tor.picker.checkInvariants();
              watch.check();
              const st = tor.stats();
              reach.verified += st.piecesHave - have.length;
              reach.hashFailures += st.hashFailures;
              reach.uploaded += st.uploaded;
              reach.downloaded += st.downloaded;
              reach.wasteBytes += st.wasteBytes;
            } finally {
              await tor.close();
            }
            watch.check();
          },
        ),
        { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'a magnet fetch, then the torrent that takes its peers over: only typed closes, picker invariants after every step',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            seed: fc.integer(),
            features: fc.array(features, { minLength: SLOTS, maxLength: SLOTS }),
            // Each slot's peer offers the metadata first (so the fetch can finish), or not.
            offers: fc.array(fc.boolean(), { minLength: SLOTS, maxLength: SLOTS }),
            actions: fc.array(action, { minLength: 10, maxLength: 60 }),
          }),
          async ({ seed, features: fs, offers, actions }) => {
            const clock = new ManualClock();
            const fetcher = new MetadataFetcher({
              infoHash: t.infoHash,
              announceTiers: [],
              peerId: generatePeerId(),
              clock,
              listenPort: 0,
              isSelf: () => false,
              maxPeers: 10,
              random: prng(seed),
            });
            open.push(fetcher);
            const watch = new Watch();
            watch.attach(fetcher);
            fetcher.start();
            // The piece count is unknown while fetching: the peers' decoders learn nothing of it.
            const swarm = new Swarm(clock, fetcher, undefined);
            let tor: Torrent | undefined;
            const check = (): void => {
              tor?.picker.checkInvariants();
              watch.check();
            };
            try {
              for (let i = 0; i < SLOTS; i++) {
                swarm.connect(i, fs[i]!);
                const p = swarm.peers[i]!;
                if (offers[i] === true && !p.closed) {
                  p.send({
                    type: 'extended',
                    id: 0,
                    payload: encodeExtendedHandshake({ m: { ut_metadata: PEER_UT_METADATA }, metadataSize: infoBytes.length }),
                  });
                }
              }
              for (const a of actions) {
                await swarm.run(a, check);
                check();
                if (tor === undefined && fetcher.done) {
                  // What Session.add does with a finished fetch: a started torrent takes the fetch's peers over.
                  tor = await memTorrent(t, { clock, random: prng(seed + 1), infoBytes: true });
                  open.push(tor);
                  watch.attach(tor);
                  const handed = fetcher.handOver();
                  swarm.owner = tor;
                  reach.handedOver++;
                  for (const p of handed.peers) {
                    if (tor.takeOver(p.conn, p.replay)) reach.takenOver++;
                    else p.conn.close(undefined);
                  }
                  check();
                }
              }
              await settle();
              check();
            } finally {
              await fetcher.close();
              await tor?.close();
            }
            watch.check();
          },
        ),
        { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it('reached the deep paths: pieces verified and failed, blocks served, peers banned, metadata fetched and handed over', () => {
    console.log('fuzz reach', { ...reach, closes: Object.fromEntries(reach.closes) });
    // Replaying one counterexample (TC_FUZZ_RUNS=1) reaches little; CI's thousand runs must reach all of it.
    if (RUNS < REACH_MIN_RUNS) return;
    expect(reach.verified).toBeGreaterThan(0);
    expect(reach.hashFailures).toBeGreaterThan(0);
    expect(reach.uploaded).toBeGreaterThan(0);
    expect(reach.banned).toBeGreaterThan(0);
    expect(reach.handedOver).toBeGreaterThan(0);
    expect(reach.takenOver).toBeGreaterThan(0);
  });
});
