import { BDict, asBytes, asDict, asInt, decode, type BValue } from '@tc/codec';
import { isIPv6 } from 'node:net';
import { ipv4ToString, ipv6ToString, MAX_PEERS_PER_REPLY, parseCompactPeers } from '../compact-peers.js';
import { TrackerError } from '../errors.js';
import type { AnnounceRequest, AnnounceResult, Peer, ScrapeEntry, ScrapeResult } from '../types.js';

/**
 * Pure HTTP tracker protocol (BEP 3, BEP 23, BEP 7, BEP 48): URLs out, bencoded replies in.
 * No sockets here; see client.ts.
 */

/** Bencode bounds for a reply that is at most 1 MiB: a peer dict costs ~4 tokens, so 2000 peers fit easily. */
const REPLY_MAX_TOKENS = 200_000;
const REPLY_MAX_DEPTH = 8;
/** Longest tracker text we keep (failure reason, warning); the rest is cut, the text is shown to users. */
const MAX_TRACKER_TEXT_CHARS = 1024;
/**
 * Largest interval read, in seconds: a u32, as in BEP 15's UDP reply. Longer waits are the
 * scheduler's to cap (tiers.ts); rejecting them would throw away a good reply's peers.
 */
const MAX_INTERVAL_S = 0xffff_ffff;

const HEX = '0123456789ABCDEF';

/** Percent-encodes every byte (TOOLCHAIN.md: URLSearchParams would UTF-8-encode bytes ≥ 0x80). */
export function percentEncodeBytes(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += '%' + HEX[b >> 4] + HEX[b & 15];
  return s;
}

function checkId(b: Buffer, what: string): void {
  if (b.length !== 20) throw new TrackerError('TRACKER_BAD_URL', `${what} must be 20 bytes, got ${b.length}`);
}

function checkCount(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new TrackerError('TRACKER_BAD_URL', `${what} must be a non-negative integer, got ${n}`);
}

/** Appends query parameters to a URL that may already have a query (private trackers put a passkey there). */
function appendQuery(base: string, params: string[]): string {
  const hash = base.indexOf('#');
  const url = hash >= 0 ? base.slice(0, hash) : base;
  const sep = url.includes('?') ? (url.endsWith('?') || url.endsWith('&') ? '' : '&') : '?';
  return url + sep + params.join('&');
}

export function checkHttpUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch (e) {
    throw new TrackerError('TRACKER_BAD_URL', `not a valid URL: ${url}`, { cause: e });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new TrackerError('TRACKER_UNSUPPORTED', `not an HTTP tracker: ${u.protocol}`, { url });
  }
  return u;
}

/** The announce URL with BEP 3 parameters; info_hash and peer_id percent-encoded byte by byte. */
export function buildAnnounceUrl(announceUrl: string, req: AnnounceRequest): string {
  checkHttpUrl(announceUrl);
  checkId(req.infoHash, 'info_hash');
  checkId(req.peerId, 'peer_id');
  if (!Number.isInteger(req.port) || req.port < 1 || req.port > 65535) {
    throw new TrackerError('TRACKER_BAD_URL', `port must be 1..65535, got ${req.port}`);
  }
  checkCount(req.uploaded, 'uploaded');
  checkCount(req.downloaded, 'downloaded');
  checkCount(req.left, 'left');
  const params = [
    `info_hash=${percentEncodeBytes(req.infoHash)}`,
    `peer_id=${percentEncodeBytes(req.peerId)}`,
    `port=${req.port}`,
    `uploaded=${req.uploaded}`,
    `downloaded=${req.downloaded}`,
    `left=${req.left}`,
    'compact=1',
  ];
  if (req.numwant !== undefined) {
    checkCount(req.numwant, 'numwant');
    params.push(`numwant=${req.numwant}`);
  }
  // BEP 7: key as 8 hex digits, the form most clients send.
  params.push(`key=${(req.key >>> 0).toString(16).toUpperCase().padStart(8, '0')}`);
  if (req.event !== 'periodic') params.push(`event=${req.event}`);
  if (req.trackerId !== undefined) params.push(`trackerid=${percentEncodeBytes(req.trackerId)}`);
  return appendQuery(announceUrl, params);
}

/**
 * BEP 48: the scrape URL exists only when the text after the last `/` of the path starts with
 * `announce`; that word is replaced by `scrape`. Undefined when the tracker has none.
 */
