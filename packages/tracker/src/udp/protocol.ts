import { MAX_PEERS_PER_REPLY, parseCompactPeers } from '../compact-peers.js';
import { TrackerError } from '../errors.js';
import type { AnnounceEvent, AnnounceRequest, AnnounceResult, ScrapeEntry } from '../types.js';

/**
 * Pure BEP 15 packet building and parsing. Big-endian throughout.
 */

/** BEP 15: the magic connection id of a connect request. */
export const UDP_PROTOCOL_ID = 0x41727101980n;
export const ACTION_CONNECT = 0;
export const ACTION_ANNOUNCE = 1;
export const ACTION_SCRAPE = 2;
export const ACTION_ERROR = 3;
/** BEP 15: at most about 74 info-hashes fit one scrape request in a conservative packet. */
export const MAX_UDP_SCRAPE_HASHES = 74;
/**
 * Largest reply we accept. opentracker sends at most 200 peers (3.6 KiB for IPv6); 16 KiB leaves room
 * and still rejects a datagram that only exists to make us allocate (RELIABILITY #29).
 */
export const MAX_UDP_REPLY_BYTES = 16 * 1024;
/** Longest error text kept from a tracker. */
const MAX_ERROR_TEXT_BYTES = 1024;

const CONNECT_REQUEST_BYTES = 16;
const ANNOUNCE_REQUEST_BYTES = 98;
const CONNECT_REPLY_BYTES = 16;
const ANNOUNCE_REPLY_MIN_BYTES = 20;
const SCRAPE_REPLY_MIN_BYTES = 8;
const SCRAPE_ENTRY_BYTES = 12;
const HEADER_BYTES = 8;

const EVENT_CODES: Record<AnnounceEvent, number> = { periodic: 0, completed: 1, started: 2, stopped: 3 };

export function buildConnectRequest(transactionId: number): Buffer {
  const b = Buffer.alloc(CONNECT_REQUEST_BYTES);
  b.writeBigUInt64BE(UDP_PROTOCOL_ID, 0);
  b.writeUInt32BE(ACTION_CONNECT, 8);
  b.writeUInt32BE(transactionId >>> 0, 12);
  return b;
}

function u64(n: number, what: string): bigint {
  if (!Number.isSafeInteger(n) || n < 0) throw new TrackerError('TRACKER_BAD_URL', `${what} must be a non-negative integer, got ${n}`);
  return BigInt(n);
}

export function buildAnnounceRequest(connectionId: bigint, transactionId: number, req: AnnounceRequest): Buffer {
  if (req.infoHash.length !== 20 || req.peerId.length !== 20) throw new TrackerError('TRACKER_BAD_URL', 'info_hash and peer_id must be 20 bytes');
  if (!Number.isInteger(req.port) || req.port < 1 || req.port > 65535) throw new TrackerError('TRACKER_BAD_URL', `port must be 1..65535, got ${req.port}`);
  const b = Buffer.alloc(ANNOUNCE_REQUEST_BYTES);
  b.writeBigUInt64BE(connectionId, 0);
  b.writeUInt32BE(ACTION_ANNOUNCE, 8);
  b.writeUInt32BE(transactionId >>> 0, 12);
  req.infoHash.copy(b, 16);
  req.peerId.copy(b, 36);
  b.writeBigUInt64BE(u64(req.downloaded, 'downloaded'), 56);
  b.writeBigUInt64BE(u64(req.left, 'left'), 64);
  b.writeBigUInt64BE(u64(req.uploaded, 'uploaded'), 72);
  b.writeUInt32BE(EVENT_CODES[req.event], 80);
  b.writeUInt32BE(0, 84); // IP address: 0 = the sender's
  b.writeUInt32BE(req.key >>> 0, 88);
  b.writeInt32BE(req.numwant === undefined ? -1 : Math.min(req.numwant, 0x7fffffff), 92); // -1 = default
  b.writeUInt16BE(req.port, 96);
  return b;
}

