import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { UtpStream } from '../src/stream.js';

/** Reads a stream to its end; resolves with all its bytes. */
export function readAll(s: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.once('end', () => resolve(Buffer.concat(chunks)));
    s.once('error', reject);
  });
}

/** Writes `data` in `chunk`-byte writes, honouring backpressure, then ends the stream. */
export async function writeAll(s: Duplex, data: Buffer, chunk = 64 * 1024): Promise<void> {
  for (let i = 0; i < data.length; i += chunk) {
    if (!s.write(data.subarray(i, i + chunk))) {
      await new Promise<void>((resolve, reject) => {
        const onErr = (e: Error): void => reject(e);
        s.once('drain', () => {
          s.off('error', onErr);
          resolve();
        });
        s.once('error', onErr);
      });
    }
  }
  s.end();
}

export function connected(s: UtpStream): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!s.connecting) return resolve();
    s.once('connect', () => {
      s.off('error', reject);
      resolve();
    });
    s.once('error', reject);
  });
}

export function closed(s: Duplex): Promise<void> {
  return new Promise((resolve) => (s.destroyed && s.closed ? resolve() : s.once('close', () => resolve())));
}

export const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex');
