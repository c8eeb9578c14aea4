import { CodecError, type CodecProblem } from './errors.js';
import { infoHashBase32, infoHashFromBytes, infoHashHex, INFO_HASH_BYTES, parseInfoHash, type InfoHash } from './ids.js';
import type { Metainfo } from './metainfo/types.js';
import { checkUrl, TRACKER_PROTOCOLS, WEB_SEED_PROTOCOLS } from './urls.js';

/** Longer magnet links are refused outright: real ones are well under 8 KiB (RELIABILITY #17). */
export const MAX_MAGNET_CHARS = 64 * 1024;
/** `tr=` kept; the rest are dropped with a warning (RELIABILITY #17: "hundreds of tr=", cap and warn). */
export const MAX_MAGNET_TRACKERS = 64;
/** `ws=` kept. */
export const MAX_MAGNET_WEB_SEEDS = 64;
/** `x.pe=` kept. */
export const MAX_MAGNET_PEERS = 200;
/** BEP 53 `so=` ranges kept. */
export const MAX_MAGNET_SELECT_RANGES = 1000;
/** BEP 53 file indices above this cannot name a file of a torrent within our 3M-token limit. */
const MAX_FILE_INDEX = 3_000_000;

/** A peer address from `x.pe` (BEP 9). */
export interface MagnetPeer {
  readonly host: string;
  readonly port: number;
}

/** An inclusive range of file indices from BEP 53 `so=`. */
export interface FileRange {
  readonly first: number;
  readonly last: number;
}

export interface Magnet {
  /** The swarm's 20-byte hash: `btih`, or the truncated `btmh` of a v2-only link. */
  readonly infoHash: InfoHash;
  /** BEP 52 `xt=urn:btmh:1220…`: the full SHA-256 v2 info-hash, when given. */
  readonly infoHashV2: Buffer | undefined;
  /** Only a `btmh` was given (a v2-only torrent). */
  readonly v2Only: boolean;
  readonly infoHashHex: string;
  readonly infoHashBase32: string;
  /** `dn`: display name, a hint only. */
  readonly name: string | undefined;
  /** `tr`, deduplicated, http(s)/udp/ws(s) only, in order. */
  readonly trackers: readonly string[];
  /** `ws`, http(s) only. */
  readonly webSeeds: readonly string[];
  /** `x.pe`. */
  readonly peers: readonly MagnetPeer[];
  /** BEP 53 `so`: files to download, as inclusive ranges (not expanded: `0-4294967295` stays small). */
  readonly selectOnly: readonly FileRange[] | undefined;
}

export interface ParsedMagnet {
  readonly magnet: Magnet;
  readonly warnings: readonly CodecProblem[];
}

/** What formatMagnet accepts: an info-hash and any optional parts. */
export interface MagnetInput {
  /** The `btih` (omitted from the link when `v2Only`). */
  readonly infoHash: InfoHash | Uint8Array;
  /** The 32-byte SHA-256 v2 info-hash, written as `xt=urn:btmh:1220…`. */
  readonly infoHashV2?: Uint8Array | undefined;
  /** Write only the `btmh` (a v2-only torrent has no btih). */
  readonly v2Only?: boolean | undefined;
  readonly name?: string | undefined;
  readonly trackers?: readonly string[] | undefined;
  readonly webSeeds?: readonly string[] | undefined;
  readonly peers?: readonly MagnetPeer[] | undefined;
  readonly selectOnly?: readonly FileRange[] | undefined;
}

const KNOWN_PARAMS = new Set(['xt', 'dn', 'tr', 'ws', 'x.pe', 'so', 'xl', 'as', 'xs', 'kt', 'mt']);

function bad(message: string): CodecError {
  return new CodecError('CODEC_BAD_MAGNET', message, { field: 'magnet' });
}

function percentDecode(value: string, name: string): string {
  try {
    return decodeURIComponent(value);
  } catch (cause) {
    throw new CodecError('CODEC_BAD_MAGNET', `${name} has a malformed percent-encoding`, { field: name, cause });
  }
}

function parsePeer(value: string): MagnetPeer | undefined {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(value) ?? /^([^:\s[\]]+):(\d{1,5})$/.exec(value);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1]!, port };
}

/** BEP 53: `so=0,2,4-6`: comma-separated indices and inclusive ranges. */
function parseSelectOnly(value: string): FileRange[] {
  const out: FileRange[] = [];
  for (const part of value.split(',')) {
    const m = /^(\d{1,7})(?:-(\d{1,7}))?$/.exec(part);
    if (!m) throw bad(`so has a malformed item ${JSON.stringify(part.slice(0, 40))}`);
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    if (last < first || last > MAX_FILE_INDEX) throw bad(`so has a bad range ${JSON.stringify(part)}`);
    if (out.length >= MAX_MAGNET_SELECT_RANGES) throw bad(`so has more than ${MAX_MAGNET_SELECT_RANGES} ranges`);
    out.push({ first, last });
  }
  return out;
}

