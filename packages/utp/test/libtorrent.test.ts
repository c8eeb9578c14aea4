import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTorrentWithLibtorrent, hasLibtorrent, startLibtorrent, type LibtorrentPeer } from '@tc/testkit/libtorrent';
import { tempDir } from '@tc/testkit/tmp';
import { until } from '@tc/testkit/wait';
import { MessageDecoder, encodeHandshake, encodeMessage, generatePeerId, type Features, type Incoming } from '@tc/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UtpStream } from '../src/stream.js';
import { listenUtp, type UtpUdpEndpoint } from '../src/udp.js';
import { connected } from './helpers.js';

/** INTEROP.md: a libtorrent peer that speaks uTP only, in both directions. */
const UTP_ONLY = {
  enable_outgoing_tcp: false,
  enable_incoming_tcp: false,
  enable_outgoing_utp: true,
  enable_incoming_utp: true,
};

const PIECE_LENGTH = 256 * 1024;
const PIECES = 8;
const FILE_BYTES = PIECES * PIECE_LENGTH - 1000; // a short last piece
const BLOCK = 16 * 1024;
const FEATURES: Features = { fast: true, extended: false, dht: false };

/** A BitTorrent peer connection over a uTP stream: our wire decoder, messages by predicate. */
class WirePeer {
  readonly seen: Incoming[] = [];
  private readonly decoder: MessageDecoder;
  private wake: (() => void) | undefined;
  failure: Error | undefined;

  constructor(
    readonly stream: UtpStream,
    pieceCount: number,
  ) {
    this.decoder = new MessageDecoder({ pieceCount, features: FEATURES });
    stream.on('data', (chunk: Buffer) => {
      try {
        for (const m of this.decoder.push(chunk)) this.seen.push(m.type === 'piece' ? { ...m, block: Buffer.from(m.block) } : m);
      } catch (e) {
        this.failure = e as Error;
        stream.destroy();
      }
      this.wake?.();
    });
    stream.on('error', (e) => {
      this.failure = e;
      this.wake?.();
    });
  }

  async next<T extends Incoming>(match: (m: Incoming) => m is T, timeoutMs = 15_000): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.seen.find(match);
      if (hit) return hit;
      if (this.failure) throw this.failure;
      if (Date.now() > end) throw new Error(`no matching message in ${timeoutMs} ms (seen: ${this.seen.map((m) => m.type).join(',')})`);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 100);
      });
    }
  }
}

const is =
  <K extends Incoming['type']>(type: K) =>
  (m: Incoming): m is Extract<Incoming, { type: K }> =>
    m.type === type;

