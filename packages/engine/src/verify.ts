import { createHash } from 'node:crypto';

/**
 * SHA-1 piece verification (BEP 3).
 *
 * Measured on the 2-core target machine (Node 20, OpenSSL with SHA extensions): 0.59 ms per MiB,
 * whether the piece is hashed in one buffer or as 64 blocks of 16 KiB. At 350 MB/s a 1 MiB piece
 * lands every ~3 ms, so hashing inline takes ~20 % of the main thread and stalls the socket reads by
 * well under a millisecond per piece; posting the piece to a worker would cost a copy or transfer and
 * a message round trip of the same order. So hashing stays on the main thread, behind this interface so
 * that a worker-pool verifier can replace it if a slower hash (no SHA extensions) makes it a bottleneck.
 */
export interface Verifier {
  /** Resolves true when the SHA-1 of the concatenated chunks equals `expected` (20 bytes). */
  verify(chunks: readonly Uint8Array[], expected: Uint8Array): Promise<boolean>;
}

export function sha1(chunks: readonly Uint8Array[]): Buffer {
  const h = createHash('sha1');
  for (const c of chunks) h.update(c);
  return h.digest();
}

export const inlineVerifier: Verifier = {
  verify(chunks, expected) {
    return Promise.resolve(sha1(chunks).equals(expected));
  },
};
