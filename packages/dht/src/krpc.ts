import { BDict, CodecError, decode, encode, type BEncodable, type BValue } from '@tc/codec';
import {
  COMPACT_PEER4_BYTES,
  COMPACT_PEER6_BYTES,
  decodeCompactNodes,
  decodeCompactPeer,
  encodeCompactEndpoint,
  encodeCompactNodes,
  encodeCompactPeer,
} from './compact.js';
import { DhtError } from './errors.js';
import { NODE_ID_BYTES, type Contact, type Endpoint, type Family, type PeerAddress } from './ids.js';

/**
 * KRPC (BEP 5): bencoded dictionaries over UDP, with BEP 32's `nodes6`/`want` and BEP 42's
 * top-level `ip`. Pure: bytes in, typed messages out, and back. Every field from the network is
 * checked against a bound before it is used.
 */

/**
 * Largest datagram decoded. BEP 32 asks senders to stay under 1024 bytes and receivers to take
 * more "in the interest of robustness"; 8 KiB is far above any honest reply and bounds the work
 * one packet can cost.
 */
export const MAX_KRPC_BYTES = 8192;
/** Deepest nesting a KRPC message needs is 3 (message → `r` → `values` → string); room for extensions. */
const MAX_KRPC_DEPTH = 8;
/** Enough values for the largest datagram of 6-byte peers; stops token floods early. */
const MAX_KRPC_TOKENS = 1200;
/** libtorrent sends 2-byte, k-rpc 4-byte transaction ids; 16 leaves room and bounds what we echo. */
export const MAX_TRANSACTION_ID_BYTES = 16;
/** Write tokens seen in the wild are 4 (libtorrent) to 20 (bittorrent-dht) bytes. */
export const MAX_TOKEN_BYTES = 64;
/** Peers read from one `values` list; a node answering with thousands is cut here (the rest counted). */
export const MAX_VALUES_PER_REPLY = 256;
/** Client version strings (`v`) are 4 bytes in practice; longer ones are ignored, not stored. */
const MAX_VERSION_BYTES = 16;
/** Error messages from remotes are kept to this many bytes. */
const MAX_ERROR_MESSAGE_BYTES = 256;
/** Entries read from a `want` list (BEP 32 defines two). */
const MAX_WANT_ENTRIES = 8;

/** BEP 5 error codes. */
export const KRPC_GENERIC_ERROR = 201;
export const KRPC_SERVER_ERROR = 202;
export const KRPC_PROTOCOL_ERROR = 203;
export const KRPC_METHOD_UNKNOWN = 204;

export type Query =
  | { readonly method: 'ping'; readonly id: Buffer }
  | { readonly method: 'find_node'; readonly id: Buffer; readonly target: Buffer; readonly want?: readonly Family[] }
  | { readonly method: 'get_peers'; readonly id: Buffer; readonly infoHash: Buffer; readonly want?: readonly Family[] }
  | {
      readonly method: 'announce_peer';
      readonly id: Buffer;
      readonly infoHash: Buffer;
      /** 0 only when `impliedPort` is set. */
      readonly port: number;
      readonly token: Buffer;
      /** BEP 5: use the datagram's source port instead of `port`. */
      readonly impliedPort: boolean;
    };

export type QueryMethod = Query['method'];

export interface QueryMessage {
  readonly type: 'query';
  readonly t: Buffer;
  /** A query for a method this node does not serve (answered with error 204). */
  readonly unknownMethod?: string;
  /** Undefined only with `unknownMethod`. */
  readonly query: Query | undefined;
  /** BEP 43: the sender does not answer queries; keep it out of the routing table. */
  readonly readOnly: boolean;
  readonly version?: Buffer;
}

export interface ResponseBody {
  readonly id: Buffer;
  readonly nodes?: readonly Contact[];
  readonly nodes6?: readonly Contact[];
  readonly values?: readonly PeerAddress[];
  readonly token?: Buffer;
}

export interface ResponseMessage {
  readonly type: 'response';
  readonly t: Buffer;
  readonly r: ResponseBody;
  /** BEP 42: the responder's view of our address. */
  readonly ip?: Endpoint;
  /** Entries dropped while reading: port 0, wrong lengths, beyond the caps. */
  readonly skipped: number;
  readonly version?: Buffer;
}

