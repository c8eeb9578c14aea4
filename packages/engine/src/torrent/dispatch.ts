import { Bitfield, isHashMessageId, UT_HOLEPUNCH, UT_METADATA, UT_PEX, WireError, type Message } from '@tc/wire';
import type { TorrentPex } from '../discovery/pex.js';
import type { PeerAddress } from '../peer/connection.js';
import type { HashServer } from '../v2/hash-server.js';
import type { TorrentContext } from './context.js';
import { onHolepunchMessage } from './holepunch.js';
import { onMetadataMessage } from './metadata-server.js';
import { MAX_ALLOWED_FAST_PIECES, MAX_CLIENT_NAME_CHARS, MAX_PEER_REQQ, type PeerState } from './peer-state.js';
import type { Requester } from './requesting.js';
import type { Server } from './serving.js';

/** The parts a peer's messages go to. */
export interface DispatchParts {
  readonly ctx: TorrentContext;
  readonly requester: Requester;
  readonly server: Server;
  /** Peer exchange, when on for this torrent. */
  readonly pex?: TorrentPex | undefined;
  /** Dials an endpoint a holepunch relay told us to (BEP 55). */
  readonly holepunchDial?: (a: PeerAddress) => void;
  /** BEP 52 hash requests of a v2 or hybrid torrent. */
  readonly hashes?: HashServer;
}

/**
 * One message from a connected peer, to the part that handles it. Throws EngineError or WireError
 * for a peer at fault (the caller closes it); anything else is a bug.
 */
export function dispatch(parts: DispatchParts, p: PeerState, m: Message): void {
  const { ctx, requester, server } = parts;
  const picker = ctx.picker;
  switch (m.type) {
    case 'piece':
      requester.onPiece(p, m.index, m.begin, m.block);
      return;
    case 'have':
      if (p.bitfield.set(m.index)) {
        picker.peerHave(p.id, m.index);
        if (!p.amInterested && picker.wants(m.index)) requester.setInterested(p, true);
      }
      return;
    case 'bitfield': {
      const bf = Bitfield.fromWire(m.bytes, ctx.layout.pieceCount);
      for (const i of bf.indices()) if (p.bitfield.set(i)) picker.peerHave(p.id, i);
      requester.updateInterest(p);
      return;
    }
    case 'have-all':
      for (let i = 0; i < ctx.layout.pieceCount; i++) if (p.bitfield.set(i)) picker.peerHave(p.id, i);
      requester.updateInterest(p);
      return;
    case 'have-none':
      return;
    case 'choke':
      p.amChoked = true;
      // Without BEP 6 a choke discards every pending request; with it the peer rejects them one by one.
      if (!p.conn.features.fast) picker.releaseAll(p.id);
      return;
    case 'unchoke':
      p.amChoked = false;
      p.lastProgress = ctx.clock.now();
      return;
    case 'interested':
      p.peerInterested = true;
      server.maybeUnchoke(p);
      return;
    case 'not-interested':
      p.peerInterested = false;
      // Its slot is free for someone who wants data (an early run; BEP 3's interval governs the rest).
      if (!p.peerChoked) server.rechoke();
      return;
    case 'request':
      server.onRequest(p, m.index, m.begin, m.length);
      return;
    case 'cancel':
      server.onCancel(p, m.index, m.begin, m.length);
      return;
    case 'reject':
      requester.onReject(p, m.index, m.begin);
      return;
    case 'allowed-fast':
      if (m.index < ctx.layout.pieceCount && p.allowedFast.size < MAX_ALLOWED_FAST_PIECES) p.allowedFast.add(m.index);
      return;
    case 'extended':
      onExtended(parts, p, m);
      return;
    case 'port':
      // BEP 5: the peer's DHT node (its address, this UDP port); the session pings it into the table.
      if (m.port > 0) ctx.opts.dhtPort?.onNode(p.conn.address.host, m.port);
      return;
    case 'unknown':
      if (isHashMessageId(m.id)) parts.hashes?.onMessage(p, m);
      return;
    case 'suggest':
    case 'keep-alive':
      return;
  }
}

function onExtended(parts: DispatchParts, p: PeerState, m: Extract<Message, { type: 'extended' }>): void {
  const { ctx, pex } = parts;
  let routed;
  try {
    routed = p.router.route(m);
  } catch (e) {
    // A malformed handshake or an extension message we never offered: counted, not fatal (as libtorrent).
    if (!(e instanceof WireError)) throw e;
    p.faults++;
    return;
  }
  if (routed.name === 'handshake') {
    const h = routed.handshake;
    if (h.reqq !== undefined) p.reqq = Math.min(h.reqq, MAX_PEER_REQQ);
    if (h.v !== undefined && h.v.length <= MAX_CLIENT_NAME_CHARS) p.client = h.v;
  } else if (routed.name === UT_METADATA) onMetadataMessage(p, routed.message, ctx.opts.infoBytes);
  else if (routed.name === UT_PEX) pex?.receive(p, routed.message, ctx.clock.now());
  else if (routed.name === 'other' && routed.extension === UT_HOLEPUNCH && parts.holepunchDial !== undefined) {
    const dial = parts.holepunchDial;
    try {
      onHolepunchMessage(p, routed.payload, ctx.peers.values(), { clock: ctx.clock, isSelf: ctx.opts.isSelf, dial });
    } catch (e) {
      // BEP 55: a malformed holepunch message is ignored (counted, as other bad extension messages).
      if (!(e instanceof WireError)) throw e;
      p.faults++;
    }
  }
}
