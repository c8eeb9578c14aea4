import type { Contact, Family, PeerAddress } from './ids.js';
import { encodeError, encodeResponse, KRPC_METHOD_UNKNOWN, KRPC_PROTOCOL_ERROR, type EncodeOptions, type QueryMessage, type ResponseBody } from './krpc.js';
import type { PeerStore } from './peer-store.js';
import { K } from './routing-table.js';
import type { TokenSecrets } from './tokens.js';

/**
 * Answers the four BEP 5 queries as a good citizen, pure apart from the store and token objects it
 * is given: no socket, no clock of its own.
 */

/**
 * Peers in one get_peers answer. BEP 32 keeps datagrams under 1024 bytes: 50 IPv4 peers (8 bytes
 * each with their length prefix) or 25 IPv6 ones (21 bytes) leave room for the id, token and nodes.
 */
export const MAX_VALUES_SENT = { 4: 50, 6: 25 } as const;

export interface ServeContext {
  readonly id: Buffer;
  readonly now: number;
  /** The k closest members of our table for one family. */
  readonly closest: (family: Family, target: Buffer, count: number) => Contact[];
  readonly tokens: TokenSecrets;
  readonly store: PeerStore;
  readonly encode: EncodeOptions;
}

export interface Requester {
  readonly ip: string;
  readonly port: number;
  readonly family: Family;
}

export interface Answer {
  readonly reply: Buffer;
  /** A peer stored by a valid announce_peer. */
  readonly announced?: { readonly infoHash: Buffer; readonly peer: PeerAddress };
  /** Why the query was refused with an error reply. */
  readonly refused?: string;
}

/**
 * BEP 32: `want` picks the families of nodes to send; without it, the family the query came over.
 * The asker is left out of its own answer (it knows where it is).
 */
function nodeLists(
  ctx: ServeContext,
  from: Requester,
  asker: Buffer,
  target: Buffer,
  want: readonly Family[] | undefined,
): Pick<ResponseBody, 'nodes' | 'nodes6'> {
  const families = want && want.length > 0 ? want : [from.family];
  const closest = (f: Family): Contact[] =>
    ctx
      .closest(f, target, K + 1)
      .filter((c) => !c.id.equals(asker))
      .slice(0, K);
  return {
    ...(families.includes(4) ? { nodes: closest(4) } : {}),
    ...(families.includes(6) ? { nodes6: closest(6) } : {}),
  };
}

export function answerQuery(m: QueryMessage, from: Requester, ctx: ServeContext): Answer {
  const opts = { ...ctx.encode, requester: { ip: from.ip, port: from.port } };
  const q = m.query;
  if (q === undefined) {
    return { reply: encodeError(m.t, KRPC_METHOD_UNKNOWN, 'Method Unknown', ctx.encode), refused: `unknown method ${m.unknownMethod}` };
  }
  switch (q.method) {
    case 'ping':
      return { reply: encodeResponse(m.t, { id: ctx.id }, opts) };
    case 'find_node':
      return { reply: encodeResponse(m.t, { id: ctx.id, ...nodeLists(ctx, from, q.id, q.target, q.want) }, opts) };
    case 'get_peers': {
      const values = ctx.store.get(q.infoHash, from.family, MAX_VALUES_SENT[from.family], ctx.now);
      // Nodes go with values too (as libtorrent does; BEP 32 allows both): the asker converges faster.
      const body: ResponseBody = {
        id: ctx.id,
        token: ctx.tokens.issue(from.ip),
        ...nodeLists(ctx, from, q.id, q.infoHash, q.want),
        ...(values.length > 0 ? { values } : {}),
      };
      return { reply: encodeResponse(m.t, body, opts) };
    }
    case 'announce_peer': {
      if (!ctx.tokens.check(q.token, from.ip)) {
        return { reply: encodeError(m.t, KRPC_PROTOCOL_ERROR, 'bad token', ctx.encode), refused: 'bad token' };
      }
      const port = q.impliedPort ? from.port : q.port;
      // BEP 32: an announce over IPv4 advertises an IPv4 peer, over IPv6 an IPv6 one.
      const peer: PeerAddress = { ip: from.ip, port, family: from.family };
      ctx.store.add(q.infoHash, peer, ctx.now);
      return { reply: encodeResponse(m.t, { id: ctx.id }, opts), announced: { infoHash: q.infoHash, peer } };
    }
  }
}