/** BEP 52: a v2 magnet carries a multihash, SHA2-256 (0x12) of 32 bytes (0x20), in hex. */
const BTMH = /^1220([0-9a-f]{64})$/i;

export interface ParseMagnetOptions {
  /** Accept a link with only a v2 `btmh` hash (off by default: the engine downloads v1 and hybrid swarms). */
  readonly allowV2Only?: boolean;
}

/**
 * Parses a BEP 9 magnet link (`xt=urn:btih:` in hex or base32, `dn`, `tr`, `ws`, `x.pe`) with BEP 53
 * `so`. Throws CODEC_BAD_MAGNET for a malformed link; over-long lists are capped with a warning.
 */
export function parseMagnet(uri: string, opts: ParseMagnetOptions = {}): ParsedMagnet {
  if (uri.length > MAX_MAGNET_CHARS) throw bad(`magnet link is ${uri.length} characters, more than ${MAX_MAGNET_CHARS}`);
  const m = /^magnet:\?(.*)$/is.exec(uri.trim());
  if (!m) throw bad("not a magnet link (must start with 'magnet:?')");
  const warnings: CodecProblem[] = [];
  const warnOnce = new Set<string>();
  const warn = (code: CodecProblem['code'], message: string, field: string): void => {
    if (warnings.length < 100) warnings.push({ code, message, field });
  };
  let hash: InfoHash | undefined;
  let sawV1 = false;
  let name: string | undefined;
  const trackers: string[] = [];
  const webSeeds: string[] = [];
  const peers: MagnetPeer[] = [];
  let selectOnly: FileRange[] | undefined;
  let v2: Buffer | undefined;

  for (const pair of m[1]!.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawKey = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? '' : pair.slice(eq + 1);
    // Multi-valued keys may be numbered: `tr.1=`, `xt.2=` (BEP 9 allows it for xt).
    const key = percentDecode(rawKey, 'key')
      .toLowerCase()
      .replace(/^(xt|tr|ws|dn)\.\d+$/, '$1');
    switch (key) {
      case 'xt': {
        const v = percentDecode(rawValue, 'xt');
        const bt = /^urn:btih:(.*)$/i.exec(v);
        if (bt) {
          let h: InfoHash;
          try {
            h = parseInfoHash(bt[1]!);
          } catch {
            throw bad('xt=urn:btih: needs 40 hex or 32 base32 characters');
          }
          if (hash && !hash.equals(h)) throw bad('two different btih info-hashes');
          hash = h;
          sawV1 = true;
        } else if (/^urn:btmh:/i.test(v)) {
          const mh = BTMH.exec(v.slice('urn:btmh:'.length));
          if (!mh) throw bad('xt=urn:btmh: needs 1220 and 64 hex characters (a SHA-256 multihash)');
          const h = Buffer.from(mh[1]!, 'hex');
          if (v2 && !v2.equals(h)) throw bad('two different btmh info-hashes');
          v2 = h;
        } else if (!warnOnce.has('xt')) {
          warnOnce.add('xt');
          warn('WARN_MAGNET_UNKNOWN_PARAM', 'xt with an unknown URN ignored', 'xt');
        }
        break;
      }
      case 'dn':
        // `+` for space is common in dn (form encoding); a literal + is written %2B.
        name = percentDecode(rawValue.replace(/\+/g, ' '), 'dn');
        break;
      case 'tr':
      case 'ws': {
        const isTr = key === 'tr';
        const v = percentDecode(rawValue, key);
        const checked = checkUrl(v, isTr ? TRACKER_PROTOCOLS : WEB_SEED_PROTOCOLS);
        if ('why' in checked) {
          warn('WARN_BAD_TRACKER_URL', `${key} ${checked.why}; ignored`, key);
          break;
        }
        const url = checked.url;
        const list = isTr ? trackers : webSeeds;
        const cap = isTr ? MAX_MAGNET_TRACKERS : MAX_MAGNET_WEB_SEEDS;
        if (list.includes(url)) break;
        if (list.length >= cap) {
          if (!warnOnce.has(key)) warn('WARN_MAGNET_CAPPED', `more than ${cap} ${key}= values; the rest ignored`, key);
          warnOnce.add(key);
          break;
        }
        list.push(url);
        break;
      }
      case 'x.pe': {
        const v = percentDecode(rawValue, 'x.pe');
        const peer = parsePeer(v);
        if (!peer) {
          warn('WARN_MAGNET_UNKNOWN_PARAM', 'x.pe is not host:port; ignored', 'x.pe');
          break;
        }
        if (peers.length >= MAX_MAGNET_PEERS) {
          if (!warnOnce.has('x.pe')) warn('WARN_MAGNET_CAPPED', `more than ${MAX_MAGNET_PEERS} x.pe= values; the rest ignored`, 'x.pe');
          warnOnce.add('x.pe');
          break;
        }
        peers.push(peer);
        break;
      }
      case 'so':
        selectOnly = [...(selectOnly ?? []), ...parseSelectOnly(percentDecode(rawValue, 'so'))];
        if (selectOnly.length > MAX_MAGNET_SELECT_RANGES) throw bad(`so has more than ${MAX_MAGNET_SELECT_RANGES} ranges`);
        break;
      default:
        if (!KNOWN_PARAMS.has(key) && !warnOnce.has(key) && warnOnce.size < 20) {
          warnOnce.add(key);
          warn('WARN_MAGNET_UNKNOWN_PARAM', `unknown parameter ${JSON.stringify(key.slice(0, 40))} ignored`, key.slice(0, 40));
        }
    }
  }
  if (!hash && v2) {
    if (opts.allowV2Only !== true) {
      throw new CodecError('CODEC_V2_UNSUPPORTED', 'v2-only magnet links (btmh without btih) are not supported yet: tc downloads v1 and hybrid torrents', {
        field: 'xt',
      });
    }
    hash = infoHashFromBytes(v2.subarray(0, INFO_HASH_BYTES));
  }
  if (!hash) throw bad('no xt=urn:btih: info-hash');
  return {
    magnet: {
      infoHash: hash,
      infoHashV2: v2,
      v2Only: v2 !== undefined && !sawV1,
      infoHashHex: infoHashHex(hash),
      infoHashBase32: infoHashBase32(hash),
      name,
      trackers,
      webSeeds,
      peers,
      selectOnly,
    },
    warnings,
  };
}