export interface ErrorMessage {
  readonly type: 'error';
  readonly t: Buffer;
  readonly code: number;
  readonly message: string;
}

export type KrpcMessage = QueryMessage | ResponseMessage | ErrorMessage;

interface Ctx {
  t?: Buffer;
  isQuery: boolean;
}

function bad(ctx: Ctx, field: string, message: string): DhtError {
  return new DhtError('DHT_BAD_FIELD', `${field}: ${message}`, {
    field,
    ...(ctx.t !== undefined ? { transactionId: ctx.t } : {}),
    isQuery: ctx.isQuery,
  });
}

function bytesField(d: BDict, key: string, field: string, ctx: Ctx, min: number, max: number): Buffer {
  const v = d.get(key);
  if (!Buffer.isBuffer(v)) throw bad(ctx, field, v === undefined ? 'missing' : 'not a byte string');
  if (v.length < min || v.length > max) throw bad(ctx, field, `${v.length} bytes, outside ${min}..${max}`);
  return v;
}

function idField(d: BDict, key: string, field: string, ctx: Ctx): Buffer {
  // Copied so that a stored id never keeps the whole datagram alive.
  return Buffer.from(bytesField(d, key, field, ctx, NODE_ID_BYTES, NODE_ID_BYTES));
}

function intField(d: BDict, key: string, field: string, ctx: Ctx, min: number, max: number): number {
  const v = d.get(key);
  if (typeof v !== 'number') throw bad(ctx, field, v === undefined ? 'missing' : 'not an integer');
  if (v < min || v > max) throw bad(ctx, field, `${v} is outside ${min}..${max}`);
  return v;
}

function wantField(d: BDict, ctx: Ctx): Family[] | undefined {
  const v = d.get('want');
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw bad(ctx, 'a.want', 'not a list');
  const out: Family[] = [];
  // BEP 32: unknown entries are ignored; only the first few are looked at.
  for (const w of v.slice(0, MAX_WANT_ENTRIES)) {
    if (!Buffer.isBuffer(w)) continue;
    const s = w.toString('latin1');
    if (s === 'n4' && !out.includes(4)) out.push(4);
    if (s === 'n6' && !out.includes(6)) out.push(6);
  }
  return out;
}

function versionOf(d: BDict): Buffer | undefined {
  const v = d.get('v');
  return Buffer.isBuffer(v) && v.length <= MAX_VERSION_BYTES ? Buffer.from(v) : undefined;
}

function decodeQuery(d: BDict, t: Buffer): QueryMessage {
  const ctx: Ctx = { t, isQuery: true };
  const q = bytesField(d, 'q', 'q', ctx, 1, 64).toString('latin1');
  const a = d.get('a');
  if (!(a instanceof BDict)) throw bad(ctx, 'a', a === undefined ? 'missing' : 'not a dictionary');
  const version = versionOf(d);
  const base = { type: 'query' as const, t, readOnly: d.get('ro') === 1, ...(version ? { version } : {}) };
  const id = (): Buffer => idField(a, 'id', 'a.id', ctx);
  switch (q) {
    case 'ping':
      return { ...base, query: { method: 'ping', id: id() } };
    case 'find_node': {
      const want = wantField(a, ctx);
      return { ...base, query: { method: 'find_node', id: id(), target: idField(a, 'target', 'a.target', ctx), ...(want ? { want } : {}) } };
    }
    case 'get_peers': {
      const want = wantField(a, ctx);
      return {
        ...base,
        query: { method: 'get_peers', id: id(), infoHash: idField(a, 'info_hash', 'a.info_hash', ctx), ...(want ? { want } : {}) },
      };
    }
    case 'announce_peer': {
      const implied = a.get('implied_port');
      if (implied !== undefined && typeof implied !== 'number') throw bad(ctx, 'a.implied_port', 'not an integer');
      const impliedPort = typeof implied === 'number' && implied !== 0;
      // With implied_port the port argument is ignored (libtorrent still sends one); it may be absent.
      const port = impliedPort && a.get('port') === undefined ? 0 : intField(a, 'port', 'a.port', ctx, impliedPort ? 0 : 1, 0xffff);
      return {
        ...base,
        query: {
          method: 'announce_peer',
          id: id(),
          infoHash: idField(a, 'info_hash', 'a.info_hash', ctx),
          port,
          token: Buffer.from(bytesField(a, 'token', 'a.token', ctx, 1, MAX_TOKEN_BYTES)),
          impliedPort,
        },
      };
    }
    default:
      return { ...base, unknownMethod: q, query: undefined };
  }
}

