import { createHash } from 'node:crypto';
import { parseIp } from '@tc/codec';
import { cryptoRandom, type RandomBytes } from './ids.js';

/** BEP 5: the secret behind write tokens changes every five minutes. */
export const TOKEN_ROTATE_MS = 5 * 60_000;
/** libtorrent's tokens are 4 bytes; 8 make a guess 2^32 times harder at no cost. */
export const TOKEN_BYTES = 8;
const SECRET_BYTES = 20;

/**
 * Write tokens for announce_peer (BEP 5): SHA-1 of a secret and the requester's IP, so that only
 * the address a token was given to can use it. The previous secret is still accepted, so a token
 * stays valid for five to ten minutes.
 */
export class TokenSecrets {
  private current: Buffer;
  private previous: Buffer;
  private readonly random: RandomBytes;

  constructor(random: RandomBytes = cryptoRandom) {
    this.random = random;
    this.current = random(SECRET_BYTES);
    this.previous = random(SECRET_BYTES);
  }

  rotate(): void {
    this.previous = this.current;
    this.current = this.random(SECRET_BYTES);
  }

  private make(secret: Buffer, ip: string): Buffer {
    const addr = parseIp(ip) ?? Buffer.from(ip, 'latin1');
    return createHash('sha1').update(secret).update(addr).digest().subarray(0, TOKEN_BYTES);
  }

  issue(ip: string): Buffer {
    return this.make(this.current, ip);
  }

  check(token: Buffer, ip: string): boolean {
    return token.length === TOKEN_BYTES && (token.equals(this.make(this.current, ip)) || token.equals(this.make(this.previous, ip)));
  }
}
