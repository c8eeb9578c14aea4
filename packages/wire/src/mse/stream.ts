import { Duplex } from 'node:stream';
import { WireError } from '../errors.js';
import { EMPTY, type MseMethod, type MseStep } from './common.js';
import type { MseCipher } from './crypto.js';
import { MseInitiator, type MseInitiatorOptions } from './initiator.js';
import { classifyIncoming, MseResponder, type MseResponderOptions } from './responder.js';

/**
 * The payload stream after an MSE handshake, over any byte Duplex (a net.Socket, a uTP stream, an
 * in-memory pair). With a cipher it encrypts what is written and decrypts what is read; without one
 * it passes bytes through. It first yields `prefix` (the bytes read past the handshake).
 *
 * Writes are encrypted into a new buffer: the caller's buffers are never changed (the same block
 * may go to many peers). Reads are decrypted in place: a chunk read from `inner` belongs to us.
 * Close and errors follow `inner`: its error destroys this stream with that error; its close
 * destroys this stream (after our reader has read what was buffered, if `inner` ended cleanly);
 * destroying this stream destroys `inner`, and this stream's 'close' comes after `inner`'s.
 */
export class MseStream extends Duplex {
  private innerEnded = false;

  constructor(
    private readonly inner: Duplex,
    private readonly cipher: MseCipher | undefined,
    prefix: Buffer = EMPTY,
  ) {
    super({ allowHalfOpen: inner.allowHalfOpen });
    // The half-close rule moves up to us: were `inner` to end its side on the peer's FIN itself, the
    // writes still queued here (waiting for 'drain') would come after its end and be lost. We end
    // `inner` once our own queue is flushed instead.
    inner.allowHalfOpen = true;
    // Paused until our reader asks: backpressure goes from our buffer to `inner`.
    inner.pause();
    if (prefix.length > 0) this.push(prefix);
    inner.on('data', (chunk: Buffer) => {
      if (this.cipher) this.cipher.decrypt.process(chunk);
      if (!this.push(chunk)) inner.pause();
    });
    inner.on('end', () => {
      this.innerEnded = true;
      this.push(null);
    });
    inner.on('error', (e: Error) => this.destroy(e));
    inner.on('close', () => {
      // Without an 'end' first it was a reset: close now. After a clean end, our reader may still
      // have bytes buffered here: close once it has read them.
      if (!this.innerEnded || this.readableEnded) this.destroy();
      else this.once('end', () => this.destroy());
    });
    if (inner.readableEnded) {
      this.innerEnded = true;
      this.push(null);
    }
  }

  override _read(): void {
    this.inner.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (error?: Error | null) => void): void {
    let out = chunk;
    if (this.cipher) {
      out = Buffer.allocUnsafe(chunk.length);
      this.cipher.encrypt.process(chunk, out);
    }
    if (this.inner.write(out)) cb();
    else this.inner.once('drain', () => cb());
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (error?: Error | null) => void): void {
    // One encrypted buffer for a corked batch (a piece header and its block): one write below.
    let total = 0;
    for (const c of chunks) total += c.chunk.length;
    const out = Buffer.allocUnsafe(total);
    let at = 0;
    for (const { chunk } of chunks) {
      if (this.cipher) this.cipher.encrypt.process(chunk, out.subarray(at, at + chunk.length));
      else chunk.copy(out, at);
      at += chunk.length;
    }
    if (this.inner.write(out)) cb();
    else this.inner.once('drain', () => cb());
  }

  override _final(cb: (error?: Error | null) => void): void {
    if (!this.inner.writableEnded) this.inner.end();
    cb();
  }

  override _destroy(error: Error | null, cb: (error?: Error | null) => void): void {
    if (this.inner.closed) return cb(error);
    this.inner.once('close', () => cb(error));
    this.inner.destroy();
  }
}

export interface MseStreamOptions {
  /** Aborts the handshake (the caller's timeout): the stream is destroyed and the promise rejects with the reason. */
  readonly signal?: AbortSignal;
}

export interface MseConnected {
  /** The stream to speak the peer wire over. */
  readonly stream: MseStream;
  readonly method: MseMethod;
  readonly infoHash: Buffer;
}

export type MseAccepted =
  /** The peer opened with a plaintext BitTorrent handshake; `stream` starts with it. */
  | { readonly handshake: 'bittorrent'; readonly stream: MseStream }
  /** An MSE handshake; `stream` starts with the initiator's IA (its BitTorrent handshake, as a rule). */
  | { readonly handshake: 'mse'; readonly stream: MseStream; readonly method: MseMethod; readonly infoHash: Buffer };

