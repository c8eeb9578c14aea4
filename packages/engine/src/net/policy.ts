/**
 * The transport and encryption decisions, as pure functions (issue 12): which transport to dial
 * first and when to start the other, whether to dial MSE or plaintext, whether to retry in
 * plaintext, what to accept. `PeerTransports` (transport.ts) carries them out.
 */

/** `--transport`: which transports we dial (we listen on both whatever the choice). */
export type TransportMode = 'tcp' | 'utp' | 'both';
export const TRANSPORT_MODES: readonly TransportMode[] = ['both', 'tcp', 'utp'];

/**
 * `--encryption` (MSE/PE):
 * - prefer: dial encrypted, retry once in plaintext a peer that refuses it (remembered); accept both.
 * - require: dial encrypted only; refuse plaintext peers.
 * - allow: dial plaintext; accept both.
 * - off: dial plaintext; refuse encrypted peers.
 */
export type EncryptionMode = 'prefer' | 'require' | 'allow' | 'off';
export const ENCRYPTION_MODES: readonly EncryptionMode[] = ['prefer', 'require', 'allow', 'off'];

export type LinkTransport = 'tcp' | 'utp';

/** How a peer was reached: the transport, and whether the handshake was MSE and the payload RC4. */
export interface PeerLink {
  readonly transport: LinkTransport;
  /** 'plain': a plaintext BitTorrent handshake; 'mse': an MSE handshake, payload in the clear; 'rc4': MSE with the payload encrypted. */
  readonly encryption: 'plain' | 'mse' | 'rc4';
}

/**
 * How long uTP has to connect before TCP is dialled too (mode both). uTP's first SYN is answered
 * within one round trip by a peer that speaks it, and its first retransmission comes only after
 * SYN_TIMEOUT_MS (1 s); half a second covers the round trips of nearly every real peer, while a
 * peer with no uTP (aria2, Transmission with uTP off) costs at most that much once: what worked is
 * remembered for the next dial.
 */
export const UTP_HEAD_START_MS = 500;

/**
 * Once a peer's TCP port refused us, how much longer a pending uTP attempt may run: a live uTP peer
 * answers its SYN within a round trip, while a closed UDP port is silent (no ICMP reaches a shared
 * socket), so waiting the whole connect timeout would only hide the refusal for ten seconds.
 */
export const UTP_GRACE_AFTER_REFUSAL_MS = 3_000;

/** Peers whose working transport and encryption we remember (an LRU: bounded whatever the swarm). */
export const MAX_REMEMBERED_PEERS = 4096;

/** One planned attempt: a transport, started `delayMs` after the dial began. */
export interface DialStep {
  readonly transport: LinkTransport;
  readonly delayMs: number;
}

/**
 * The attempts for one dial. `utpUsable`: a UDP port of the peer's family is bound. `remembered`:
 * the transport that last worked for this peer, which then goes first, the other after the head
 * start (libtorrent too remembers a peer that failed uTP and dials it over TCP first).
 */
export function dialPlan(mode: TransportMode, utpUsable: boolean, remembered?: LinkTransport): DialStep[] {
  if (mode === 'tcp' || (!utpUsable && mode === 'both')) return [{ transport: 'tcp', delayMs: 0 }];
  if (mode === 'utp') return utpUsable ? [{ transport: 'utp', delayMs: 0 }] : [];
  // What worked last goes first; the other still follows (the peer may have changed since).
  if (remembered === 'tcp') {
    return [
      { transport: 'tcp', delayMs: 0 },
      { transport: 'utp', delayMs: UTP_HEAD_START_MS },
    ];
  }
  return [
    { transport: 'utp', delayMs: 0 },
    { transport: 'tcp', delayMs: UTP_HEAD_START_MS },
  ];
}

/** Whether the next dial to a peer starts with an MSE handshake. `plainOnly`: the peer refused MSE before (remembered). */
export function dialEncrypted(mode: EncryptionMode, plainOnly: boolean): boolean {
  if (mode === 'require') return true;
  if (mode === 'prefer') return !plainOnly;
  return false;
}

/**
 * After an MSE dial failed in its handshake (the transport had connected): whether to dial the
 * same peer again at once in plaintext. Only under prefer, and only once (the caller remembers it).
 */
export function retryPlain(mode: EncryptionMode, wasEncrypted: boolean, handshakeFailed: boolean): boolean {
  return mode === 'prefer' && wasEncrypted && handshakeFailed;
}

/** What we accept from a peer that dials us. */
export interface AcceptPolicy {
  readonly plaintext: boolean;
  readonly mse: boolean;
}

export function acceptPolicy(mode: EncryptionMode): AcceptPolicy {
  return { plaintext: mode !== 'require', mse: mode !== 'off' };
}

/**
 * The MSE crypto methods we offer (dialling) or allow (accepting), and which we select when a peer
 * offers both. RC4 over every byte costs throughput, and the handshake is already obfuscated: like
 * libtorrent (prefer_rc4 off) we select plaintext unless encryption is required.
 */
export function mseMethods(mode: EncryptionMode): { readonly methods: ('plaintext' | 'rc4')[]; readonly prefer: 'plaintext' | 'rc4' } {
  return { methods: ['rc4', 'plaintext'], prefer: mode === 'require' ? 'rc4' : 'plaintext' };
}

/** Parses a `--transport` value; undefined when it is not one. */
export function parseTransportMode(s: string): TransportMode | undefined {
  return (TRANSPORT_MODES as readonly string[]).includes(s) ? (s as TransportMode) : undefined;
}

/** Parses an `--encryption` value; undefined when it is not one. */
export function parseEncryptionMode(s: string): EncryptionMode | undefined {
  return (ENCRYPTION_MODES as readonly string[]).includes(s) ? (s as EncryptionMode) : undefined;
}

/** A bounded map with least-recently-set eviction (what worked per peer). */
export class PeerMemory<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number = MAX_REMEMBERED_PEERS) {}

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  set(key: string, v: V): void {
    this.map.delete(key);
    this.map.set(key, v);
    if (this.map.size > this.max) {
      const oldest = this.map.keys().next();
      if (oldest.done !== true) this.map.delete(oldest.value);
    }
  }

  get size(): number {
    return this.map.size;
  }
}
