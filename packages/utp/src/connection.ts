import type { Clock } from '@tc/clock';
import {
  connectionSizes,
  defaultDefer,
  defaultRandom16,
  KEEPALIVE_INTERVAL_MS,
  LINGER_MS,
  MAX_RETRANSMITS,
  MAX_SYN_TRANSMISSIONS,
  newConnectionStats,
  SYN_RECV_TIMEOUT_MS,
  SYN_TIMEOUT_MS,
  ZERO_WINDOW_PROBE_MS,
  type CloseReason,
  type ConnectionHandlers,
  type ConnectionIds,
  type ConnectionOptions,
  type ConnectionState,
  type ConnectionStats,
} from './connection-options.js';
import { applyAck } from './acks.js';
import { UtpError } from './errors.js';
import { Ledbat } from './ledbat.js';
import { acksUnsent, mayTransmit, plausibleResetAck } from './loss.js';
import { EXTENSION_SACK, HEADER_BYTES, PacketType, writeHeaderFields, type Packet } from './packet.js';
import { Receiver } from './receiver.js';
import { RttEstimator } from './rtt.js';
import { MAX_PACKETS_IN_FLIGHT, PacketAllocator, SendWindow, WriteQueue, type OutPacket } from './send-buffer.js';
import { seqAdd, seqLess } from './seq.js';
import { OneWayDelays, timestampUs } from './timestamps.js';
import { DeadlineTimer, nextDeadline, zeroWindowStalled } from './timers.js';

/**
 * One uTP connection (BEP 29) as a state machine: packets in (`receive`), application bytes in
 * (`write`, `end`), time from a `Clock`; packets out and data, connect, end and close events
 * through `ConnectionHandlers`. No sockets: `UtpSocket` routes datagrams to it by connection id.
 *
 * States: `syn-sent` (we dialled) and `syn-recv` (we answered a SYN and wait for the initiator's
 * first packet, the only proof that its address was not spoofed) lead to `connected`; `end()`
 * queues a FIN after the data written so far (`fin-sent`); `closed` is final, reached when both
 * FINs are acked, on a RESET either way, or on a timeout.
 *
 * Its parts live beside it: options, handlers and timing constants (connection-options.ts), the
 * send window and write queue (send-buffer.ts), the receive side and its reorder buffer
 * (receiver.ts, reorder.ts), ack and loss decisions (acks.ts, loss.ts), the deadlines and their timer (timers.ts), LEDBAT (ledbat.ts), RTT and the
 * retransmission timeout (rtt.ts), and the one-way delays from the timestamps (timestamps.ts,
 * delay.ts). What stays here is the state machine, the sending, and the timers.
 */

export class UtpConnection {
  readonly stats: ConnectionStats = newConnectionStats();

  private st: ConnectionState;
  private closeReason: CloseReason | undefined;
  private readonly clock: Clock;
  private readonly payloadMax: number;
  private readonly recvBufferBytes: number;
  private readonly sendBufferBytes: number;
  private readonly defer: (fn: () => void) => void;

  private readonly window: SendWindow;
  private readonly queue = new WriteQueue();
  private readonly rx: Receiver;
  private readonly rtt: RttEstimator;
  private readonly ledbat: Ledbat;
  private readonly delays: OneWayDelays;

  private peerWindow: number;
  private lastAdvertised = 0;
  private dupAcks = 0;
  /** Packets sent before this one cannot cut the window again (one cut per window, libtorrent). */
  private lossSeq: number;
  private nagle = true;
  /** Sequence number of the latest data packet sent with less than a full payload. */
  private shortSeq: number | undefined;
  private readonly alloc = new PacketAllocator();
  private finRequested = false;
  private finSeq: number | undefined;
  private finAcked = false;
  private ackPending = false;
  private ackScheduled = false;
  private drainWanted = false;

  private lastSentMs: number;
  private lastReceivedMs: number;
  private rtoDeadline: number | undefined;
  private synRecvDeadline: number | undefined;
  private lingerUntil: number | undefined;
  private readonly timer: DeadlineTimer;