describe('live: python3-libtorrent with uTP only (no TCP either way)', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let data: Buffer;
  let infoHash: Buffer;
  let torrentPath: string;
  let dataDir: string;
  let seeder: LibtorrentPeer;
  const endpoints: UtpUdpEndpoint[] = [];

  beforeAll(async () => {
    expect(hasLibtorrent()).toBe(true);
    dir = await tempDir('tc-utp-lt-');
    dataDir = join(dir.path, 'data');
    await mkdir(dataDir, { recursive: true });
    data = randomBytes(FILE_BYTES);
    await writeFile(join(dataDir, 'payload.bin'), data);
    torrentPath = join(dir.path, 'payload.torrent');
    const created = await createTorrentWithLibtorrent({ dataPath: join(dataDir, 'payload.bin'), torrentPath, pieceLength: PIECE_LENGTH });
    expect(created.pieces).toBe(PIECES);
    infoHash = Buffer.from(created.infoHash, 'hex');
    // Plaintext when it dials us: by default libtorrent opens with an MSE handshake (another
    // helper's work) and only retries in plaintext after that fails.
    seeder = await startLibtorrent({ torrentPath, savePath: dataDir, seed: true, settings: { ...UTP_ONLY, out_enc_policy: 2 } });
    await seeder.waitFor('finished');
  }, 60_000);

  afterAll(async () => {
    for (const e of endpoints) await e.close();
    await seeder?.stop();
    await dir?.cleanup();
  });

  it('our uTP client handshakes with a libtorrent seeder and downloads every piece byte-exact', async () => {
    const ep = await listenUtp();
    endpoints.push(ep);
    const stream = ep.utp.connect(seeder.port, '127.0.0.1');
    await connected(stream);
    const peer = new WirePeer(stream, PIECES);
    stream.write(encodeHandshake({ infoHash, peerId: generatePeerId(), features: FEATURES }));
    const hs = await peer.next(is('handshake'));
    expect(hs.infoHash).toEqual(infoHash);
    await peer.next(is('have-all')); // a seed, with the fast extension (BEP 6)
    stream.write(encodeMessage({ type: 'interested' }));
    await peer.next(is('unchoke'));
    // Request every block of every piece at once (libtorrent queues up to 500 requests).
    const t0 = performance.now();
    let requested = 0;
    for (let index = 0; index < PIECES; index++) {
      const len = Math.min(PIECE_LENGTH, FILE_BYTES - index * PIECE_LENGTH);
      for (let begin = 0; begin < len; begin += BLOCK) {
        stream.write(encodeMessage({ type: 'request', index, begin, length: Math.min(BLOCK, len - begin) }));
        requested++;
      }
    }
    await until(
      () => `all ${requested} blocks (got ${peer.seen.filter((m) => m.type === 'piece').length})`,
      () => peer.failure !== undefined || peer.seen.filter((m) => m.type === 'piece').length === requested,
      { timeoutMs: 60_000, everyMs: 50 },
    );
    expect(peer.failure).toBeUndefined();
    const got = Buffer.alloc(FILE_BYTES);
    for (const m of peer.seen) if (m.type === 'piece') m.block.copy(got, m.index * PIECE_LENGTH + m.begin);
    expect(got.equals(data)).toBe(true);
    const s = stream.connection!.stats;
    console.log(
      `libtorrent → tc over uTP: ${(FILE_BYTES / 1e6).toFixed(1)} MB in ${(performance.now() - t0).toFixed(0)} ms; ` +
        `tc received ${s.packetsReceived} packets, sent ${s.packetsSent}, duplicates ${s.duplicatePackets}, dropped ${s.droppedPackets}`,
    );
    stream.destroy();
  }, 90_000);

  it('a libtorrent peer dials our uTP socket and completes the handshake both ways', async () => {
    const ep = await listenUtp();
    endpoints.push(ep);
    const incoming = new Promise<UtpStream>((resolve) => ep.utp.once('connection', resolve));
    seeder.connect('127.0.0.1', ep.port);
    const stream = await incoming;
    const peer = new WirePeer(stream, PIECES);
    const hs = await peer.next(is('handshake'));
    expect(hs.infoHash).toEqual(infoHash);
    stream.write(encodeHandshake({ infoHash, peerId: generatePeerId(), features: FEATURES }));
    stream.write(encodeMessage({ type: 'have-none' }));
    // libtorrent now lists us (by our peer id: no extended handshake) on the port we dialled from.
    await until('libtorrent to list the uTP peer', async () => (await seeder.peers()).some((p) => p.port === ep.port && p.client === 'TC 0.1.0'), {
      timeoutMs: 15_000,
      everyMs: 200,
    });
    // It is a seed talking to a peer with nothing: it says so.
    await peer.next(is('have-all'));
    stream.end();
    await new Promise<void>((r) => stream.once('close', () => r()));
  }, 60_000);

  it('a uTP-only libtorrent downloader fetches the whole torrent from our uTP socket (its hash check passes)', async () => {
    const ep = await listenUtp();
    endpoints.push(ep);
    const served: number[] = [];
    ep.utp.on('connection', (stream) => {
      const peer = new WirePeer(stream, PIECES);
      void (async () => {
        await peer.next(is('handshake'));
        stream.write(encodeHandshake({ infoHash, peerId: generatePeerId(), features: FEATURES }));
        stream.write(encodeMessage({ type: 'have-all' }));
        await peer.next(is('interested'));
        stream.write(encodeMessage({ type: 'unchoke' }));
        // Serve requests as they come, in order, as a seeder would.
        let at = 0;
        for (;;) {
          const m = await peer.next((x): x is Extract<Incoming, { type: 'request' }> => x.type === 'request' && peer.seen.indexOf(x) >= at, 60_000);
          at = peer.seen.indexOf(m) + 1;
          const off = m.index * PIECE_LENGTH + m.begin;
          stream.write(encodeMessage({ type: 'piece', index: m.index, begin: m.begin, block: data.subarray(off, off + m.length) }));
          served.push(m.length);
        }
      })().catch(() => undefined);
    });
    const ddir = join(dir.path, 'download');
    await mkdir(ddir, { recursive: true });
    const t0 = performance.now();
    const downloader = await startLibtorrent({
      torrentPath,
      savePath: ddir,
      settings: { ...UTP_ONLY, out_enc_policy: 2 },
      connectTo: [{ ip: '127.0.0.1', port: ep.port }],
    });
    try {
      await downloader.waitFor('finished', undefined, 60_000);
      const st = await downloader.status();
      expect(st.totalDone).toBe(FILE_BYTES);
      expect(served.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(FILE_BYTES);
      console.log(`tc → libtorrent over uTP: ${(FILE_BYTES / 1e6).toFixed(1)} MB in ${(performance.now() - t0).toFixed(0)} ms (process start included)`);
    } finally {
      await downloader.stop();
    }
  }, 90_000);
});
