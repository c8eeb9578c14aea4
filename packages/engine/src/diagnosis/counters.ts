import type { CandidateSource } from '../peer/swarm.js';
import { dialFailReason } from './dial-reason.js';
import { SNAPSHOT_MAX_LIST, type DialFailReason } from './snapshot.js';

/**
 * What a torrent's admission counts for the diagnosis (issue 15): where candidates came from, how
 * dials ended, whether anyone ever connected to us, whom we banned. Counts only; bounded.
 */
export class SwarmCounters {
  readonly bySource: Partial<Record<CandidateSource, number>> = {};
  dialAttempts = 0;
  /** Outgoing connections whose handshake arrived. */
  dialConnected = 0;
  readonly dialFailed: Partial<Record<DialFailReason, number>> = {};
  incomingEver = 0;
  /** The last SNAPSHOT_MAX_LIST bans. */
  readonly banned: { address: string; reason: string }[] = [];

  added(source: CandidateSource, n: number): void {
    if (n > 0) this.bySource[source] = (this.bySource[source] ?? 0) + n;
  }

  failed(reason: DialFailReason): void {
    this.dialFailed[reason] = (this.dialFailed[reason] ?? 0) + 1;
  }

  /** An outgoing connection closed before the peer's handshake: reset by the peer, or a failed handshake. */
  handshakeFailed(reason: Error | undefined): void {
    const cause = reason?.cause instanceof Error ? reason.cause : reason;
    const r = dialFailReason(cause, false);
    this.failed(r === 'reset' ? 'reset' : 'handshake-failed');
  }

  ban(address: string, reason: string): void {
    this.banned.push({ address, reason });
    if (this.banned.length > SNAPSHOT_MAX_LIST) this.banned.shift();
  }
}