function decodeResponse(d: BDict, t: Buffer): ResponseMessage {
  const ctx: Ctx = { t, isQuery: false };
  const r = d.get('r');
  if (!(r instanceof BDict)) throw bad(ctx, 'r', r === undefined ? 'missing' : 'not a dictionary');
  let skipped = 0;
  const body: { -readonly [K in keyof ResponseBody]: ResponseBody[K] } = { id: idField(r, 'id', 'r.id', ctx) };
  for (const [key, family] of [
    ['nodes', 4],
    ['nodes6', 6],
  ] as const) {
    const v = r.get(key);
    if (v === undefined) continue;
    if (!Buffer.isBuffer(v)) throw bad(ctx, `r.${key}`, 'not a byte string');
    const list = decodeCompactNodes(v, family, `r.${key}`);
    skipped += list.skipped;
    body[key] = list.nodes;
  }
  const values = r.get('values');
  if (values !== undefined) {
    if (!Array.isArray(values)) throw bad(ctx, 'r.values', 'not a list');
    const peers: PeerAddress[] = [];
    for (const v of values) {
      const p = Buffer.isBuffer(v) && peers.length < MAX_VALUES_PER_REPLY ? decodeCompactPeer(v) : undefined;
      if (p === undefined) skipped++;
      else peers.push(p);
    }
    body.values = peers;
  }
  if (r.get('token') !== undefined) body.token = Buffer.from(bytesField(r, 'token', 'r.token', ctx, 1, MAX_TOKEN_BYTES));
  const ipField = d.get('ip');
  const ip = Buffer.isBuffer(ipField) ? decodeCompactPeer(ipField) : undefined;
  const version = versionOf(d);
  return {
    type: 'response',
    t,
    r: body,
    skipped,
    ...(ip ? { ip: { ip: ip.ip, port: ip.port } } : {}),
    ...(version ? { version } : {}),
  };
}

function decodeErrorMessage(d: BDict, t: Buffer): ErrorMessage {
  const e = d.get('e');
  const ctx: Ctx = { t, isQuery: false };
  if (!Array.isArray(e)) throw bad(ctx, 'e', e === undefined ? 'missing' : 'not a list');
  const [code, message] = e as [BValue | undefined, BValue | undefined];
  if (typeof code !== 'number') throw bad(ctx, 'e[0]', 'not an integer');
  const text = Buffer.isBuffer(message) ? message.subarray(0, MAX_ERROR_MESSAGE_BYTES).toString('utf8') : '';
  return { type: 'error', t, code, message: text };
}

/** Decodes one KRPC datagram; throws DhtError (a codec error is its cause) for anything malformed. */
export function decodeKrpc(datagram: Uint8Array): KrpcMessage {
  if (datagram.length > MAX_KRPC_BYTES) {
    throw new DhtError('DHT_TOO_LARGE', `datagram of ${datagram.length} bytes, more than ${MAX_KRPC_BYTES}`);
  }
  let v: BValue;
  try {
    // Lenient: some clients write unsorted keys; duplicates and bad syntax are still refused.
    v = decode(datagram, { mode: 'lenient', maxDepth: MAX_KRPC_DEPTH, maxTokens: MAX_KRPC_TOKENS, maxBytes: MAX_KRPC_BYTES });
  } catch (e) {
    const why = e instanceof CodecError ? e.message : String(e);
    throw new DhtError('DHT_BAD_MESSAGE', `not valid bencode: ${why}`, { cause: e });
  }
  if (!(v instanceof BDict)) throw new DhtError('DHT_BAD_MESSAGE', 'a KRPC message is a dictionary');
  const t = v.get('t');
  const y = v.get('y');
  const isQuery = Buffer.isBuffer(y) && y.length === 1 && y[0] === 0x71;
  if (!Buffer.isBuffer(t) || t.length < 1 || t.length > MAX_TRANSACTION_ID_BYTES) {
    throw new DhtError('DHT_BAD_TRANSACTION_ID', `t must be 1..${MAX_TRANSACTION_ID_BYTES} bytes`, { field: 't', isQuery });
  }
  const tid = Buffer.from(t);
  if (!Buffer.isBuffer(y) || y.length !== 1) {
    throw new DhtError('DHT_BAD_TYPE', 'y must be "q", "r" or "e"', { field: 'y', transactionId: tid, isQuery });
  }
  switch (y[0]) {
    case 0x71: // q
      return decodeQuery(v, tid);
    case 0x72: // r
      return decodeResponse(v, tid);
    case 0x65: // e
      return decodeErrorMessage(v, tid);
    default:
      throw new DhtError('DHT_BAD_TYPE', 'y must be "q", "r" or "e"', { field: 'y', transactionId: tid });
  }
}