  private constructor(
    readonly ids: ConnectionIds,
    state: ConnectionState,
    firstSeq: number,
    private readonly handlers: ConnectionHandlers,
    opts: ConnectionOptions,
  ) {
    this.st = state;
    this.clock = opts.clock;
    const sizes = connectionSizes(opts);
    this.payloadMax = sizes.packetBytes - HEADER_BYTES;
    this.recvBufferBytes = sizes.recvBufferBytes;
    this.sendBufferBytes = sizes.sendBufferBytes;
    this.defer = opts.defer ?? defaultDefer;
    const now = this.clock.now();
    this.window = new SendWindow(firstSeq);
    this.lossSeq = firstSeq;
    this.rtt = new RttEstimator(SYN_TIMEOUT_MS);
    this.ledbat = new Ledbat({ packetBytes: this.payloadMax, maxWindowBytes: MAX_PACKETS_IN_FLIGHT * this.payloadMax });
    this.delays = new OneWayDelays(now);
    this.rx = new Receiver({
      recvBufferBytes: this.recvBufferBytes,
      payloadMax: this.payloadMax,
      readBuffered: opts.readBufferedBytes ?? (() => 0),
      stats: this.stats,
      events: {
        data: (payload) => handlers.data(payload),
        end: () => handlers.end(),
        wantAck: () => this.wantAck(),
        closed: () => this.isClosed(),
      },
    });
    // Until the remote says otherwise, assume it can take one packet.
    this.peerWindow = this.payloadMax;
    this.lastSentMs = now;
    this.lastReceivedMs = now;
    this.timer = new DeadlineTimer(this.clock, () => this.onTimer());
  }

  /** Dials: sends a SYN carrying `ids.recvId` (BEP 29: the SYN names the id we receive on). */
  static connect(ids: ConnectionIds, handlers: ConnectionHandlers, opts: ConnectionOptions): UtpConnection {
    const isn = (opts.random16 ?? defaultRandom16)() & 0xffff;
    const c = new UtpConnection(ids, 'syn-sent', isn, handlers, opts);
    const syn = c.newPacket(PacketType.Syn, 0);
    c.window.add(syn);
    c.transmit(syn);
    return c;
  }

  /**
   * Answers a SYN: our ids are the SYN's id + 1 (receive) and its id (send); the STATE that acks
   * it carries our random initial sequence number, which our first data packet will use.
   */
  static accept(syn: Packet, handlers: ConnectionHandlers, opts: ConnectionOptions): UtpConnection {
    const isn = (opts.random16 ?? defaultRandom16)() & 0xffff;
    const ids = { recvId: (syn.connectionId + 1) & 0xffff, sendId: syn.connectionId };
    const c = new UtpConnection(ids, 'syn-recv', isn, handlers, opts);
    c.rx.ackNr = syn.seq;
    c.stats.packetsReceived++;
    c.noteTimestamps(syn);
    c.peerWindow = syn.windowBytes;
    c.synRecvDeadline = c.clock.now() + SYN_RECV_TIMEOUT_MS;
    c.sendState();
    c.armTimer();
    return c;
  }

  get state(): ConnectionState {
    return this.st;
  }

  get reason(): CloseReason | undefined {
    return this.closeReason;
  }

  /** Bytes written and not yet in a packet. */
  get queuedBytes(): number {
    return this.queue.bytes;
  }

  get inFlightBytes(): number {
    return this.window.inFlightBytes;
  }

  get congestionWindowBytes(): number {
    return this.ledbat.windowBytes;
  }

  get rttMs(): number {
    return this.rtt.rttMs;
  }

  /** The queueing delay our packets see, as the remote reports it (µs). */
  get delayUs(): number {
    return this.delays.ours.currentUs;
  }

  /** Whether the connection still occupies its id (open, or lingering after a clean close). */
  get lingering(): boolean {
    return this.st === 'closed' && this.lingerUntil !== undefined;
  }

