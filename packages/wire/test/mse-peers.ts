// Test helpers for the MSE tests (not exported from the package): scripted randomness, a transcript
// runner for two machines, and a hand-built initiator message 3 / responder message 4 for hostile
// cases the real machines never produce.
import { MSE_VC_BYTES, type MseStep, type RandomBytes } from '../src/mse/common.js';
import { mseCipher, mseReq1Hash, mseReq2Hash, mseReq3Hash, xor20 } from '../src/mse/crypto.js';
import type { MseInitiator } from '../src/mse/initiator.js';
import type { MseResponder } from '../src/mse/responder.js';

/** Returns the given buffers in order, then zeros. */
export function scripted(...first: Buffer[]): RandomBytes {
  const queue = [...first];
  return (n) => {
    const next = queue.shift();
    if (next === undefined) return Buffer.alloc(n);
    if (next.length !== n) throw new Error(`scripted random: asked for ${n} bytes, have ${next.length}`);
    return next;
  };
}

export interface Transcript {
  readonly a: MseStep;
  readonly b: MseStep;
  /** Everything A sent, and everything B sent. */
  readonly fromA: Buffer;
  readonly fromB: Buffer;
}

/**
 * Runs both machines against each other, message by message, until neither has more to say.
 * `tamperA`/`tamperB` may change what each side sends (message n) before the other reads it.
 */
export function converse(
  a: MseInitiator,
  b: MseResponder,
  tamperA: (m: Buffer, n: number) => Buffer = (m) => m,
  tamperB: (m: Buffer, n: number) => Buffer = (m) => m,
): Transcript {
  const none: Buffer = Buffer.alloc(0);
  let stepA: MseStep = { state: 'need-more', send: none };
  let stepB: MseStep = { state: 'need-more', send: none };
  let toB = tamperA(a.start(), 0);
  const sentA = [toB];
  const sentB: Buffer[] = [];
  // Two round trips: Ya → Yb, then message 3 → message 4.
  for (let n = 1; n <= 2; n++) {
    let toA = none;
    if (toB.length > 0 && stepB.state === 'need-more') {
      stepB = b.push(toB);
      toA = tamperB(stepB.send, n);
      sentB.push(toA);
    }
    toB = none;
    if (toA.length > 0 && stepA.state === 'need-more') {
      stepA = a.push(toA);
      toB = tamperA(stepA.send, n);
      sentA.push(toB);
    }
  }
  return { a: stepA, b: stepB, fromA: Buffer.concat(sentA), fromB: Buffer.concat(sentB) };
}

export interface Message3Fields {
  readonly secret: Buffer;
  readonly infoHash: Buffer;
  readonly provide?: number;
  readonly padC?: Buffer;
  /** Overrides len(PadC) as sent (default: padC's length). */
  readonly padCLength?: number;
  readonly ia?: Buffer;
  /** Overrides len(IA) as sent (default: ia's length). */
  readonly iaLength?: number;
  /** Replaces the 8 zero bytes of VC. */
  readonly vc?: Buffer;
}

/** Message 3 as an initiator would send it, with any field forced. */
export function message3(f: Message3Fields): Buffer {
  const cipher = mseCipher('initiator', f.secret, f.infoHash);
  const padC = f.padC ?? Buffer.alloc(0);
  const ia = f.ia ?? Buffer.alloc(0);
  const head = Buffer.alloc(MSE_VC_BYTES + 4 + 2);
  (f.vc ?? Buffer.alloc(MSE_VC_BYTES)).copy(head);
  head.writeUInt32BE(f.provide ?? 3, MSE_VC_BYTES);
  head.writeUInt16BE(f.padCLength ?? padC.length, MSE_VC_BYTES + 4);
  const iaLen = Buffer.alloc(2);
  iaLen.writeUInt16BE(f.iaLength ?? ia.length);
  const enc = Buffer.concat([head, padC, iaLen, ia]);
  cipher.encrypt.process(enc);
  return Buffer.concat([mseReq1Hash(f.secret), xor20(mseReq2Hash(f.infoHash), mseReq3Hash(f.secret)), enc]);
}

/** Message 4 as a responder would send it, with any field forced; `after` is sent encrypted after it. */
export function message4(f: { secret: Buffer; infoHash: Buffer; select: number; padDLength?: number; padD?: Buffer; after?: Buffer }): Buffer {
  const cipher = mseCipher('responder', f.secret, f.infoHash);
  const padD = f.padD ?? Buffer.alloc(0);
  const head = Buffer.alloc(MSE_VC_BYTES + 4 + 2);
  head.writeUInt32BE(f.select, MSE_VC_BYTES);
  head.writeUInt16BE(f.padDLength ?? padD.length, MSE_VC_BYTES + 4);
  const enc = Buffer.concat([head, padD, f.after ?? Buffer.alloc(0)]);
  cipher.encrypt.process(enc);
  return enc;
}
