import { encode, type BEncodable } from '@tc/codec';
import { encodeError, encodeQuery, encodeResponse } from './krpc.js';

/**
 * Malformed and hostile KRPC datagrams, deterministic from a seed: for the fuzz test in CI and
 * `bench/fuzz-dht.mjs` (a million). Mutations of valid messages of every kind, random bencode
 * shaped like KRPC, and hand-made attacks (deep nesting, huge length prefixes, floods of values,
 * ragged node lists, prototype keys, our own id).
 */

/** xorshift32: small, fast and repeatable. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

const KEYS = [
  't',
  'y',
  'q',
  'a',
  'r',
  'e',
  'id',
  'target',
  'info_hash',
  'port',
  'token',
  'implied_port',
  'nodes',
  'nodes6',
  'values',
  'want',
  'ip',
  'v',
  'ro',
  '__proto__',
  'constructor',
];
const METHODS = ['ping', 'find_node', 'get_peers', 'announce_peer', 'get', 'put', 'sample_infohashes', ''];

function templates(ownId: Buffer): Buffer[] {
  const id = Buffer.alloc(20, 7);
  const t = Buffer.from('aa');
  const node = { id, ip: '10.1.2.3', port: 6881, family: 4 as const };
  const node6 = { id, ip: '2001:db8::1', port: 6881, family: 6 as const };
  return [
    encodeQuery(t, { method: 'ping', id }),
    encodeQuery(t, { method: 'ping', id: ownId }),
    encodeQuery(t, { method: 'find_node', id, target: ownId, want: [4, 6] }),
    encodeQuery(t, { method: 'get_peers', id, infoHash: id }),
    encodeQuery(t, { method: 'announce_peer', id, infoHash: id, port: 6881, token: Buffer.from('tok'), impliedPort: true }),
    encodeResponse(t, { id, nodes: [node, node], nodes6: [node6], token: Buffer.from('tok') }, { requester: { ip: '1.2.3.4', port: 1 } }),
    encodeResponse(t, {
      id,
      values: [
        { ip: '10.0.0.1', port: 1, family: 4 },
        { ip: '::1', port: 2, family: 6 },
      ],
    }),
    encodeError(t, 203, 'bad'),
  ];
}

function randomValue(r: () => number, depth: number): BEncodable {
  const pick = r();
  if (depth > 5 || pick < 0.3) {
    const len = r() < 0.8 ? Math.floor(r() * 40) : Math.floor(r() * 2000);
    const b = Buffer.alloc(len + 3);
    // Four random bytes per draw: generating the corpus should not cost more than decoding it.
    for (let i = 0; i < len; i += 4) b.writeUInt32LE(Math.floor(r() * 0x100000000), i);
    return b.subarray(0, len);
  }
  if (pick < 0.5) return Math.floor((r() - 0.5) * 2 ** (r() * 60));
  if (pick < 0.7) return Array.from({ length: Math.floor(r() * 8) }, () => randomValue(r, depth + 1));
  const m = new Map<string, BEncodable>();
  const n = Math.floor(r() * 6);
  for (let i = 0; i < n; i++) {
    const k = KEYS[Math.floor(r() * KEYS.length)]!;
    if (k === 'q' && r() < 0.7) m.set(k, METHODS[Math.floor(r() * METHODS.length)]!);
    else if (k === 'y' && r() < 0.7) m.set(k, 'qre'[Math.floor(r() * 3)]!);
    else m.set(k, randomValue(r, depth + 1));
  }
  return m;
}

function mutate(base: Buffer, r: () => number): Buffer {
  const b = Buffer.from(base);
  switch (Math.floor(r() * 6)) {
    case 0: // flip a few bytes
      for (let i = 0; i < 1 + Math.floor(r() * 4); i++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
      return b;
    case 1: // truncate
      return b.subarray(0, Math.floor(r() * b.length));
    case 2: {
      // splice a slice of itself elsewhere
      const s = Math.floor(r() * b.length);
      const e = s + Math.floor(r() * (b.length - s));
      const at = Math.floor(r() * b.length);
      return Buffer.concat([b.subarray(0, at), b.subarray(s, e), b.subarray(at)]);
    }
    case 3: {
      // a digit where a length or integer is
      const at = b.findIndex((c, i) => i > Math.floor(r() * b.length) && c >= 0x30 && c <= 0x39);
      if (at >= 0) b[at] = 0x30 + Math.floor(r() * 10);
      return b;
    }
    case 4: // a huge length prefix
      return Buffer.concat([Buffer.from('d1:t2:aa1:y1:q1:q4:ping1:ad2:id'), Buffer.from(String(Math.floor(r() * 1e12))), Buffer.from(':x')]);
    default:
      return Buffer.concat([b, Buffer.from(b.subarray(0, Math.floor(r() * b.length)))]);
  }
}

function specials(r: () => number, ownId: Buffer): Buffer {
  const id = Buffer.alloc(20, 9);
  switch (Math.floor(r() * 8)) {
    case 0:
      return Buffer.from('d1:a' + 'l'.repeat(200 + Math.floor(r() * 5000)));
    case 1: {
      const n = 500 + Math.floor(r() * 3000);
      return encode({ t: 'aa', y: 'r', r: { id, values: Array.from({ length: n }, (_, i) => Buffer.from([10, 0, i >> 8, i & 255, 0x1a, 0xe1])) } });
    }
    case 2:
      return encode({ t: 'aa', y: 'r', r: { id, nodes: Buffer.alloc(26 * Math.floor(r() * 300) + Math.floor(r() * 26), 1) } });
    case 3:
      return encode({ t: 'aa', y: 'r', r: { id: ownId, nodes: Buffer.concat([ownId, Buffer.from([127, 0, 0, 1, 0x1a, 0xe1])]) } });
    case 4:
      return Buffer.from(`d1:ad2:id20:${'x'.repeat(20)}9:__proto__d9:__proto__i1eee1:q4:ping1:t2:aa1:y1:qe`);
    case 5:
      return Buffer.alloc(Math.floor(r() * 10_000), 0x64);
    case 6:
      return encode({
        t: Buffer.alloc(Math.floor(r() * 40)),
        y: 'q',
        q: 'announce_peer',
        a: { id, info_hash: id, port: Math.floor((r() - 0.5) * 2e5), token: Buffer.alloc(Math.floor(r() * 100)) },
      });
    default:
      return encode({ t: 'aa', y: 'e', e: [Math.floor(r() * 1e6), Buffer.alloc(Math.floor(r() * 5000), 0x41)] });
  }
}

/** `count` hostile datagrams from `seed`; `ownId` lets some of them claim the target node's id. */
export function* hostileKrpcDatagrams(seed: number, count: number, ownId: Buffer = Buffer.alloc(20)): Generator<Buffer> {
  const r = rng(seed);
  const bases = templates(ownId);
  for (let i = 0; i < count; i++) {
    const kind = r();
    if (kind < 0.5) yield mutate(bases[Math.floor(r() * bases.length)]!, r);
    else if (kind < 0.85) {
      try {
        yield encode(randomValue(r, 0));
      } catch {
        yield Buffer.from('d');
      }
    } else yield specials(r, ownId);
  }
}
