import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { encodeHandshake, encodeMessage, encodePieceHeader, MessageDecoder, type Request } from '@tc/wire';
import type { TestTorrent } from '@tc/testkit/swarm-fixture';

/** How a fake peer misbehaves when asked for a block. */
export type FakeMode =
  /** Answers with blocks of the right size but wrong bytes. */
  | 'corrupt'
  /** Never answers requests (but stays connected and sends keep-alives). */
  | 'silent'
  /** Answers a few requests, then drops the connection mid-piece. */
  | 'vanish'
  /** Answers correctly, and also sends blocks nobody asked for. */
  | 'unrequested'
  /** Answers with a block one byte short. */
  | 'wrong-size'
  /** Sends a length prefix of 0xFFFFFFFF after the handshake. */
  | 'oversized'
  /** Accepts the connection and never sends a handshake. */
  | 'mute'
  /** Sends a bitfield one byte too long (RELIABILITY.md case 22). */
  | 'bad-bitfield'
  /** Announces a piece index beyond the torrent (case 22). */
  | 'bad-have'
  /** Accepts the TCP connection and closes it cleanly at once, before any handshake. */
  | 'hangup'
  /** Answers the handshake (has every piece), then closes cleanly. */
  | 'hangup-after-handshake'
  /** Serves the first two requests of each connection, then closes cleanly (a peer done seeding for now). */
  | 'serve-and-leave'
  /** Handshakes and unchokes, then sends only what the test writes (`write`): no answers, no keep-alives. */
  | 'scripted'
  /** Answers the handshake and then sends nothing at all: no bitfield, no keep-alives (RELIABILITY.md case 26). */
  | 'handshake-only';

export interface FakePeerOptions {
  /** The peer id of our handshake (default: a new random one per connection). */
  readonly peerId?: Buffer;
}

export interface FakePeer {
  readonly port: number;
  readonly requests: number;
  /** Every request received, in order. */
  readonly requestLog: readonly Request[];
  readonly connections: number;
  /** Bytes written to the engine on every connection so far. */
  readonly written: number;
  /** Writes raw bytes to every open connection ('scripted'). */
  write(bytes: Buffer): void;
  /** Resolves when the engine has closed its connection to us (at least once). */
  readonly disconnected: Promise<void>;
  close(): Promise<void>;
}

/** A scripted peer on 127.0.0.1 speaking the wire protocol with @tc/wire codecs, for hostile-peer tests. */
export async function startFakePeer(t: TestTorrent, mode: FakeMode, opts: FakePeerOptions = {}): Promise<FakePeer> {
  const pieceCount = Math.ceil(t.data.length / t.pieceLength);
  const sockets = new Set<Socket>();
  let requests = 0;
  let connections = 0;
  let written = 0;
  const requestLog: Request[] = [];
  let onDisconnect!: () => void;
  const disconnected = new Promise<void>((r) => (onDisconnect = r));
  const server: Server = createServer((sock) => {
    connections++;
    sockets.add(sock);
    sock.on('close', () => {
      sockets.delete(sock);
      onDisconnect();
    });
    sock.on('error', () => undefined);
    const write = sock.write.bind(sock);
    // Counted, so a test on a manual clock can wait until the engine has read everything sent.
    sock.write = (b: Buffer) => {
      // After our own end() (a keep-alive racing a hang-up) nothing is sent, so nothing is counted.
      if (sock.writableEnded || sock.destroyed) return false;
      written += b.length;
      return write(b);
    };
    if (mode === 'hangup') {
      sock.end();
      return;
    }
    let served = 0;
    const dec = new MessageDecoder({ pieceCount, features: { fast: true, extended: true } });
    // Keep-alives only after a handshake: a mute peer sends nothing at all.
    const quiet = mode === 'mute' || mode === 'scripted' || mode === 'handshake-only';
    const keepAlive = setInterval(() => !quiet && sock.write(Buffer.alloc(4)), 500);
    sock.on('close', () => clearInterval(keepAlive));
    const block = (r: Request, bytes: Buffer): void => {
      sock.write(Buffer.concat([encodePieceHeader(r.index, r.begin, bytes.length), bytes]));
    };
    const real = (r: Request): Buffer => t.data.subarray(r.index * t.pieceLength + r.begin, r.index * t.pieceLength + r.begin + r.length);
    sock.on('data', (chunk: Buffer) => {
      let msgs;
      try {
        msgs = dec.push(chunk);
      } catch {
        sock.destroy();
        return;
      }
      for (const m of msgs) {
        if (m.type === 'handshake') {
          if (mode === 'mute') continue;
          const peerId = opts.peerId ?? Buffer.concat([Buffer.from('-FK0001-'), randomBytes(12)]);
          sock.write(encodeHandshake({ infoHash: t.infoHash, peerId, features: { fast: true } }));
          if (mode === 'handshake-only') continue;
          if (mode === 'oversized') {
            const b = Buffer.alloc(5);
            b.writeUInt32BE(0xffffffff, 0);
            b[4] = 7;
            sock.write(b);
            continue;
          }
          if (mode === 'bad-bitfield') {
            const bytes = Buffer.alloc(Math.ceil(pieceCount / 8) + 1, 0xff);
            sock.write(encodeMessage({ type: 'bitfield', bytes }));
            continue;
          }
          if (mode === 'bad-have') {
            sock.write(encodeMessage({ type: 'have', index: pieceCount + 5 }));
            continue;
          }
          sock.write(encodeMessage({ type: 'have-all' }));
          if (mode === 'hangup-after-handshake') {
            sock.end();
            return;
          }
          sock.write(encodeMessage({ type: 'unchoke' }));
          continue;
        }
        if (m.type !== 'request') continue;
        requests++;
        requestLog.push(m);
        switch (mode) {
          case 'corrupt':
            block(m, randomBytes(m.length));
            break;
          case 'silent':
          case 'oversized':
          case 'mute':
          case 'bad-bitfield':
          case 'bad-have':
          case 'hangup-after-handshake':
          case 'scripted':
          case 'handshake-only':
            break;
          case 'serve-and-leave':
            if (served < 2) block(m, real(m));
            if (++served === 2) sock.end();
            break;
          case 'vanish':
            if (requests <= 3) block(m, real(m));
            else sock.destroy();
            break;
          case 'unrequested': {
            block(m, real(m));
            // At an offset no client requests (not block-aligned): certainly unrequested.
            block({ type: 'request', index: m.index, begin: 1, length: 100 }, randomBytes(100));
            break;
          }
          case 'wrong-size':
            block(m, real(m).subarray(0, m.length - 1));
            break;
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return {
    port,
    get requests() {
      return requests;
    },
    get connections() {
      return connections;
    },
    requestLog,
    get written() {
      return written;
    },
    write(bytes: Buffer) {
      for (const s of sockets) s.write(bytes);
    },
    disconnected,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