export interface EncodeOptions {
  /** Our client version (`v`), from the engine's identity module. */
  readonly version?: Buffer;
  /** BEP 43: we do not answer queries. */
  readonly readOnly?: boolean;
}

function checkTid(t: Buffer): void {
  if (t.length < 1 || t.length > MAX_TRANSACTION_ID_BYTES) throw new DhtError('DHT_BAD_ARGUMENT', `t must be 1..${MAX_TRANSACTION_ID_BYTES} bytes`);
}

const wantList = (w: readonly Family[] | undefined): Buffer[] | undefined => w?.map((f) => Buffer.from(f === 4 ? 'n4' : 'n6'));

/** The bencoded bytes of a query. */
export function encodeQuery(t: Buffer, q: Query, opts: EncodeOptions = {}): Buffer {
  checkTid(t);
  let a: Record<string, BEncodable | undefined>;
  switch (q.method) {
    case 'ping':
      a = { id: q.id };
      break;
    case 'find_node':
      a = { id: q.id, target: q.target, want: wantList(q.want) };
      break;
    case 'get_peers':
      a = { id: q.id, info_hash: q.infoHash, want: wantList(q.want) };
      break;
    case 'announce_peer':
      if (!Number.isInteger(q.port) || q.port < (q.impliedPort ? 0 : 1) || q.port > 0xffff) {
        throw new DhtError('DHT_BAD_ARGUMENT', `announce port ${q.port} is outside 1..65535`, { field: 'a.port' });
      }
      a = { id: q.id, info_hash: q.infoHash, port: q.port, token: q.token, implied_port: q.impliedPort ? 1 : 0 };
      break;
  }
  return encode({ t, y: 'q', q: q.method, a, v: opts.version, ro: opts.readOnly ? 1 : undefined });
}

export interface ResponseOptions extends EncodeOptions {
  /** BEP 42: the requester's address as we see it. */
  readonly requester?: Endpoint;
}

/** The bencoded bytes of a response. */
export function encodeResponse(t: Buffer, r: ResponseBody, opts: ResponseOptions = {}): Buffer {
  checkTid(t);
  const body: Record<string, BEncodable | undefined> = {
    id: r.id,
    nodes: r.nodes ? encodeCompactNodes(r.nodes, 4) : undefined,
    nodes6: r.nodes6 ? encodeCompactNodes(r.nodes6, 6) : undefined,
    values: r.values ? r.values.map((p) => encodeCompactPeer(p)) : undefined,
    token: r.token,
  };
  const ip = opts.requester ? encodeCompactEndpoint(opts.requester.ip, opts.requester.port) : undefined;
  return encode({ t, y: 'r', r: body, ip, v: opts.version });
}

/** The bencoded bytes of an error reply. */
export function encodeError(t: Buffer, code: number, message: string, opts: EncodeOptions = {}): Buffer {
  checkTid(t);
  return encode({ t, y: 'e', e: [code, message], v: opts.version });
}

/** The widths of compact peers, for callers that size replies. */
export const COMPACT_PEER_BYTES = { 4: COMPACT_PEER4_BYTES, 6: COMPACT_PEER6_BYTES } as const;