  /** Turns Nagle-like coalescing off (TCP_NODELAY): every write goes out as soon as the window allows. */
  setNoDelay(noDelay: boolean): void {
    this.nagle = !noDelay;
    if (noDelay) this.flush();
  }

  /**
   * Queues bytes to send. Returns false once more than the send buffer is queued: wait for the
   * `drain` handler before writing more (the bytes are still taken).
   */
  write(chunk: Buffer): boolean {
    if (this.st === 'closed' || this.finRequested) return false;
    this.queue.push(chunk);
    this.flush();
    const below = this.queue.bytes < this.sendBufferBytes;
    if (!below) this.drainWanted = true;
    return below;
  }

  /** Sends a FIN after everything written so far (TCP's shutdown of the write side). */
  end(): void {
    if (this.st === 'closed' || this.finRequested) return;
    this.finRequested = true;
    // The write side is shut now, even if the FIN waits behind queued data.
    if (this.st === 'connected') this.st = 'fin-sent';
    this.flush();
    this.maybeDone();
  }

  /** Aborts: sends RESET and closes at once, with no error (TCP's destroy). */
  destroy(): void {
    if (this.st === 'closed') return;
    this.sendReset();
    this.finish('destroyed', undefined);
  }

  /** Stops lingering after a clean close (the socket is closing): frees the timer and the id now. */
  stopLingering(): void {
    if (!this.lingering) return;
    this.lingerUntil = undefined;
    this.timer.cancel();
    this.handlers.release();
  }

  /** The application consumed received bytes: reopen the window if it had closed (libutp's read_drained). */
  readDrained(): void {
    if (this.st === 'closed' || this.st === 'syn-sent') return;
    const wnd = this.rx.advertisedWindow();
    if (wnd > this.lastAdvertised + this.payloadMax && this.lastAdvertised < this.recvBufferBytes / 2) {
      this.ackPending = true;
      this.scheduleAck();
    }
  }

  /** Handles a packet the socket routed here (its connection id matched). */
  receive(p: Packet): void {
    const now = this.clock.now();
    if (this.st === 'closed') {
      this.receiveWhileLingering(p);
      return;
    }
    this.stats.packetsReceived++;
    if (p.type === PacketType.Reset) {
      if (!plausibleResetAck(this.window.base, this.window.next, p.ack)) {
        this.stats.droppedPackets++;
        return;
      }
      if (this.st === 'syn-sent') this.fail('refused', new UtpError('UTP_REFUSED', 'uTP connection refused (RESET in answer to SYN)'));
      else this.fail('reset', new UtpError('UTP_RESET', 'uTP connection reset by peer'));
      return;
    }
    if (p.type === PacketType.Syn) {
      // The initiator did not get our SYN-ACK (or this is a copy): answer it again.
      if (this.st === 'syn-recv' && p.seq === this.rx.ackNr) this.sendState();
      else this.stats.droppedPackets++;
      return;
    }
    if (acksUnsent(this.window.next, p.ack)) {
      this.stats.droppedPackets++;
      return;
    }
    if (this.st === 'syn-sent') {
      // Our SYN is acked: the remote's first data packet will carry the seq_nr of this one.
      if (p.ack !== this.window.base) {
        this.stats.droppedPackets++;
        return;
      }
      this.rx.ackNr = seqAdd(p.seq, -1);
      this.st = 'connected';
      this.lastReceivedMs = now;
      this.noteTimestamps(p);
      this.processAcks(p, now);
      this.handlers.connect();
      if (this.st !== 'connected') return;
      this.afterReceive(p, now);
      return;
    }
    if (this.st === 'syn-recv') {
      this.st = 'connected';
      this.synRecvDeadline = undefined;
      this.handlers.connect();
      if (this.isClosed()) return;
    }
    this.lastReceivedMs = now;
    this.noteTimestamps(p);
    this.processAcks(p, now);
    if (this.isClosed()) return;
    this.afterReceive(p, now);
  }

  private isClosed(): boolean {
    return this.st === 'closed';
  }

