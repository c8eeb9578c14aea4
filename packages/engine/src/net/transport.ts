import { connect as netConnect, isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { UtpSocket } from '@tc/utp';
import { classifyIncoming, mseAccept, mseConnect, WireError, type MseInfoHashLookup } from '@tc/wire';
import type { Clock, TimerHandle } from '../clock.js';
import { EngineError } from '../errors.js';
import {
  UTP_GRACE_AFTER_REFUSAL_MS,
  acceptPolicy,
  dialEncrypted,
  dialPlan,
  mseMethods,
  PeerMemory,
  retryPlain,
  type EncryptionMode,
  type LinkTransport,
  type PeerLink,
  type TransportMode,
} from './policy.js';
import type { UdpPort } from './udp-port.js';

/**
 * The engine's transports (issue 12): one duplex byte stream per peer over TCP or uTP, plain or
 * MSE-wrapped, with the close and error semantics of a TCP socket. Dials follow `dialPlan` (uTP
 * first, TCP after a head start, what worked remembered) and `dialEncrypted`/`retryPlain`; incoming
 * connections on either transport are classified by their first bytes (plaintext BitTorrent or MSE)
 * and checked against `acceptPolicy`. The wire decoder on top never knows which it got.
 */

/** An MSE handshake must finish within this (libtorrent's handshake_timeout is 10 s too). */
export const MSE_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Incoming connections still in their first bytes or MSE handshake, at most (a SYN or port-scan flood holds no more). */
export const MAX_PENDING_ACCEPTS = 200;

export interface PeerTransportsOptions {
  readonly clock: Clock;
  /** The session's UDP port (uTP runs over it); without one only TCP is used. */
  readonly udp?: UdpPort | undefined;
  readonly transport?: TransportMode;
  readonly encryption?: EncryptionMode;
  /** Finds a torrent by its MSE req2 hash among the session's active torrents (incoming MSE). */
  readonly lookup?: MseInfoHashLookup;
  readonly handshakeTimeoutMs?: number;
}

export interface DialTarget {
  readonly host: string;
  readonly port: number;
}

/** A connected peer stream and how it was reached. */
export interface TransportLink {
  readonly stream: Duplex;
  readonly link: PeerLink;
  /** The stream is a TCP socket created with `onread`: its bytes go to the dial's `feed`, not to 'data' events. */
  readonly externalReads: boolean;
  /** Incoming: the remote's address (the raw transport's, whatever wraps it). */
  readonly remote?: DialTarget;
}

export interface DialRequest {
  readonly infoHash: Buffer;
  /** Total time for the transport to connect (the MSE handshake has its own timeout). */
  readonly connectTimeoutMs: number;
  /** Where a plaintext TCP socket's bytes go (its reused `onread` buffer); without it, 'data' events. */
  readonly feed?: (chunk: Buffer) => void;
  /** Size of that read buffer. */
  readonly readBufferBytes?: number;
}

/** Cancels a dial in flight: no callback follows. */
export type CancelDial = () => void;

/** What the transports refused or retried (for the user: why a peer never became one). */
export interface TransportStats {
  /** Incoming plaintext handshakes refused under `require`. */
  refusedPlaintext: number;
  /** Incoming MSE handshakes refused under `off`. */
  refusedMse: number;
  /** Incoming MSE handshakes that failed (unknown torrent, bad VC, timeout, closed). */
  failedMse: number;
  /** Dials retried in plaintext after the peer dropped our MSE handshake (`prefer`). */
  retriedPlain: number;
}

/** Why an incoming connection was refused, for the owner's one-line warning. */
export type Refusal = 'plaintext-required' | 'encryption-off';

export class PeerTransports {
  readonly stats: TransportStats = { refusedPlaintext: 0, refusedMse: 0, failedMse: 0, retriedPlain: 0 };
  readonly transport: TransportMode;
  readonly encryption: EncryptionMode;
  private readonly utp: UtpSocket | undefined;
  /** Which transport last connected to a peer (mode both). */
  private readonly worked = new PeerMemory<LinkTransport>();
  /** Peers that refused MSE and took plaintext (mode prefer). */
  private readonly plainOnly = new PeerMemory<true>();
  private readonly pendingAccepts = new Set<Duplex>();
  private incomingHandler: ((t: TransportLink) => void) | undefined;
  private refusedHandler: ((why: Refusal, remote: DialTarget) => void) | undefined;
  private closed = false;

  constructor(private readonly opts: PeerTransportsOptions) {
    this.transport = opts.transport ?? 'both';
    this.encryption = opts.encryption ?? 'prefer';
    const udp = opts.udp;
    if (udp !== undefined) {
      const utp = new UtpSocket({ send: (b, port, host) => udp.send(b, port, host) }, { clock: opts.clock });
      this.utp = utp;
      udp.onDatagram('utp', (d, from) => utp.receive(d, from));
      utp.on('connection', (stream) => this.accept(stream, 'utp'));
    }
  }

  /** Where incoming connections go once their handshake kind is known and allowed. */
  onIncoming(handler: (t: TransportLink) => void): void {
    this.incomingHandler = handler;
  }

  /** Told of each incoming connection refused by the encryption policy. */
  onRefused(handler: (why: Refusal, remote: DialTarget) => void): void {
    this.refusedHandler = handler;
  }

  /** Whether uTP can reach `host` (a UDP socket of its family is bound). */
  utpUsable(host: string): boolean {
    return this.utp !== undefined && this.opts.udp !== undefined && this.opts.udp.hasFamily(isIP(host) === 6 ? 6 : 4);
  }

  /**
   * Dials a peer: `done` is called once, with the stream or the error. Under `prefer`, a peer that
   * drops our MSE handshake is dialled once more at once in plaintext (and remembered).
   */
  dial(a: DialTarget, req: DialRequest, done: (e: Error | undefined, t?: TransportLink) => void): CancelDial {
    const key = peerKey(a);
    let cancel: CancelDial = () => undefined;
    let cancelled = false;
    const attempt = (encrypted: boolean): void => {
      cancel = this.connectRaw(a, req, !encrypted, (e, raw, transport) => {
        if (cancelled) return;
        if (e !== undefined || raw === undefined || transport === undefined) return done(e ?? new Error('no transport'));
        if (this.transport === 'both') this.worked.set(key, transport);
        if (!encrypted)
          return done(undefined, { stream: raw, link: { transport, encryption: 'plain' }, externalReads: transport === 'tcp' && req.feed !== undefined });
        const ac = new AbortController();
        const timer = this.opts.clock.setTimeout(
          () => ac.abort(new EngineError('ENGINE_PEER_TIMEOUT', 'MSE handshake timed out', { peer: key })),
          this.opts.handshakeTimeoutMs ?? MSE_HANDSHAKE_TIMEOUT_MS,
        );
        cancel = () => ac.abort(new EngineError('ENGINE_ABORTED', 'dial cancelled', { peer: key }));
        const { methods } = mseMethods(this.encryption);
        mseConnect(raw, { infoHash: req.infoHash, provide: methods, signal: ac.signal }).then(
          (r) => {
            timer.cancel();
            if (cancelled) return r.stream.destroy();
            done(undefined, { stream: r.stream, link: { transport, encryption: r.method === 'rc4' ? 'rc4' : 'mse' }, externalReads: false });
          },
          (err: Error) => {
            timer.cancel();
            if (cancelled) return;
            if (retryPlain(this.encryption, true, true) && this.plainOnly.get(key) === undefined) {
              this.plainOnly.set(key, true);
              this.stats.retriedPlain++;
              attempt(false);
              return;
            }
            done(new EngineError('ENGINE_PEER_PROTOCOL', `MSE handshake failed: ${err.message}`, { peer: key, cause: err }));
          },
        );
      });
    };
    attempt(dialEncrypted(this.encryption, this.plainOnly.get(key) === true));
    return () => {
      cancelled = true;
      cancel();
    };
  }

  /** Connects a raw transport per the dial plan: the first to connect wins, the others are dropped. */
  private connectRaw(
    a: DialTarget,
    req: DialRequest,
    plainTcp: boolean,
    done: (e: Error | undefined, raw?: Duplex, transport?: LinkTransport) => void,
  ): CancelDial {
    const steps = dialPlan(this.transport, this.utpUsable(a.host), this.worked.get(peerKey(a)));
    if (steps.length === 0 || this.closed) {
      process.nextTick(() => done(new EngineError('ENGINE_PEER_PROTOCOL', `no transport can reach ${peerKey(a)} (--transport ${this.transport})`)));
      return () => undefined;
    }
    const live = new Set<Duplex>();
    const timers: TimerHandle[] = [];
    let finished = false;
    let lastError: Error | undefined;
    let started = 0;
    const finish = (e: Error | undefined, raw?: Duplex, t?: LinkTransport): void => {
      if (finished) return;
      finished = true;
      for (const tm of timers) tm.cancel();
      for (const s of live) if (s !== raw) s.destroy();
      live.clear();
      done(e, raw, t);
    };
    const failed = (s: Duplex | undefined, e: Error): void => {
      if (s !== undefined && !live.delete(s)) return;
      lastError = e;
      // All started attempts failed: start the next one now rather than wait for its head start.
      if (live.size === 0 && started === steps.length) finish(lastError);
      else if (live.size === 0) startNext();
      else if ((e as NodeJS.ErrnoException).code === 'ECONNREFUSED' && started === steps.length) {
        const refusal = e;
        timers.push(this.opts.clock.setTimeout(() => finish(refusal), UTP_GRACE_AFTER_REFUSAL_MS));
      }
    };
    const startNext = (): void => {
      if (finished || started >= steps.length) return;
      const step = steps[started++]!;
      let s: Duplex;
      try {
        s = step.transport === 'utp' ? this.utp!.connect(a.port, a.host) : this.tcp(a, plainTcp ? req : undefined);
      } catch (e) {
        failed(undefined, e as Error);
        return;
      }
      live.add(s);
      const onError = (e: Error): void => failed(s, e);
      s.once('error', onError);
      const onClose = (): void => {
        if (!finished) failed(s, lastError ?? new Error('connection closed before it connected'));
      };
      s.once('close', onClose);
      s.once('connect', () => {
        if (finished) return;
        s.removeListener('error', onError);
        s.removeListener('close', onClose);
        finish(undefined, s, step.transport);
      });
    };
    for (const step of steps) {
      if (step.delayMs === 0) startNext();
      else timers.push(this.opts.clock.setTimeout(startNext, step.delayMs));
    }
    timers.push(
      // A refusal seen on the way says more than the timeout of the attempt still pending.
      this.opts.clock.setTimeout(
        () => finish(lastError ?? new EngineError('ENGINE_PEER_TIMEOUT', 'connect timed out', { peer: peerKey(a) })),
        req.connectTimeoutMs,
      ),
    );
    return () => {
      if (finished) return;
      finished = true;
      for (const tm of timers) tm.cancel();
      for (const s of live) s.destroy();
      live.clear();
    };
  }

  private tcp(a: DialTarget, plain: DialRequest | undefined): Socket {
    const feed = plain?.feed;
    if (feed === undefined) return netConnect({ host: a.host, port: a.port, noDelay: true });
    return netConnect({
      host: a.host,
      port: a.port,
      noDelay: true,
      onread: {
        buffer: Buffer.allocUnsafe(plain?.readBufferBytes ?? 256 * 1024),
        callback: (n: number, buf: Uint8Array) => {
          feed((buf as Buffer).subarray(0, n));
          return true;
        },
      },
    });
  }

  /**
   * An incoming connection (a TCP socket from the listener, or a uTP stream): its first bytes say
   * plaintext BitTorrent or MSE; what the policy allows goes to the `onIncoming` handler, the rest
   * is closed. Bounded by MAX_PENDING_ACCEPTS and the handshake timeout.
   */
  accept(raw: Duplex, transport: LinkTransport): void {
    if (this.closed || this.incomingHandler === undefined || this.pendingAccepts.size >= MAX_PENDING_ACCEPTS) {
      raw.destroy();
      return;
    }
    const r = raw as Duplex & { remoteAddress?: string; remotePort?: number };
    if (r.remoteAddress === undefined || r.remotePort === undefined) {
      raw.destroy();
      return;
    }
    const remote = { host: r.remoteAddress.replace(/^::ffff:/, ''), port: r.remotePort };
    const policy = acceptPolicy(this.encryption);
    this.pendingAccepts.add(raw);
    const ac = new AbortController();
    const timer = this.opts.clock.setTimeout(
      () => ac.abort(new EngineError('ENGINE_PEER_TIMEOUT', 'incoming handshake timed out')),
      this.opts.handshakeTimeoutMs ?? MSE_HANDSHAKE_TIMEOUT_MS,
    );
    const settle = (t: TransportLink | undefined): void => {
      timer.cancel();
      this.pendingAccepts.delete(raw);
      if (t === undefined || this.closed) {
        raw.on('error', () => undefined);
        raw.destroy();
        t?.stream.destroy();
        return;
      }
      this.incomingHandler?.(t);
    };
    // Errors before the first byte: the connection is simply dropped.
    const early = (): void => settle(undefined);
    raw.once('error', early);
    raw.once('close', early);
    raw.once('data', (first: Buffer) => {
      raw.pause();
      raw.removeListener('error', early);
      raw.removeListener('close', early);
      raw.unshift(first);
      const kind = classifyIncoming(first);
      if (kind !== 'mse' && policy.plaintext) {
        // The raw stream as it is: no wrapper on the plaintext path.
        settle({ stream: raw, link: { transport, encryption: 'plain' }, externalReads: false, remote });
        return;
      }
      if (kind === 'bittorrent' || !policy.mse) {
        const why: Refusal = kind === 'mse' ? 'encryption-off' : 'plaintext-required';
        if (why === 'encryption-off') this.stats.refusedMse++;
        else this.stats.refusedPlaintext++;
        this.refusedHandler?.(why, remote);
        return settle(undefined);
      }
      const { methods, prefer } = mseMethods(this.encryption);
      const lookup = this.opts.lookup ?? (() => undefined);
      mseAccept(raw, { lookup, allow: methods, prefer, allowPlaintext: policy.plaintext, signal: ac.signal }).then(
        (m) =>
          settle({
            stream: m.stream,
            link: { transport, encryption: m.handshake === 'bittorrent' ? 'plain' : m.method === 'rc4' ? 'rc4' : 'mse' },
            externalReads: false,
            remote,
          }),
        (e: unknown) => {
          if (e instanceof WireError && e.code === 'WIRE_MSE_PLAINTEXT') {
            this.stats.refusedPlaintext++;
            this.refusedHandler?.('plaintext-required', remote);
          } else this.stats.failedMse++;
          settle(undefined);
        },
      );
    });
  }

  /** Closes uTP (every connection gets a RESET) and drops connections still handshaking. */
  close(): void {
    this.closed = true;
    for (const s of this.pendingAccepts) s.destroy();
    this.pendingAccepts.clear();
    this.utp?.close();
  }
}

function peerKey(a: DialTarget): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