export function buildScrapeRequest(connectionId: bigint, transactionId: number, infoHashes: readonly Buffer[]): Buffer {
  if (infoHashes.length === 0 || infoHashes.length > MAX_UDP_SCRAPE_HASHES) {
    throw new TrackerError('TRACKER_BAD_URL', `a UDP scrape takes 1..${MAX_UDP_SCRAPE_HASHES} info-hashes, got ${infoHashes.length}`);
  }
  const b = Buffer.alloc(16 + 20 * infoHashes.length);
  b.writeBigUInt64BE(connectionId, 0);
  b.writeUInt32BE(ACTION_SCRAPE, 8);
  b.writeUInt32BE(transactionId >>> 0, 12);
  infoHashes.forEach((h, i) => {
    if (h.length !== 20) throw new TrackerError('TRACKER_BAD_URL', 'info_hash must be 20 bytes');
    h.copy(b, 16 + 20 * i);
  });
  return b;
}

export type UdpReply =
  | { readonly action: 'connect'; readonly transactionId: number; readonly connectionId: bigint }
  | { readonly action: 'announce'; readonly transactionId: number; readonly result: AnnounceResult }
  | { readonly action: 'scrape'; readonly transactionId: number; readonly entries: readonly Omit<ScrapeEntry, 'infoHash'>[] }
  | { readonly action: 'error'; readonly transactionId: number; readonly message: string };

/** Only the transaction id, for routing before a full parse (undefined if the packet is too short). */
export function peekTransactionId(packet: Uint8Array): number | undefined {
  if (packet.length < HEADER_BYTES) return undefined;
  return Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength).readUInt32BE(4);
}

function bad(message: string): TrackerError {
  return new TrackerError('TRACKER_BAD_RESPONSE', message);
}

/**
 * Parses one reply. `family` is that of the socket it came on: BEP 15 replies over IPv6 carry
 * 18-byte peers. A ragged peer tail is ignored (RELIABILITY #28).
 */
export function parseUdpReply(packet: Uint8Array, family: 4 | 6, maxPeers = MAX_PEERS_PER_REPLY): UdpReply {
  if (packet.length > MAX_UDP_REPLY_BYTES) {
    throw new TrackerError('TRACKER_TOO_LARGE', `UDP reply of ${packet.length} bytes exceeds ${MAX_UDP_REPLY_BYTES}`);
  }
  if (packet.length < HEADER_BYTES) throw bad(`UDP reply of ${packet.length} bytes is shorter than its header`);
  const b = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
  const action = b.readUInt32BE(0);
  const transactionId = b.readUInt32BE(4);
  switch (action) {
    case ACTION_CONNECT:
      if (b.length < CONNECT_REPLY_BYTES) throw bad(`connect reply of ${b.length} bytes, expected ${CONNECT_REPLY_BYTES}`);
      return { action: 'connect', transactionId, connectionId: b.readBigUInt64BE(8) };
    case ACTION_ANNOUNCE: {
      if (b.length < ANNOUNCE_REPLY_MIN_BYTES) throw bad(`announce reply of ${b.length} bytes, expected at least ${ANNOUNCE_REPLY_MIN_BYTES}`);
      const { peers, skipped } = parseCompactPeers(b.subarray(ANNOUNCE_REPLY_MIN_BYTES), family, maxPeers);
      return {
        action: 'announce',
        transactionId,
        result: { interval: b.readUInt32BE(8), incomplete: b.readUInt32BE(12), complete: b.readUInt32BE(16), peers, skipped },
      };
    }
    case ACTION_SCRAPE: {
      if (b.length < SCRAPE_REPLY_MIN_BYTES) throw bad('scrape reply too short');
      const n = Math.floor((b.length - HEADER_BYTES) / SCRAPE_ENTRY_BYTES);
      const entries: Omit<ScrapeEntry, 'infoHash'>[] = [];
      for (let i = 0; i < n; i++) {
        const at = HEADER_BYTES + i * SCRAPE_ENTRY_BYTES;
        entries.push({ complete: b.readUInt32BE(at), downloaded: b.readUInt32BE(at + 4), incomplete: b.readUInt32BE(at + 8) });
      }
      return { action: 'scrape', transactionId, entries };
    }
    case ACTION_ERROR:
      return {
        action: 'error',
        transactionId,
        message: b.toString('utf8', HEADER_BYTES, Math.min(b.length, HEADER_BYTES + MAX_ERROR_TEXT_BYTES)),
      };
    default:
      throw bad(`unknown UDP tracker action ${action}`);
  }
}
