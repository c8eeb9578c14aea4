import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { BDict, decodePrefix, encode } from '@tc/codec';

/** BEP 9 piece size. */
const PIECE_BYTES = 16 * 1024;
/** The id this fake assigns to ut_metadata in its `m` (BEP 10: each side picks its own). */
const OUR_UT_METADATA = 3;

export interface FakeMetadataPeerOptions {
  readonly infoHash: Buffer;
  /** Bytes served as the metadata; omitted: every request is rejected. */
  readonly metadata?: Buffer;
  /** `metadata_size` announced in the extended handshake (default: metadata's length). */
  readonly announcedSize?: number;
}

export interface FakeMetadataPeer {
  readonly port: number;
  /** ut_metadata requests received. */
  readonly requests: number;
  readonly connections: number;
  close(): Promise<void>;
}

function frame(id: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(5);
  b.writeUInt32BE(payload.length + 1, 0);
  b[4] = id;
  return Buffer.concat([b, payload]);
}

/**
 * A peer on 127.0.0.1 that speaks only enough BitTorrent to serve metadata (BEP 3 handshake, BEP 10
 * extended handshake, BEP 9 data/reject), with the bytes and the size the test chooses: a liar's
 * metadata that does not hash, or an absurd `metadata_size`. Written with bencode only, so testkit
 * needs no wire dependency.
 */
export async function startFakeMetadataPeer(opts: FakeMetadataPeerOptions): Promise<FakeMetadataPeer> {
  const sockets = new Set<Socket>();
  let requests = 0;
  let connections = 0;
  const size = opts.announcedSize ?? opts.metadata?.length ?? 1;
  const server: Server = createServer((sock) => {
    connections++;
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let handshaken = false;
    let theirId: number | undefined;
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!handshaken) {
        if (buf.length < 68) return;
        buf = buf.subarray(68);
        handshaken = true;
        const reserved = Buffer.alloc(8);
        reserved[5] = 0x10; // BEP 10 extension bit
        sock.write(Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), reserved, opts.infoHash, Buffer.from('-FM0001-'), randomBytes(12)]));
        sock.write(frame(20, Buffer.concat([Buffer.from([0]), encode({ m: { ut_metadata: OUR_UT_METADATA }, metadata_size: size, v: 'fake metadata peer' })])));
      }
      while (buf.length >= 4) {
        const len = buf.readUInt32BE(0);
        if (len > 1024 * 1024) {
          sock.destroy();
          return;
        }
        if (buf.length < 4 + len) return;
        const msg = buf.subarray(4, 4 + len);
        buf = buf.subarray(4 + len);
        if (len < 2 || msg[0] !== 20) continue;
        const ext = msg[1]!;
        let head;
        try {
          head = decodePrefix(msg.subarray(2), { mode: 'lenient' });
        } catch {
          continue;
        }
        if (!(head.value instanceof BDict)) continue;
        if (ext === 0) {
          const m = head.value.get('m');
          const id = m instanceof BDict ? m.get('ut_metadata') : undefined;
          if (typeof id === 'number') theirId = id;
          continue;
        }
        if (ext !== OUR_UT_METADATA || theirId === undefined || head.value.get('msg_type') !== 0) continue;
        const piece = head.value.get('piece');
        if (typeof piece !== 'number') continue;
        requests++;
        const md = opts.metadata;
        const data = md?.subarray(piece * PIECE_BYTES, Math.min(md.length, (piece + 1) * PIECE_BYTES));
        const reply =
          data === undefined || data.length === 0 ? encode({ msg_type: 2, piece }) : Buffer.concat([encode({ msg_type: 1, piece, total_size: size }), data]);
        sock.write(frame(20, Buffer.concat([Buffer.from([theirId]), reply])));
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
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
