import { BDict, decode, encode } from '@tc/codec';
import { decodeCompactNodes, encodeCompactNodes } from './compact.js';
import { DhtError } from './errors.js';
import { NODE_ID_BYTES, type Contact } from './ids.js';

/**
 * The routing table between runs (BEP 5: "the routing table should be saved"), as bytes: our id and
 * the nodes worth asking first next time. The engine writes the file (atomically, in the state
 * folder); this module only encodes and checks.
 */

/** Nodes saved per family: enough to bootstrap without a router, small enough to read at once. */
export const MAX_SAVED_NODES = 200;
/** A saved state larger than this is not ours (200 × 38 bytes per family plus the envelope fits easily). */
export const MAX_STATE_BYTES = 32 * 1024;
const STATE_VERSION = 1;

export interface DhtState {
  readonly id: Buffer;
  readonly nodes: readonly Contact[];
}

export function encodeState(s: DhtState): Buffer {
  if (s.id.length !== NODE_ID_BYTES) throw new DhtError('DHT_BAD_ARGUMENT', 'a node id is 20 bytes');
  const v4 = s.nodes.filter((n) => n.family === 4).slice(0, MAX_SAVED_NODES);
  const v6 = s.nodes.filter((n) => n.family === 6).slice(0, MAX_SAVED_NODES);
  return encode({ id: s.id, nodes: encodeCompactNodes(v4, 4), nodes6: encodeCompactNodes(v6, 6), version: STATE_VERSION });
}

function bad(message: string, cause?: unknown): DhtError {
  return new DhtError('DHT_BAD_STATE', `saved DHT state: ${message}`, cause !== undefined ? { cause } : {});
}

/** Reads what `encodeState` wrote; anything else is DHT_BAD_STATE (the caller then starts afresh). */
export function decodeState(bytes: Uint8Array): DhtState {
  if (bytes.length > MAX_STATE_BYTES) throw bad(`${bytes.length} bytes, more than ${MAX_STATE_BYTES}`);
  let d;
  try {
    d = decode(bytes, { maxDepth: 2, maxTokens: 16 });
  } catch (e) {
    throw bad('not valid bencode', e);
  }
  if (!(d instanceof BDict)) throw bad('not a dictionary');
  if (d.get('version') !== STATE_VERSION) throw bad(`version is not ${STATE_VERSION}`);
  const id = d.get('id');
  if (!Buffer.isBuffer(id) || id.length !== NODE_ID_BYTES) throw bad('id is not 20 bytes');
  const nodes: Contact[] = [];
  for (const [key, family] of [
    ['nodes', 4],
    ['nodes6', 6],
  ] as const) {
    const v = d.get(key);
    if (v === undefined) continue;
    if (!Buffer.isBuffer(v)) throw bad(`${key} is not a byte string`);
    try {
      nodes.push(...decodeCompactNodes(v, family, key, MAX_SAVED_NODES).nodes);
    } catch (e) {
      throw bad(`${key} is malformed`, e);
    }
  }
  return { id: Buffer.from(id), nodes };
}