export function scrapeUrlFor(announceUrl: string): string | undefined {
  const q = announceUrl.search(/[?#]/);
  const path = q >= 0 ? announceUrl.slice(0, q) : announceUrl;
  const rest = q >= 0 ? announceUrl.slice(q) : '';
  const slash = path.lastIndexOf('/');
  if (slash < 0 || path.slice(slash + 1, slash + 9) !== 'announce') return undefined;
  // The slash must be in the path, not the `//` of the scheme.
  if (path.slice(0, slash).endsWith('/') && /^[a-z][a-z0-9+.-]*:\/$/i.test(path.slice(0, slash))) return undefined;
  return path.slice(0, slash + 1) + 'scrape' + path.slice(slash + 9) + rest;
}

/** BEP 48 scrape URL carrying several info-hashes. */
export function buildScrapeUrl(scrapeUrl: string, infoHashes: readonly Buffer[]): string {
  checkHttpUrl(scrapeUrl);
  infoHashes.forEach((h) => checkId(h, 'info_hash'));
  return appendQuery(
    scrapeUrl,
    infoHashes.map((h) => `info_hash=${percentEncodeBytes(h)}`),
  );
}

function trackerText(b: Buffer): string {
  const s = b.toString('utf8');
  return s.length > MAX_TRACKER_TEXT_CHARS ? s.slice(0, MAX_TRACKER_TEXT_CHARS) + '…' : s;
}

/** Decodes a reply, turning any codec error into TRACKER_BAD_RESPONSE. */
function decodeReply(body: Uint8Array): BDict {
  try {
    return asDict(decode(body, { mode: 'lenient', maxTokens: REPLY_MAX_TOKENS, maxDepth: REPLY_MAX_DEPTH }), 'reply');
  } catch (e) {
    throw new TrackerError('TRACKER_BAD_RESPONSE', `tracker reply is not a bencoded dictionary: ${(e as Error).message}`, { cause: e });
  }
}

/** Throws TRACKER_FAILURE when the reply carries `failure reason` (BEP 3: then no other key matters). */
function checkFailure(d: BDict): void {
  const reason = d.get('failure reason');
  if (reason === undefined) return;
  const text = Buffer.isBuffer(reason) ? trackerText(reason) : '(failure reason of the wrong type)';
  throw new TrackerError('TRACKER_FAILURE', `tracker said: ${text}`, { trackerMessage: text });
}

function badField(e: unknown): TrackerError {
  return new TrackerError('TRACKER_BAD_RESPONSE', (e as Error).message, { cause: e });
}

function optionalInt(d: BDict, key: string, max: number): number | undefined {
  const v = d.get(key);
  if (v === undefined) return undefined;
  try {
    return asInt(v, key, 0, max);
  } catch (e) {
    throw badField(e);
  }
}

function parseDictPeers(list: BValue[], max: number): { peers: Peer[]; skipped: number } {
  const peers: Peer[] = [];
  let skipped = 0;
  for (const item of list) {
    if (peers.length >= max) {
      skipped++;
      continue;
    }
    if (!(item instanceof BDict)) {
      skipped++;
      continue;
    }
    const ipv = item.get('ip');
    const portv = item.get('port');
    if (!Buffer.isBuffer(ipv) || typeof portv !== 'number' || portv < 1 || portv > 65535 || !Number.isInteger(portv)) {
      skipped++;
      continue;
    }
    const ip = ipv.toString('latin1');
    const family = ipFamily(ip);
    if (family === 0) {
      // BEP 3 allows a DNS name here; resolving names a tracker chose is an SSRF and privacy risk, so skip it.
      skipped++;
      continue;
    }
    const idv = item.get('peer id');
    const peer: Peer =
      Buffer.isBuffer(idv) && idv.length === 20
        ? { ip: normaliseIp(ip, family), port: portv, family, peerId: Buffer.from(idv) }
        : { ip: normaliseIp(ip, family), port: portv, family };
    peers.push(peer);
  }
  return { peers, skipped };
}

/** 4 for a dotted quad, 6 for an IPv6 literal, 0 otherwise. */
export function ipFamily(ip: string): 0 | 4 | 6 {
  if (/^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(ip)) return 4;
  // isIPv6 after the character check: the check keeps zone ids (`%eth0`) out, isIPv6 catches `::::`.
  if (ip.includes(':') && /^[0-9a-fA-F:.]+$/.test(ip) && ip.length <= 45 && isIPv6(ip)) return 6;
  return 0;
}

function normaliseIp(ip: string, family: 4 | 6): string {
  if (family === 4) return ip;
  try {
    // The WHATWG URL parser canonicalises IPv6 text (and rejects bad forms).
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip.toLowerCase();
  }
}

/** Parses an announce reply (BEP 3; compact BEP 23; `peers6` BEP 7). Throws TrackerError on failure or garbage. */
export function parseAnnounceReply(body: Uint8Array, maxPeers = MAX_PEERS_PER_REPLY): AnnounceResult {
  const d = decodeReply(body);
  checkFailure(d);
  const interval = optionalInt(d, 'interval', MAX_INTERVAL_S);
  if (interval === undefined) throw new TrackerError('TRACKER_BAD_RESPONSE', 'reply has no interval');
  const minInterval = optionalInt(d, 'min interval', MAX_INTERVAL_S);
  const complete = optionalInt(d, 'complete', Number.MAX_SAFE_INTEGER);
  const incomplete = optionalInt(d, 'incomplete', Number.MAX_SAFE_INTEGER);

  const peers: Peer[] = [];
  let skipped = 0;
  const add = (list: { peers: Peer[]; skipped: number }): void => {
    peers.push(...list.peers);
    skipped += list.skipped;
  };
  const p4 = d.get('peers');
  if (Buffer.isBuffer(p4)) add(parseCompactPeers(p4, 4, maxPeers));
  else if (Array.isArray(p4)) add(parseDictPeers(p4, maxPeers));
  else if (p4 !== undefined) throw new TrackerError('TRACKER_BAD_RESPONSE', 'peers should be a byte string or a list');
  const p6 = d.get('peers6');
  if (p6 !== undefined) {
    try {
      add(parseCompactPeers(asBytes(p6, 'peers6'), 6, Math.max(0, maxPeers - peers.length)));
    } catch (e) {
      if (e instanceof TrackerError) throw e;
      throw badField(e);
    }
  }
  if (p4 === undefined && p6 === undefined) throw new TrackerError('TRACKER_BAD_RESPONSE', 'reply has no peers');

  const warning = d.get('warning message');
  const trackerId = d.get('tracker id');
  const externalIp = externalIpOf(d.get('external ip'));
  return {
    interval,
    ...(minInterval !== undefined ? { minInterval } : {}),
    ...(complete !== undefined ? { complete } : {}),
    ...(incomplete !== undefined ? { incomplete } : {}),
    peers,
    skipped,
    ...(Buffer.isBuffer(warning) ? { warning: trackerText(warning) } : {}),
    ...(Buffer.isBuffer(trackerId) && trackerId.length <= 256 ? { trackerId: Buffer.from(trackerId) } : {}),
    ...(externalIp !== undefined ? { externalIp } : {}),
  };
}

/** BEP 24: `external ip` is 4 (IPv4) or 16 (IPv6) raw bytes; anything else is ignored, not an error. */
function externalIpOf(v: BValue | undefined): string | undefined {
  if (!Buffer.isBuffer(v)) return undefined;
  if (v.length === 4) return ipv4ToString(v, 0);
  if (v.length === 16) return ipv6ToString(v, 0);
  return undefined;
}

/**
 * A `files` key as a 20-byte info-hash. The bittorrent-tracker npm server writes the hash as a JS
 * "binary string" that its encoder then UTF-8-encodes (bytes ≥ 0x80 become two); such a key is
 * recovered when it decodes to exactly 20 code points below 0x100.
 */
function scrapeKey(key: string): Buffer | undefined {
  if (key.length === 20) return Buffer.from(key, 'latin1');
  const text = Buffer.from(key, 'latin1').toString('utf8');
  if (text.length === 20 && [...text].every((c) => c.charCodeAt(0) < 0x100)) return Buffer.from(text, 'latin1');
  return undefined;
}

/** Parses a scrape reply (BEP 48). Entries whose key is not 20 bytes or whose counts are wrong are skipped. */
export function parseScrapeReply(body: Uint8Array): ScrapeResult {
  const d = decodeReply(body);
  checkFailure(d);
  let files: BDict;
  try {
    files = asDict(d.get('files'), 'files');
  } catch (e) {
    throw badField(e);
  }
  const out = new Map<string, ScrapeEntry>();
  for (const [key, entry] of files.entries) {
    const hash = scrapeKey(key);
    if (hash === undefined || !(entry.value instanceof BDict)) continue;
    const count = (k: string): number => {
      const v = entry.value instanceof BDict ? entry.value.get(k) : undefined;
      return typeof v === 'number' && v >= 0 ? v : 0;
    };
    out.set(hash.toString('hex'), { infoHash: hash, complete: count('complete'), downloaded: count('downloaded'), incomplete: count('incomplete') });
  }
  return { files: out };
}