  /** Data, FIN and the sends that an ack makes possible. */
  private afterReceive(p: Packet, now: number): void {
    if (p.type === PacketType.Data || p.type === PacketType.Fin) this.rx.receive(p);
    if (this.isClosed()) return;
    this.flush();
    this.maybeDone();
    if (!this.isClosed()) this.armTimer(now);
  }

  // ---- timestamps, acks, congestion ----

  private nowUs(): number {
    return timestampUs(this.clock.now());
  }

  /** Records both one-way delay samples a packet gives us, and its advertised window. */
  private noteTimestamps(p: Packet): void {
    this.delays.note(p, this.clock.now());
    this.peerWindow = p.windowBytes;
  }

  private processAcks(p: Packet, now: number): void {
    const inFlightBefore = this.window.inFlightBytes;
    const a = applyAck(this.window, p, this.dupAcks, now);
    this.dupAcks = a.dupAcks;
    let minRttMs = Infinity;
    for (const r of a.rttSamplesMs) {
      this.rtt.sample(r);
      minRttMs = Math.min(minRttMs, r);
    }
    if (a.progressed) this.rtt.onProgress();
    for (const q of a.resend) this.fastResend(q, now);
    if (a.bytes > 0) {
      const delay = Math.min(this.delays.ours.currentUs, Number.isFinite(minRttMs) ? minRttMs * 1000 : Infinity);
      const saturated = inFlightBefore + this.payloadMax > Math.min(this.ledbat.windowBytes, this.peerWindow);
      this.ledbat.onAck(a.bytes, inFlightBefore, delay, saturated);
    }
    // The timer restarts from each ack that moves things along (a SYN's or FIN's included).
    if (a.packets > 0) this.rtoDeadline = this.window.count > 0 ? now + this.rtt.timeoutMs : undefined;
    if (this.finSeq !== undefined && !this.finAcked && this.window.count === 0) {
      this.finAcked = true;
      this.handlers.finished();
    }
  }

  private fastResend(q: OutPacket, now: number): void {
    if (q.fastResent || q.transmissions === 0) return;
    q.fastResent = true;
    this.stats.fastRetransmits++;
    if (!seqLess(q.seq, this.lossSeq)) {
      this.ledbat.onLoss(now);
      this.lossSeq = this.window.next;
    }
    this.transmit(q);
  }

  private wantAck(): void {
    this.ackPending = true;
    this.scheduleAck();
  }

  private scheduleAck(): void {
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    this.defer(() => {
      this.ackScheduled = false;
      if (this.ackPending && (this.st !== 'closed' || this.lingering)) this.sendState();
    });
  }

  // ---- sending ----

  private newPacket(type: PacketType, payloadBytes: number): OutPacket {
    const buf = this.alloc.take(HEADER_BYTES + payloadBytes);
    return { type, seq: this.window.next, buf, payloadBytes, sentAtMs: 0, transmissions: 0, needResend: false, fastResent: false };
  }

  /** (Re)writes the header of `q` with the current ack, window and timestamps, and sends it. */
  private transmit(q: OutPacket): void {
    const now = this.clock.now();
    const pktType = q.type;
    const wnd = this.rx.advertisedWindow();
    const syn = pktType === PacketType.Syn;
    writeHeaderFields(q.buf, pktType, 0, syn ? this.ids.recvId : this.ids.sendId, this.nowUs(), this.delays.replyMicro, wnd, q.seq, syn ? 0 : this.rx.ackNr);
    if (pktType === PacketType.Data && q.payloadBytes < this.payloadMax) this.shortSeq = q.seq;
    if (q.transmissions > 0) this.stats.retransmits++;
    else this.stats.bytesSent += q.payloadBytes;
    this.window.sent(q, now);
    if (this.rtoDeadline === undefined) {
      this.rtoDeadline = now + this.rtt.timeoutMs;
      this.armTimer(now);
    }
    this.lastAdvertised = wnd;
    this.lastSentMs = now;
    this.stats.packetsSent++;
    // A data packet carries our ack; a pending ack is still owed if a selective ack must go out.
    if (pktType !== PacketType.Syn && this.rx.heldPackets === 0) this.ackPending = false;
    this.handlers.send(q.buf);
  }