/** Percent-encodes all but RFC 3986 unreserved characters and `:` `/` (kept readable in URLs). */
function enc(s: string): string {
  return encodeURIComponent(s)
    .replace(/%3A/gi, ':')
    .replace(/%2F/gi, '/')
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Formats a magnet link with a hex btih (the form every client reads). */
export function formatMagnet(m: MagnetInput): string {
  if (m.infoHash.length !== 20) throw new CodecError('CODEC_BAD_INFO_HASH', 'an info-hash is 20 bytes');
  if (m.infoHashV2 !== undefined && m.infoHashV2.length !== 32) throw new CodecError('CODEC_BAD_INFO_HASH', 'a v2 info-hash is 32 bytes');
  if (m.v2Only === true && m.infoHashV2 === undefined) throw new CodecError('CODEC_BAD_INFO_HASH', 'a v2-only magnet needs the v2 info-hash');
  const parts = m.v2Only === true ? [] : [`xt=urn:btih:${Buffer.from(m.infoHash).toString('hex')}`];
  if (m.infoHashV2 !== undefined) parts.push(`xt=urn:btmh:1220${Buffer.from(m.infoHashV2).toString('hex')}`);
  if (m.name !== undefined && m.name !== '') parts.push(`dn=${enc(m.name)}`);
  for (const t of m.trackers ?? []) parts.push(`tr=${enc(t)}`);
  for (const w of m.webSeeds ?? []) parts.push(`ws=${enc(w)}`);
  for (const p of m.peers ?? []) parts.push(`x.pe=${enc(p.host.includes(':') ? `[${p.host}]:${p.port}` : `${p.host}:${p.port}`)}`);
  if (m.selectOnly && m.selectOnly.length > 0) {
    parts.push(`so=${m.selectOnly.map((r) => (r.first === r.last ? `${r.first}` : `${r.first}-${r.last}`)).join(',')}`);
  }
  return `magnet:?${parts.join('&')}`;
}

/** The magnet link of a parsed torrent: hash, name, every tracker in tier order, web seeds. */
export function toMagnet(metainfo: Metainfo): string {
  return formatMagnet({
    infoHash: metainfo.infoHash,
    infoHashV2: metainfo.v2?.infoHash,
    v2Only: metainfo.version === 'v2',
    name: metainfo.name,
    trackers: metainfo.announceTiers.flat(),
    webSeeds: metainfo.webSeeds,
  });
}
