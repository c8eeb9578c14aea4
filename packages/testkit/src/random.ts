/**
 * Seeded randomness for tests and fuzzers, so a failing case can be replayed from its seed.
 * xorshift32: fast, not cryptographic.
 */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/** An integer in 0..n-1. */
export function randomInt(next: () => number, n: number): number {
  return Math.floor(next() * n);
}

/** `n` seeded random bytes. */
export function randomBytesFrom(next: () => number, n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(next() * 256);
  return out;
}

/** A `(n) => Buffer` source of seeded bytes (the shape node:crypto's randomBytes has). */
export function seededRandomBytes(seed: number): (n: number) => Buffer {
  const next = rng(seed);
  return (n) => randomBytesFrom(next, n);
}

/** Splits `bytes` into random chunks of 1..maxChunk bytes (views, not copies). */
export function randomChunks(next: () => number, bytes: Buffer, maxChunk: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length;) {
    const n = 1 + randomInt(next, maxChunk);
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}