  /** Sends a STATE: an ack (with a selective ack when packets wait behind a gap), or a keep-alive. */
  private sendState(): void {
    const sack = this.rx.sack();
    const wnd = this.rx.advertisedWindow();
    const buf = this.alloc.take(HEADER_BYTES + (sack === undefined ? 0 : 2 + sack.length));
    const ext = sack === undefined ? 0 : EXTENSION_SACK;
    writeHeaderFields(buf, PacketType.State, ext, this.ids.sendId, this.nowUs(), this.delays.replyMicro, wnd, this.window.next, this.rx.ackNr);
    if (sack !== undefined) {
      buf[HEADER_BYTES] = 0;
      buf[HEADER_BYTES + 1] = sack.length;
      buf.set(sack, HEADER_BYTES + 2);
    }
    this.ackPending = false;
    this.lastAdvertised = wnd;
    this.lastSentMs = this.clock.now();
    this.stats.packetsSent++;
    this.handlers.send(buf);
    if (this.st !== 'closed') this.armTimer();
  }

  private sendReset(): void {
    const buf = Buffer.allocUnsafe(HEADER_BYTES);
    writeHeaderFields(buf, PacketType.Reset, 0, this.ids.sendId, this.nowUs(), this.delays.replyMicro, 0, this.window.next, this.rx.ackNr);
    this.stats.packetsSent++;
    this.handlers.send(buf);
  }

  /** Whether a packet of `n` payload bytes may go out now (congestion and receive windows). */
  private canSend(n: number, zeroWindowProbe: boolean): boolean {
    return mayTransmit(this.window.inFlightBytes, n, this.ledbat.windowBytes, this.peerWindow, zeroWindowProbe);
  }

  /** Sends what the windows allow: lost packets first, then new data, then the FIN. */
  private flush(zeroWindowProbe = false): void {
    if (this.st !== 'connected' && this.st !== 'fin-sent') return;
    // 1. Packets declared lost by a timeout, oldest first.
    if (this.window.lostCount > 0) {
      for (let s = this.window.base; s !== this.window.next; s = seqAdd(s, 1)) {
        const q = this.window.get(s);
        if (q === undefined || !q.needResend) continue;
        if (!this.canSend(q.payloadBytes, zeroWindowProbe)) return;
        this.transmit(q);
      }
    }
    // 2. New data, in full packets; a short one waits while another short one is unacked (Nagle).
    while (this.queue.bytes > 0 && !this.window.full) {
      const n = Math.min(this.payloadMax, this.queue.bytes);
      if (!this.canSend(n, zeroWindowProbe)) break;
      if (n < this.payloadMax && this.nagle && !this.finRequested && this.shortPacketOutstanding()) break;
      const q = this.newPacket(PacketType.Data, n);
      this.queue.take(n, q.buf, HEADER_BYTES);
      this.window.add(q);
      this.transmit(q);
      zeroWindowProbe = false;
    }
    // 3. The FIN, once everything before it is in a packet. It takes a sequence number (libutp).
    if (this.finRequested && this.finSeq === undefined && this.queue.bytes === 0 && !this.window.full) {
      this.finSeq = this.window.next;
      const q = this.newPacket(PacketType.Fin, 0);
      this.window.add(q);
      this.st = 'fin-sent';
      this.transmit(q);
    }
    if (this.drainWanted && this.queue.bytes < this.sendBufferBytes) {
      this.drainWanted = false;
      this.handlers.drain();
    }
  }

  /** Whether the latest short data packet is still unacked (Nagle holds the next one until it is). */
  private shortPacketOutstanding(): boolean {
    return this.shortSeq !== undefined && this.window.get(this.shortSeq) !== undefined;
  }

  // ---- closing ----

  /** Both directions finished: our FIN is acked and theirs delivered. */
  private maybeDone(): void {
    if (this.st === 'closed' || !this.finAcked || !this.rx.readEnded) return;
    if (this.ackPending) this.sendState(); // the ack of their FIN, before we go
    this.finish('done', undefined);
  }

