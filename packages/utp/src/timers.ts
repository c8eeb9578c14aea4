import type { Clock, TimerHandle } from '@tc/clock';
import { KEEPALIVE_INTERVAL_MS, ZERO_WINDOW_PROBE_MS, type ConnectionState } from './connection-options.js';

/**
 * A connection's deadlines (retransmission timeout, SYN-RECV timeout, keep-alive, zero-window
 * probe, linger) and the one timer that waits for the earliest of them.
 */

/** What a connection's next deadline depends on. */
export interface DeadlineInputs {
  readonly state: ConnectionState;
  /** After a clean close: when the id is released. */
  readonly lingerUntil: number | undefined;
  readonly synRecvDeadline: number | undefined;
  readonly rtoDeadline: number | undefined;
  /** Packets in the send window (sent, not acked). */
  readonly packetsOut: number;
  readonly queuedBytes: number;
  readonly peerWindow: number;
  readonly lastSentMs: number;
  readonly lastReceivedMs: number;
}

/** Data waits, nothing is out, and the remote's window is zero: only a probe (after ZERO_WINDOW_PROBE_MS of silence) can move things on. */
export function zeroWindowStalled(d: Pick<DeadlineInputs, 'queuedBytes' | 'packetsOut' | 'peerWindow'>): boolean {
  return d.queuedBytes > 0 && d.packetsOut === 0 && d.peerWindow === 0;
}

/** The clock time (ms) of the earliest deadline; Infinity when nothing waits. */
export function nextDeadline(d: DeadlineInputs): number {
  if (d.state === 'closed') return d.lingerUntil ?? Infinity;
  let t = Infinity;
  if (d.synRecvDeadline !== undefined) t = Math.min(t, d.synRecvDeadline);
  if (d.packetsOut > 0 && d.rtoDeadline !== undefined) t = Math.min(t, d.rtoDeadline);
  if (d.state === 'connected' || d.state === 'fin-sent') {
    t = Math.min(t, d.lastSentMs + KEEPALIVE_INTERVAL_MS);
    if (zeroWindowStalled(d)) t = Math.min(t, d.lastReceivedMs + ZERO_WINDOW_PROBE_MS);
  }
  return t;
}

/**
 * One timer armed at the earliest deadline. Deadlines that move later (every ack pushes the
 * retransmission timeout) leave the timer alone: it fires early, the owner finds nothing due and
 * arms it again, which costs one timer per timeout period instead of one per packet.
 */
export class DeadlineTimer {
  private handle: TimerHandle | undefined;
  private at = Infinity;

  constructor(
    private readonly clock: Clock,
    private readonly fire: () => void,
  ) {}

  /** Arms the timer for `at` (clock ms), unless it is already armed for that time or earlier. */
  armAt(at: number, now: number): void {
    if (at === Infinity || at >= this.at) return;
    this.cancel();
    this.at = at;
    this.handle = this.clock.setTimeout(
      () => {
        this.handle = undefined;
        this.at = Infinity;
        this.fire();
      },
      Math.max(0, at - now),
    );
  }

  cancel(): void {
    this.handle?.cancel();
    this.handle = undefined;
    this.at = Infinity;
  }
}