/**
 * Runs a handshake over `socket`: `onData` returns a value when done, undefined for more, or throws.
 * Any failure destroys `socket` (its bytes are no longer usable) and rejects.
 */
function drive<T>(socket: Duplex, signal: AbortSignal | undefined, onData: (chunk: Buffer) => T | undefined): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cleanup = (): void => {
      socket.off('data', data);
      socket.off('end', ended);
      socket.off('close', closed);
      socket.off('error', fail);
      signal?.removeEventListener('abort', aborted);
    };
    function fail(e: Error): void {
      cleanup();
      // A listener stays so that an error emitted while the socket goes down is not unhandled.
      socket.on('error', () => {});
      socket.destroy();
      reject(e);
    }
    function data(chunk: Buffer): void {
      let r: T | undefined;
      try {
        r = onData(chunk);
      } catch (e) {
        fail(e as Error);
        return;
      }
      if (r !== undefined) {
        cleanup();
        resolve(r);
      }
    }
    function ended(): void {
      fail(new WireError('WIRE_MSE_CLOSED', 'the peer ended the connection during the MSE handshake'));
    }
    function closed(): void {
      fail(new WireError('WIRE_MSE_CLOSED', 'the connection closed during the MSE handshake'));
    }
    function aborted(): void {
      const reason: unknown = signal?.reason;
      fail(reason instanceof Error ? reason : new Error('the MSE handshake was aborted'));
    }
    if (signal?.aborted) return aborted();
    socket.on('data', data);
    socket.on('end', ended);
    socket.on('close', closed);
    socket.on('error', fail);
    signal?.addEventListener('abort', aborted, { once: true });
    socket.resume(); // a socket the caller paused would otherwise never deliver the peer's answer
  });
}

function apply(socket: Duplex, step: MseStep): MseStep {
  if (step.send.length > 0) socket.write(step.send);
  if (step.state === 'failed') throw step.error;
  return step;
}

/**
 * Dials MSE over a connected `socket`: sends Ya, runs the handshake, and resolves with the payload
 * stream. Give `ia` (our BitTorrent handshake) to save a round trip, as libtorrent does.
 */
export function mseConnect(socket: Duplex, opts: MseInitiatorOptions & MseStreamOptions): Promise<MseConnected> {
  const machine = new MseInitiator(opts);
  const done = drive(socket, opts.signal, (chunk) => {
    const step = apply(socket, machine.push(chunk));
    if (step.state !== 'established') return undefined;
    const { result } = step;
    return { stream: new MseStream(socket, result.cipher, result.rest), method: result.method, infoHash: result.infoHash };
  });
  if (!opts.signal?.aborted) socket.write(machine.start());
  return done;
}

export interface MseAcceptOptions extends MseResponderOptions, MseStreamOptions {
  /**
   * Whether a peer that opens with a plaintext BitTorrent handshake is accepted (encryption
   * "prefer"/"allow"); when false ("require") it is refused with WIRE_MSE_PLAINTEXT. Default true.
   */
  readonly allowPlaintext?: boolean;
}

/** Answers an incoming connection: MSE, or (when allowed) a plaintext BitTorrent handshake. */
export function mseAccept(socket: Duplex, opts: MseAcceptOptions): Promise<MseAccepted> {
  let early: Buffer[] = [];
  let machine: MseResponder | undefined;
  return drive(socket, opts.signal, (chunk): MseAccepted | undefined => {
    if (!machine) {
      early.push(chunk);
      const first = Buffer.concat(early);
      const kind = classifyIncoming(first);
      if (kind === 'need-more') return undefined;
      if (kind === 'bittorrent') {
        if (opts.allowPlaintext === false) {
          throw new WireError('WIRE_MSE_PLAINTEXT', 'the peer sent a plaintext BitTorrent handshake and encryption is required');
        }
        return { handshake: 'bittorrent', stream: new MseStream(socket, undefined, first) };
      }
      early = [];
      machine = new MseResponder(opts);
      chunk = first;
    }
    const step = apply(socket, machine.push(chunk));
    if (step.state !== 'established') return undefined;
    const { result } = step;
    const prefix = result.ia.length === 0 ? result.rest : Buffer.concat([result.ia, result.rest]);
    return { handshake: 'mse', stream: new MseStream(socket, result.cipher, prefix), method: result.method, infoHash: result.infoHash };
  });
}
