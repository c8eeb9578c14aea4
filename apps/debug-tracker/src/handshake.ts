import { connect, type Socket } from 'node:net';
import { decodeHandshake, describePeerId, encodeHandshake, HANDSHAKE_BYTES } from '@tc/wire';

/** A peer that does not answer a handshake within this time counts as silent. */
export const HANDSHAKE_TIMEOUT_MS = 3_000;

export interface HandshakeProbe {
  readonly ip: string;
  readonly port: number;
  readonly ok: boolean;
  readonly ms?: number;
  /** Client named by its peer id (wire's describePeerId), when known. */
  readonly client?: string;
  readonly peerIdHex?: string;
  /** Why it failed: refused, timeout, closed, wrong info-hash, not BitTorrent. */
  readonly error?: string;
}

/**
 * Dials one peer, sends a BitTorrent handshake (BEP 3) and waits for the 68-byte answer; checks
 * that the peer serves the same info-hash. Closes the connection right after.
 */
export function probeHandshake(
  peer: { ip: string; port: number },
  infoHash: Buffer,
  peerId: Buffer,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<HandshakeProbe> {
  const started = performance.now();
  return new Promise((resolve) => {
    let sock: Socket | undefined;
    let got = Buffer.alloc(0);
    let settled = false;
    const finish = (r: Omit<HandshakeProbe, 'ip' | 'port'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      sock?.destroy();
      resolve({ ip: peer.ip, port: peer.port, ...r });
    };
    const onAbort = (): void => finish({ ok: false, error: 'time limit reached' });
    const timer = setTimeout(() => finish({ ok: false, error: 'timeout' }), opts.timeoutMs ?? HANDSHAKE_TIMEOUT_MS);
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    sock = connect({ host: peer.ip, port: peer.port });
    sock.on('connect', () => sock?.write(encodeHandshake({ infoHash, peerId, features: { extended: true, fast: true } })));
    sock.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length < HANDSHAKE_BYTES) return;
      try {
        const h = decodeHandshake(got.subarray(0, HANDSHAKE_BYTES));
        if (!h.infoHash.equals(infoHash)) return finish({ ok: false, error: 'answered for another info-hash' });
        const client = describePeerId(h.peerId);
        finish({
          ok: true,
          ms: round(performance.now() - started),
          peerIdHex: h.peerId.toString('hex'),
          ...(client !== undefined ? { client } : {}),
        });
      } catch (e) {
        finish({ ok: false, error: `not a BitTorrent handshake (${(e as Error).message})` });
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => finish({ ok: false, error: e.code === 'ECONNREFUSED' ? 'refused' : (e.code ?? e.message) }));
    sock.on('close', () => finish({ ok: false, error: 'closed before answering' }));
  });
}

export function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