  private fail(reason: CloseReason, error: UtpError): void {
    this.finish(reason, error);
  }

  private finish(reason: CloseReason, error: UtpError | undefined): void {
    if (this.st === 'closed') return;
    this.st = 'closed';
    this.closeReason = reason;
    this.queue.clear();
    this.window.clear();
    this.rx.clear();
    this.rtoDeadline = undefined;
    this.synRecvDeadline = undefined;
    this.timer.cancel();
    if (reason === 'done') {
      this.lingerUntil = this.clock.now() + LINGER_MS;
      this.armTimer();
    }
    this.handlers.close(error);
    if (this.lingerUntil === undefined) this.handlers.release();
  }

  private receiveWhileLingering(p: Packet): void {
    if (this.lingerUntil === undefined) return;
    // Our ack of their FIN was lost and they sent it again: ack it again.
    if ((p.type === PacketType.Fin || p.type === PacketType.Data) && !seqLess(this.rx.ackNr, p.seq)) this.sendState();
  }

  // ---- timers ----

  /** Keeps the timer armed at the earliest deadline. */
  private armTimer(now = this.clock.now()): void {
    this.timer.armAt(
      nextDeadline({
        state: this.st,
        lingerUntil: this.lingerUntil,
        synRecvDeadline: this.synRecvDeadline,
        rtoDeadline: this.rtoDeadline,
        packetsOut: this.window.count,
        queuedBytes: this.queue.bytes,
        peerWindow: this.peerWindow,
        lastSentMs: this.lastSentMs,
        lastReceivedMs: this.lastReceivedMs,
      }),
      now,
    );
  }

  private onTimer(): void {
    const now = this.clock.now();
    if (this.st === 'closed') {
      if (this.lingerUntil !== undefined && now >= this.lingerUntil) {
        this.lingerUntil = undefined;
        this.handlers.release();
      } else this.armTimer(now);
      return;
    }
    if (this.synRecvDeadline !== undefined && now >= this.synRecvDeadline) {
      this.fail('timeout', new UtpError('UTP_TIMEOUT', 'uTP initiator never spoke after our SYN-ACK'));
      return;
    }
    if (this.window.count > 0 && this.rtoDeadline !== undefined && now >= this.rtoDeadline) {
      this.onRetransmitTimeout(now);
      if (this.isClosed()) return;
    }
    if (this.st === 'connected' || this.st === 'fin-sent') {
      const stalled = zeroWindowStalled({ queuedBytes: this.queue.bytes, packetsOut: this.window.count, peerWindow: this.peerWindow });
      if (stalled && now >= this.lastReceivedMs + ZERO_WINDOW_PROBE_MS) this.flush(true);
      if (now >= this.lastSentMs + KEEPALIVE_INTERVAL_MS) this.sendState();
    }
    this.armTimer(now);
  }

  private onRetransmitTimeout(now: number): void {
    this.stats.timeouts++;
    if (this.st === 'syn-sent') {
      const syn = this.window.get(this.window.base);
      if (syn === undefined || syn.transmissions >= MAX_SYN_TRANSMISSIONS) {
        this.fail('timeout', new UtpError('UTP_TIMEOUT', 'uTP connect timed out (no answer to SYN)'));
        return;
      }
      this.rtt.onTimeout();
      this.rtoDeadline = now + this.rtt.timeoutMs;
      this.transmit(syn);
      return;
    }
    if (this.rtt.consecutiveTimeouts >= MAX_RETRANSMITS) {
      this.fail('timeout', new UtpError('UTP_TIMEOUT', `uTP connection timed out (${MAX_RETRANSMITS + 1} retransmission timeouts in a row)`));
      return;
    }
    this.rtt.onTimeout();
    this.ledbat.onTimeout();
    this.lossSeq = this.window.next;
    this.dupAcks = 0;
    this.window.markAllLost();
    this.rtoDeadline = now + this.rtt.timeoutMs;
    this.flush();
  }
}
