import { connect } from 'node:net';
import {
  decodeExtendedHandshake,
  describePeerId,
  encodeExtendedHandshake,
  encodeHandshake,
  encodeMessage,
  EXTENDED_HANDSHAKE_ID,
  MessageDecoder,
  type Features,
} from '@tc/wire';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';

/**
 * A one-off BitTorrent handshake with a peer, for diagnostic commands (tc-debug-tracker,
 * tc-netcheck): does something at ip:port speak BitTorrent, for our torrent, and who is it? Sends
 * no requests; never rejects.
 */

/** A peer that does not answer a handshake within this time counts as silent. */
export const PROBE_HANDSHAKE_TIMEOUT_MS = 3_000;
/** Bytes we read from one peer at most: the handshake, a bitfield and the extended handshake fit easily. */
export const MAX_PROBE_PEER_BYTES = 256 * 1024;
/** Messages we read at most while waiting for the extended handshake. */
const MAX_PROBE_PEER_MESSAGES = 64;
/** After the handshake, how long we wait for the BEP 10 handshake (libtorrent sends it at once). */
export const PROBE_EXTENDED_WAIT_MS = 1_000;

const LOCAL_FEATURES: Features = { extended: true, fast: true };

/**
 * `ok`: a handshake for our torrent came back. `self`: it carried our own peer id (we dialled
 * ourselves). `aborted`: the caller's signal ended it first.
 */
export type HandshakeProbeState = 'ok' | 'refused' | 'timeout' | 'aborted' | 'wrong-torrent' | 'self' | 'error';

export interface HandshakeProbe {
  readonly ip: string;
  readonly port: number;
  readonly state: HandshakeProbeState;
  /** Milliseconds from dialling to the peer's handshake (ok), or to the failure. */
  readonly ms: number;
  /** Client named by the peer id (BEP 20), else the extended handshake's `v` in quotes; untrusted. */
  readonly client?: string;
  readonly peerIdHex?: string;
  /** BEP 10 `yourip`: our address as the peer saw it; untrusted. */
  readonly yourip?: string;
  /** Why it failed, in words. */
  readonly message?: string;
}

export interface HandshakeProbeOptions {
  readonly infoHash: Buffer;
  /** Our peer id: a peer answering with it is ourselves. */
  readonly peerId: Buffer;
  /** Default PROBE_HANDSHAKE_TIMEOUT_MS. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Times and timers. Default the system clock. */
  readonly clock?: Clock;
}

/**
 * Dials `peer`, sends the BEP 3 handshake and our BEP 10 handshake (carrying `yourip`), and reads
 * back its handshake and, briefly, its extended handshake. Closes the connection right after.
 */
export function probeHandshake(peer: { readonly ip: string; readonly port: number }, opts: HandshakeProbeOptions): Promise<HandshakeProbe> {
  const clock = opts.clock ?? systemClock;
  const { infoHash, peerId, signal } = opts;
  const timeoutMs = opts.timeoutMs ?? PROBE_HANDSHAKE_TIMEOUT_MS;
  const started = clock.now();
  const ms = (): number => Math.round((clock.now() - started) * 10) / 10;
  return new Promise((resolve) => {
    let settled = false;
    let client: string | undefined;
    let peerIdHex: string | undefined;
    let handshakeMs: number | undefined;
    let extTimer: TimerHandle | undefined;
    const socket = connect({ host: peer.ip, port: peer.port });
    const finish = (o: Omit<HandshakeProbe, 'ip' | 'port'>): void => {
      if (settled) return;
      settled = true;
      timer.cancel();
      extTimer?.cancel();
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve({ ip: peer.ip, port: peer.port, ...o });
    };
    const handshaken = (extra: { yourip?: string; v?: string } = {}): void => {
      // The peer id names the client by convention (BEP 20); the BEP 10 `v` string stands in when it does not.
      const name = client ?? (extra.v !== undefined ? `"${extra.v}"` : undefined);
      finish({
        state: 'ok',
        ms: handshakeMs ?? ms(),
        ...(peerIdHex !== undefined ? { peerIdHex } : {}),
        ...(name !== undefined ? { client: name } : {}),
        ...(extra.yourip !== undefined ? { yourip: extra.yourip } : {}),
      });
    };
    const timer = clock.setTimeout(() => {
      if (handshakeMs !== undefined) handshaken();
      else finish({ state: 'timeout', ms: ms(), message: `no handshake within ${timeoutMs} ms` });
    }, timeoutMs);
    const onAbort = (): void => finish({ state: 'aborted', ms: ms(), message: 'aborted' });
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) return onAbort();
    const decoder = new MessageDecoder({ features: LOCAL_FEATURES });
    let bytes = 0;
    let messages = 0;
    socket.on('connect', () => {
      const ext = encodeMessage({ type: 'extended', id: EXTENDED_HANDSHAKE_ID, payload: encodeExtendedHandshake({ m: {}, yourip: peer.ip }) });
      socket.write(Buffer.concat([encodeHandshake({ infoHash, peerId, features: LOCAL_FEATURES }), ext]));
    });
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > MAX_PROBE_PEER_BYTES)
        return handshakeMs !== undefined ? handshaken() : finish({ state: 'error', ms: ms(), message: 'too many bytes before a handshake' });
      let events;
      try {
        events = decoder.push(chunk);
      } catch (e) {
        return handshakeMs !== undefined ? handshaken() : finish({ state: 'error', ms: ms(), message: `not a BitTorrent handshake (${(e as Error).message})` });
      }
      for (const ev of events) {
        if (ev.type === 'handshake') {
          if (!ev.infoHash.equals(infoHash)) return finish({ state: 'wrong-torrent', ms: ms(), message: 'answered for another torrent' });
          if (ev.peerId.equals(peerId)) return finish({ state: 'self', ms: ms(), message: 'this is us' });
          handshakeMs = ms();
          peerIdHex = ev.peerId.toString('hex');
          client = describePeerId(ev.peerId);
          if (decoder.features?.extended !== true) return handshaken();
          extTimer = clock.setTimeout(() => handshaken(), PROBE_EXTENDED_WAIT_MS);
        } else if (ev.type === 'extended' && ev.id === EXTENDED_HANDSHAKE_ID) {
          try {
            const h = decodeExtendedHandshake(ev.payload);
            return handshaken({ ...(h.yourip !== undefined ? { yourip: h.yourip } : {}), ...(h.v !== undefined ? { v: h.v } : {}) });
          } catch {
            return handshaken();
          }
        } else if (++messages > MAX_PROBE_PEER_MESSAGES) {
          return handshaken();
        }
      }
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (handshakeMs !== undefined) return handshaken();
      const code = e.code ?? 'ERROR';
      finish({ state: code === 'ECONNREFUSED' ? 'refused' : 'error', ms: ms(), message: code === 'ECONNREFUSED' ? 'connection refused' : code });
    });
    socket.on('close', () => {
      if (handshakeMs !== undefined) return handshaken();
      finish({ state: 'error', ms: ms(), message: 'closed the connection before its handshake' });
    });
  });
}
