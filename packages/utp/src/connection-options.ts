import type { Clock } from '@tc/clock';
import { UtpError } from './errors.js';

/**
 * What a uTP connection is told and tells: its states and close reasons, the handlers it calls,
 * its options with their defaults and bounds, its counters, and the timing constants of BEP 29
 * and libutp that the state machine (connection.ts) keeps.
 */

export type ConnectionState = 'syn-sent' | 'syn-recv' | 'connected' | 'fin-sent' | 'closed';
export type CloseReason = 'done' | 'reset' | 'refused' | 'timeout' | 'destroyed';

/** Whole UDP payload of a full packet (header included). Fits a 1500-byte MTU with IPv6 and tunnel headroom. */
export const DEFAULT_PACKET_BYTES = 1400;
/** The smallest packet we let a caller choose: a header and a useful payload. */
export const MIN_PACKET_BYTES = 150;
/** libtorrent reads datagrams into a 1500-byte buffer: IPv4's 1500 MTU minus IP and UDP headers. */
export const MAX_PACKET_BYTES = 1472;
/** Receive buffer advertised as our window (libutp's default socket buffer). */
export const DEFAULT_RECV_BUFFER_BYTES = 1024 * 1024;
/** Written bytes queued before `write` reports backpressure. */
export const DEFAULT_SEND_BUFFER_BYTES = 1024 * 1024;
export const MAX_BUFFER_BYTES = 64 * 1024 * 1024;
/** libutp: 29 s, measured as safely under what home NATs keep an idle UDP mapping. */
export const KEEPALIVE_INTERVAL_MS = 29_000;
/** libutp gives up on the fifth timeout in a row (about 15 s at the minimum timeout). */
export const MAX_RETRANSMITS = 4;
/** A SYN is sent three times, a second apart and then doubling (about 7 s), before the dial fails. */
export const SYN_TIMEOUT_MS = 1_000;
export const MAX_SYN_TRANSMISSIONS = 3;
/** An answered SYN whose initiator sends nothing more within this long was probably spoofed. */
export const SYN_RECV_TIMEOUT_MS = 10_000;
/** After a clean close, duplicate FINs are still acked this long (our last ack may have been lost). */
export const LINGER_MS = 5_000;
/** libutp: a zero receive window is probed with one packet after 15 s of silence. */
export const ZERO_WINDOW_PROBE_MS = 15_000;

export interface ConnectionHandlers {
  /** A packet to send to the remote. */
  send(packet: Buffer): void;
  /** The connection is established (outgoing: our SYN was answered; incoming: the initiator spoke). */
  connect(): void;
  /** In-order payload (a view of the received datagram). */
  data(payload: Buffer): void;
  /** The remote's FIN: no more data will come. */
  end(): void;
  /** Queued bytes fell below the send buffer: held writes may continue. */
  drain(): void;
  /** Our FIN was acked: everything we wrote arrived. */
  finished(): void;
  /** The connection is over; `error` unless it closed cleanly or was destroyed locally. */
  close(error: UtpError | undefined): void;
  /** Its connection id may be reused (after lingering for stray FINs). */
  release(): void;
}

export interface ConnectionOptions {
  readonly clock: Clock;
  /** Whole UDP payload of a full packet, header included (150–1472; default 1400). */
  readonly packetBytes?: number;
  readonly recvBufferBytes?: number;
  readonly sendBufferBytes?: number;
  /** Bytes delivered to the application and not yet consumed (they shrink our advertised window). */
  readonly readBufferedBytes?: () => number;
  /** Runs `fn` after the current batch of datagrams (acks are deferred to it). Default `setImmediate`. */
  readonly defer?: (fn: () => void) => void;
  /** A random 16-bit number, for the initial sequence number. */
  readonly random16?: () => number;
}

export interface ConnectionStats {
  packetsSent: number;
  packetsReceived: number;
  bytesSent: number;
  bytesReceived: number;
  retransmits: number;
  fastRetransmits: number;
  timeouts: number;
  duplicatePackets: number;
  /** Packets ignored: acks of unsent data, too far ahead, over the window, after the FIN. */
  droppedPackets: number;
}

export interface ConnectionIds {
  /** The id the remote puts in the packets it sends us. */
  readonly recvId: number;
  /** The id we put in the packets we send. */
  readonly sendId: number;
}

export const defaultRandom16 = (): number => Math.floor(Math.random() * 0x10000);
export const defaultDefer = (fn: () => void): void => {
  setImmediate(fn);
};

/** An integer option within `min..max`, or its default; UTP_BAD_ARGUMENT otherwise. */
export function bounded(name: string, v: number | undefined, dflt: number, min: number, max: number): number {
  const x = v ?? dflt;
  if (!Number.isInteger(x) || x < min || x > max) {
    throw new UtpError('UTP_BAD_ARGUMENT', `${name} ${x} is outside ${min}..${max}`, { value: x, limit: max });
  }
  return x;
}

export function newConnectionStats(): ConnectionStats {
  return {
    packetsSent: 0,
    packetsReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    retransmits: 0,
    fastRetransmits: 0,
    timeouts: 0,
    duplicatePackets: 0,
    droppedPackets: 0,
  };
}

/** The packet and buffer sizes of `opts`, checked (UTP_BAD_ARGUMENT) and defaulted; a buffer holds at least one packet. */
export function connectionSizes(opts: Pick<ConnectionOptions, 'packetBytes' | 'recvBufferBytes' | 'sendBufferBytes'>): {
  packetBytes: number;
  recvBufferBytes: number;
  sendBufferBytes: number;
} {
  const packetBytes = bounded('packetBytes', opts.packetBytes, DEFAULT_PACKET_BYTES, MIN_PACKET_BYTES, MAX_PACKET_BYTES);
  return {
    packetBytes,
    recvBufferBytes: bounded('recvBufferBytes', opts.recvBufferBytes, DEFAULT_RECV_BUFFER_BYTES, packetBytes, MAX_BUFFER_BYTES),
    sendBufferBytes: bounded('sendBufferBytes', opts.sendBufferBytes, DEFAULT_SEND_BUFFER_BYTES, packetBytes, MAX_BUFFER_BYTES),
  };
}
