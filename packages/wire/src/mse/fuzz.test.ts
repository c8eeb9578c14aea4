import { randomBytesFrom, randomChunks, randomInt, rng, seededRandomBytes } from '@tc/testkit/random';
import { describe, expect, it } from 'vitest';
import { converse } from '../../test/mse-peers.js';
import { WireError } from '../errors.js';
import { encodeHandshake } from '../handshake.js';
import { MSE_MAX_PAD_BYTES, MSE_SYNC_WINDOW_BYTES, MSE_VC_BYTES, type MseStep } from './common.js';
import { mseInfoHashLookup } from './crypto.js';
import { MseInitiator } from './initiator.js';
import { MseResponder } from './responder.js';
import { MSE_ERROR_CODES } from './errors.js';

// Thousands of random and mutated handshakes: every outcome is a verdict (need more, established,
// or a typed failure), nothing else is thrown, and what a machine holds stays under its bound.
const ROUNDS = 3000;
const MAX_IA = 1024;
const infoHash = Buffer.alloc(20, 0x42);
const lookup = mseInfoHashLookup([infoHash]);
const ia = encodeHandshake({ infoHash, peerId: Buffer.alloc(20, 1) });

/** Responder: below the req1 window (512 + 20), PadC + len(IA) (514), or the IA limit. */
const RESPONDER_BOUND = Math.max(MSE_SYNC_WINDOW_BYTES + 20, MSE_MAX_PAD_BYTES + 2, MAX_IA);
/** Initiator: below the VC window (512 + 8) or PadD (512). */
const INITIATOR_BOUND = Math.max(MSE_SYNC_WINDOW_BYTES + MSE_VC_BYTES, MSE_MAX_PAD_BYTES);

// Every handshake failure; WIRE_MSE_CLOSED belongs to the stream wrapper, which the fuzz does not drive.
const CODES = new Set<string>(MSE_ERROR_CODES.filter((c) => c !== 'WIRE_MSE_CLOSED'));

const makeResponder = (): MseResponder => new MseResponder({ lookup, random: seededRandomBytes(2), maxIaBytes: MAX_IA });
const makeInitiator = (): MseInitiator => new MseInitiator({ infoHash, ia, random: seededRandomBytes(1) });

type Tally = Record<string, number>;

/** Feeds chunks until a final verdict; checks the bound after every push. */
function run(m: MseInitiator | MseResponder, chunks: Buffer[], bound: number, tally: Tally): void {
  let step: MseStep = { state: 'need-more', send: Buffer.alloc(0) };
  for (const c of chunks) {
    step = m.push(c);
    expect(m.buffered).toBeLessThanOrEqual(bound);
    if (step.state !== 'need-more') break;
  }
  if (step.state === 'failed') {
    expect(step.error).toBeInstanceOf(WireError);
    expect(CODES.has(step.error.code)).toBe(true);
  }
  const key = step.state === 'failed' ? step.error.code : step.state;
  tally[key] = (tally[key] ?? 0) + 1;
}

function mutate(next: () => number, b: Buffer): Buffer {
  const at = randomInt(next, b.length);
  switch (randomInt(next, 5)) {
    case 0: {
      const c = Buffer.from(b);
      for (let k = 1 + randomInt(next, 3); k > 0; k--) c[randomInt(next, c.length)]! ^= 1 + randomInt(next, 255);
      return c;
    }
    case 1:
      return Buffer.concat([b.subarray(0, at), randomBytesFrom(next, 1 + randomInt(next, 600)), b.subarray(at)]);
    case 2:
      return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + randomInt(next, 64))]);
    case 3:
      return b.subarray(0, at);
    default:
      return Buffer.concat([b.subarray(0, at), b.subarray(at, at + 1 + randomInt(next, 200)), b.subarray(at)]);
  }
}

describe('MSE fuzz', () => {
  // One good conversation, replayed: each machine is rebuilt with the same seed, so it computes the
  // same keys and a mutation is the only difference.
  const good = converse(makeInitiator(), makeResponder());
  it('the unmutated transcript completes', () => {
    expect(good.a.state).toBe('established');
    expect(good.b.state).toBe('established');
  });

  it(`random bytes, ${ROUNDS} times to each side`, () => {
    const next = rng(0xfeed);
    const r: Tally = {};
    const i: Tally = {};
    for (let n = 0; n < ROUNDS; n++) {
      const bytes = randomBytesFrom(next, randomInt(next, 3000));
      run(makeResponder(), randomChunks(next, bytes, 700), RESPONDER_BOUND, r);
      const a = makeInitiator();
      a.start();
      run(a, randomChunks(next, bytes, 700), INITIATOR_BOUND, i);
    }
    expect(r['established'] ?? 0).toBe(0);
    expect(i['established'] ?? 0).toBe(0);
    expect(r['WIRE_MSE_NO_SYNC']).toBeGreaterThan(ROUNDS / 2);
  });

  it(`mutated handshakes, ${ROUNDS} times to each side`, () => {
    const next = rng(0xbeef);
    const r: Tally = {};
    const i: Tally = {};
    for (let n = 0; n < ROUNDS; n++) {
      run(makeResponder(), randomChunks(next, mutate(next, good.fromA), 300), RESPONDER_BOUND, r);
      const a = makeInitiator();
      a.start();
      run(a, randomChunks(next, mutate(next, good.fromB), 300), INITIATOR_BOUND, i);
    }
    // Mutations land everywhere: some in padding (still established), most break a check.
    expect(Object.keys(r).length).toBeGreaterThan(3);
    expect(Object.keys(i).length).toBeGreaterThan(2);
  });
});
