import type { DialFailReason } from './snapshot.js';

const BY_ERRNO: Readonly<Record<string, DialFailReason>> = {
  ECONNREFUSED: 'refused',
  ETIMEDOUT: 'timed-out',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  ECONNABORTED: 'reset',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EHOSTDOWN: 'unreachable',
  ENETDOWN: 'unreachable',
  EADDRNOTAVAIL: 'unreachable',
  EAI_AGAIN: 'unreachable',
  ENOTFOUND: 'unreachable',
};

/** Why a dial failed, from the socket's error (its errno `code`), or `timed-out` when our timer fired first. */
export function dialFailReason(error: Error | undefined, timedOut: boolean): DialFailReason {
  if (timedOut) return 'timed-out';
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  // Through the transports (uTP, MSE) the last attempt's error is an EngineError.
  if (code === 'ENGINE_PEER_TIMEOUT') return 'timed-out';
  if (code === 'ENGINE_PEER_PROTOCOL') return 'handshake-failed';
  return (code !== undefined ? BY_ERRNO[code] : undefined) ?? 'other';
}
