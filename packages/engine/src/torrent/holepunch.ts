import { isIP } from 'node:net';
import { decodeHolepunch, encodeHolepunch, HolepunchError, UT_HOLEPUNCH, type HolepunchMessage } from '@tc/wire';
import type { Clock } from '../clock.js';
import type { PeerAddress } from '../peer/connection.js';
import type { PeerState } from './peer-state.js';

/**
 * BEP 55 holepunch, relay and target side. As a relay, a connected peer's `rendezvous` for another
 * connected peer makes us send `connect` to both; otherwise we answer `error` with the BEP's code.
 * A `connect` from a peer we are connected to makes us dial the endpoint (uTP first: the NAT
 * traversal only works over UDP). `decideHolepunch` is the pure part; `onHolepunchMessage` applies it.
 *
 * Bounded: each peer gets HOLEPUNCH_BUDGET messages per HOLEPUNCH_WINDOW_MS acted on (rendezvous
 * relayed or connect dialled); beyond it they are dropped, so a peer cannot make us relay or dial
 * without end. Malformed messages are the decoder's WireError (BEP 55: ignore; the caller counts them).
 */

/** Messages acted on per peer and window. libtorrent rate-limits holepunch connects per peer too. */
export const HOLEPUNCH_BUDGET = 10;
export const HOLEPUNCH_WINDOW_MS = 60_000;

/** What the relay knows of a connected peer. */
export interface HolepunchPeer {
  /** The address it is connected from. */
  readonly address: PeerAddress;
  /** Its listen port from its extended handshake (`p`), when given. */
  readonly listenPort: number | undefined;
  readonly supportsHolepunch: boolean;
}

export type HolepunchAction =
  /** Send `message` to `to` ('sender' is the peer the message came from). */
  | { readonly kind: 'send'; readonly to: 'sender' | HolepunchPeer; readonly message: HolepunchMessage }
  | { readonly kind: 'dial'; readonly address: PeerAddress };

/** The endpoint others can dial a peer at: its address with its listen port when it told us one. */
export function endpointOf(p: HolepunchPeer): PeerAddress {
  return { host: p.address.host, port: p.listenPort ?? p.address.port };
}

function sameHost(a: string, b: string): boolean {
  return a.toLowerCase().replace(/^::ffff:/, '') === b.toLowerCase().replace(/^::ffff:/, '');
}

/** Whether connected peer `p` is the one at `ip:port` (its connection's port or its listen port). */
export function isAt(p: HolepunchPeer, ip: string, port: number): boolean {
  return sameHost(p.address.host, ip) && (p.address.port === port || p.listenPort === port);
}

/**
 * What to do about one ut_holepunch payload from `sender`. Throws the decoder's WireError for a
 * malformed message. `peers`: the other connected peers; `isSelf`: our own endpoint.
 */
export function decideHolepunch(
  payload: Uint8Array,
  sender: HolepunchPeer,
  peers: Iterable<HolepunchPeer>,
  isSelf: (a: PeerAddress) => boolean,
): HolepunchAction[] {
  const m = decodeHolepunch(payload);
  const usable = m.port > 0 && isIP(m.ip) !== 0;
  switch (m.type) {
    case 'rendezvous': {
      const err = (code: number): HolepunchAction[] => [{ kind: 'send', to: 'sender', message: { type: 'error', ip: m.ip, port: m.port, code } }];
      if (!usable) return err(HolepunchError.NoSuchPeer);
      if (isSelf({ host: m.ip, port: m.port })) return err(HolepunchError.NoSelf);
      let target: HolepunchPeer | undefined;
      for (const p of peers) {
        if (p !== sender && isAt(p, m.ip, m.port)) {
          target = p;
          break;
        }
      }
      if (target === undefined) return err(HolepunchError.NotConnected);
      if (!target.supportsHolepunch) return err(HolepunchError.NoSupport);
      const from = endpointOf(sender);
      const to = endpointOf(target);
      return [
        { kind: 'send', to: target, message: { type: 'connect', ip: from.host, port: from.port } },
        { kind: 'send', to: 'sender', message: { type: 'connect', ip: to.host, port: to.port } },
      ];
    }
    case 'connect':
      if (!usable || isSelf({ host: m.ip, port: m.port })) return [];
      return [{ kind: 'dial', address: { host: m.ip, port: m.port } }];
    case 'error':
      // Our own rendezvous failed: nothing to do (we only relay and answer connects).
      return [];
  }
}

/** A per-peer budget of messages acted on in a sliding window. */
export class HolepunchBudget {
  private windowStart = -Infinity;
  private used = 0;

  take(now: number): boolean {
    if (now - this.windowStart >= HOLEPUNCH_WINDOW_MS) {
      this.windowStart = now;
      this.used = 0;
    }
    if (this.used >= HOLEPUNCH_BUDGET) return false;
    this.used++;
    return true;
  }
}

/** The view of a connected peer the relay logic needs. */
export function holepunchView(p: PeerState): HolepunchPeer {
  const ext = p.router.peer;
  return { address: p.conn.address, listenPort: ext?.p, supportsHolepunch: p.router.remoteId(UT_HOLEPUNCH) !== undefined };
}

const budgets = new WeakMap<PeerState, HolepunchBudget>();

/**
 * Applies a peer's ut_holepunch message: relays, answers errors, or dials. Throws WireError for a
 * malformed message (the dispatcher counts it as a fault).
 */
export function onHolepunchMessage(
  p: PeerState,
  payload: Uint8Array,
  peers: Iterable<PeerState>,
  env: { readonly clock: Clock; readonly isSelf: (a: PeerAddress) => boolean; readonly dial: (a: PeerAddress) => void },
): void {
  const views = new Map<HolepunchPeer, PeerState>();
  const sender = holepunchView(p);
  for (const q of peers) if (q !== p) views.set(holepunchView(q), q);
  const actions = decideHolepunch(payload, sender, views.keys(), env.isSelf);
  if (actions.length === 0) return;
  let budget = budgets.get(p);
  if (budget === undefined) budgets.set(p, (budget = new HolepunchBudget()));
  if (!budget.take(env.clock.now())) return;
  for (const a of actions) {
    if (a.kind === 'dial') {
      env.dial(a.address);
      continue;
    }
    const to = a.to === 'sender' ? p : views.get(a.to);
    const id = to?.router.remoteId(UT_HOLEPUNCH);
    if (to === undefined || id === undefined) continue;
    to.conn.send({ type: 'extended', id, payload: encodeHolepunch(a.message) });
  }
}
