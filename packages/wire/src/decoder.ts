import { checkWireBitfield, bitfieldBytes } from './bitfield.js';
import { WireError } from './errors.js';
import { checkHandshakeBytes, decodeHandshake, HANDSHAKE_BYTES, negotiate, readFeatures, type Features, type Handshake } from './handshake.js';
import { decodeBody, fixedPayloadBytes, isFastMessageId, KEEP_ALIVE, LENGTH_PREFIX_BYTES, MessageId, type Message } from './messages.js';

/** The block size every client uses and requests (BEP 3 practice; rqbit, anacrolix, libtorrent). */
export const DEFAULT_MAX_BLOCK_BYTES = 16 * 1024;
/** Largest block size we accept when configured: some old clients send 128 KiB blocks. */
export const MAX_BLOCK_BYTES_LIMIT = 128 * 1024;
/**
 * Default cap for extended (and unknown) messages: room for a ut_metadata data message
 * (16 KiB of data after its bencoded header, BEP 9) and for large PEX or handshake dictionaries,
 * while keeping a hostile peer's buffer small (libtorrent allows 2 MiB; we need far less).
 */
export const DEFAULT_MAX_EXTENDED_BYTES = 64 * 1024;
/** The most pieces a torrent may have (RELIABILITY #15): bounds a bitfield whose piece count is not yet known. */
export const MAX_PIECE_COUNT = 0x200000;

export interface DecoderOptions {
  /** Pieces in the torrent; unknown for magnet links until the metadata arrives (see setPieceCount). */
  readonly pieceCount?: number;
  /** Largest block a piece message may carry, default 16 KiB, at most 128 KiB. */
  readonly maxBlockBytes?: number;
  /** Largest extended-message payload, default 64 KiB. */
  readonly maxExtendedBytes?: number;
  /** Whether the stream starts with the 68-byte handshake (default true). */
  readonly handshake?: boolean;
  /**
   * The features we set in our own handshake. When given, fast and extended messages from a peer
   * are accepted only if both sides set the bit (BEP 6, BEP 10). Without it nothing is enforced.
   */
  readonly features?: Features;
  /**
   * Ids no BEP we speak defines: `yield` them as `{ type: 'unknown' }` (default; webtorrent
   * ignores them), or `reject` with WIRE_UNKNOWN_MESSAGE before buffering (libtorrent disconnects).
   */
  readonly unknownIds?: 'yield' | 'reject';
}

export interface HandshakeEvent extends Handshake {
  readonly type: 'handshake';
}

/** What `push` yields: the handshake first (unless disabled), then messages. */
export type Incoming = HandshakeEvent | Message;

/**
 * An incremental, allocation-bounded decoder for one peer connection's incoming byte stream.
 * Feed it chunks of any size; it returns every whole message completed by each chunk.
 *
 * Copying: a message that lies inside one chunk is returned as views of that chunk (piece blocks
 * included), so the caller must not reuse the chunk's memory while messages are alive (Node's
 * sockets never do). A message split across chunks is copied once into a buffer of its exact size,
 * allocated only after its length prefix passed the limits.
 *
 * After a protocol error the decoder is dead: every later push rethrows the same WireError.
 */
export class MessageDecoder {
  private pieceCount: number | undefined;
  private readonly maxBlockBytes: number;
  private readonly maxExtendedBytes: number;
  private readonly localFeatures: Features | undefined;
  private readonly rejectUnknown: boolean;
  private negotiated: Required<Features> | undefined;
  private inHandshake: boolean;
  private readonly hs = Buffer.alloc(HANDSHAKE_BYTES);
  private hsFill = 0;
  /** Length prefix and id byte of a message whose header was split across chunks. */
  private readonly hdr = Buffer.alloc(LENGTH_PREFIX_BYTES + 1);
  private hdrFill = 0;
  /** Body (id + payload) of a message split across chunks. */
  private body: Buffer | null = null;
  private bodyFill = 0;
  private failure: WireError | undefined;

  constructor(opts: DecoderOptions = {}) {
    const maxBlock = opts.maxBlockBytes ?? DEFAULT_MAX_BLOCK_BYTES;
    if (!Number.isInteger(maxBlock) || maxBlock < 1 || maxBlock > MAX_BLOCK_BYTES_LIMIT) {
      throw new WireError('WIRE_BAD_ARGUMENT', `maxBlockBytes must be in 1..${MAX_BLOCK_BYTES_LIMIT}, got ${maxBlock}`);
    }
    const maxExt = opts.maxExtendedBytes ?? DEFAULT_MAX_EXTENDED_BYTES;
    if (!Number.isInteger(maxExt) || maxExt < 1 || maxExt > 16 * 1024 * 1024) {
      throw new WireError('WIRE_BAD_ARGUMENT', `maxExtendedBytes must be in 1..16 MiB, got ${maxExt}`);
    }
    this.maxBlockBytes = maxBlock;
    this.maxExtendedBytes = maxExt;
    this.localFeatures = opts.features;
    this.rejectUnknown = opts.unknownIds === 'reject';
    this.inHandshake = opts.handshake ?? true;
    if (!this.inHandshake && this.localFeatures !== undefined) this.negotiated = negotiate(this.localFeatures, this.localFeatures);
    if (opts.pieceCount !== undefined) this.setPieceCount(opts.pieceCount);
  }

  /** Learn (or tighten) the piece count, e.g. once a magnet's metadata is verified. */
  setPieceCount(pieceCount: number): void {
    if (!Number.isInteger(pieceCount) || pieceCount < 0 || pieceCount > MAX_PIECE_COUNT) {
      throw new WireError('WIRE_BAD_ARGUMENT', `piece count must be in 0..${MAX_PIECE_COUNT}, got ${pieceCount}`);
    }
    this.pieceCount = pieceCount;
  }

  /** The features in use on this connection, once the peer's handshake is read (undefined without `features`). */
  get features(): Required<Features> | undefined {
    return this.negotiated;
  }

  /** Bytes held between pushes: never more than the largest legal message. */
  get buffered(): number {
    if (this.inHandshake) return this.hsFill;
    return this.body !== null ? this.bodyFill : this.hdrFill;
  }

  /**
   * Size in bytes (length prefix included) of the message whose start has been read but not its
   * end, once its header is known; undefined between messages, during the handshake and while the
   * header itself is split. With `buffered`, lets the owner bound how long a message may take
   * (a peer trickling a piece byte by byte, RELIABILITY #20).
   */
  get partialMessageBytes(): number | undefined {
    return this.body !== null ? LENGTH_PREFIX_BYTES + this.body.length : undefined;
  }

  /** Largest body (id + payload) any message may have under the current limits. */
  private maxBodyBytes(): number {
    return Math.max(1 + 8 + this.maxBlockBytes, this.maxBitfieldBody(), 2 + this.maxExtendedBytes);
  }

  private maxBitfieldBody(): number {
    return 1 + bitfieldBytes(this.pieceCount ?? MAX_PIECE_COUNT);
  }

  /** Checks a message's length against its id's rule before any of its body is buffered. */
  private checkHeader(len: number, id: number): void {
    const payload = len - 1;
    const fixed = fixedPayloadBytes(id);
    if (fixed !== undefined && payload !== fixed) {
      throw new WireError('WIRE_BAD_LENGTH', `message ${id} has length ${len}, expected ${fixed + 1}`, {
        messageId: id,
        value: len,
        limit: fixed + 1,
      });
    }
    if (this.negotiated !== undefined) {
      if (isFastMessageId(id) && !this.negotiated.fast) {
        throw new WireError('WIRE_FAST_NOT_NEGOTIATED', `fast-extension message ${id} without BEP 6 negotiated`, { messageId: id });
      }
      if (id === MessageId.extended && !this.negotiated.extended) {
        throw new WireError('WIRE_EXTENDED_NOT_NEGOTIATED', 'extended message without BEP 10 negotiated', { messageId: id });
      }
    }
    let limit: number;
    if (this.rejectUnknown && fixed === undefined && id !== MessageId.piece && id !== MessageId.bitfield && id !== MessageId.extended) {
      throw new WireError('WIRE_UNKNOWN_MESSAGE', `message id ${id} is not defined by BEP 3, 6 or 10`, { messageId: id });
    }
    if (id === MessageId.piece) limit = 1 + 8 + this.maxBlockBytes;
    else if (id === MessageId.bitfield) {
      if (this.pieceCount !== undefined && payload !== bitfieldBytes(this.pieceCount)) {
        throw new WireError('WIRE_BAD_BITFIELD', `bitfield is ${payload} bytes, ${bitfieldBytes(this.pieceCount)} expected for ${this.pieceCount} pieces`, {
          messageId: id,
          value: payload,
          limit: bitfieldBytes(this.pieceCount),
        });
      }
      limit = this.maxBitfieldBody();
    } else if (fixed !== undefined) limit = 1 + fixed;
    else limit = 2 + this.maxExtendedBytes; // extended (id + ext id + payload) and unknown ids
    if (len > limit) {
      throw new WireError('WIRE_MESSAGE_TOO_LONG', `message ${id} has length ${len}, the limit is ${limit}`, {
        messageId: id,
        value: len,
        limit,
      });
    }
  }

  private finish(body: Buffer): Message {
    const m = decodeBody(body);
    if (this.pieceCount !== undefined) {
      if (m.type === 'have' && m.index >= this.pieceCount) {
        throw new WireError('WIRE_HAVE_OUT_OF_RANGE', `have ${m.index} but the torrent has ${this.pieceCount} pieces`, {
          messageId: MessageId.have,
          value: m.index,
          limit: this.pieceCount,
        });
      }
      if (m.type === 'bitfield') checkWireBitfield(m.bytes, this.pieceCount);
    }
    return m;
  }

  /** Decodes every message completed by `chunk`. Throws WireError on the first broken rule. */
  push(chunk: Uint8Array): Incoming[] {
    if (this.failure) throw this.failure;
    try {
      return this.run(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    } catch (e) {
      if (e instanceof WireError) this.failure = e;
      throw e;
    }
  }

  private run(buf: Buffer): Incoming[] {
    const out: Incoming[] = [];
    const end = buf.length;
    let pos = 0;
    while (pos < end) {
      if (this.inHandshake) {
        const take = Math.min(HANDSHAKE_BYTES - this.hsFill, end - pos);
        checkHandshakeBytes(buf.subarray(pos, pos + take), this.hsFill);
        buf.copy(this.hs, this.hsFill, pos, pos + take);
        this.hsFill += take;
        pos += take;
        if (this.hsFill === HANDSHAKE_BYTES) {
          const h = decodeHandshake(this.hs);
          this.inHandshake = false;
          if (this.localFeatures !== undefined) this.negotiated = negotiate(this.localFeatures, readFeatures(h.reserved));
          out.push({ type: 'handshake', ...h });
        }
        continue;
      }
      if (this.body !== null) {
        // Completing a message split across chunks: the one copy.
        const take = Math.min(this.body.length - this.bodyFill, end - pos);
        buf.copy(this.body, this.bodyFill, pos, pos + take);
        this.bodyFill += take;
        pos += take;
        if (this.bodyFill === this.body.length) {
          const body = this.body;
          this.body = null;
          this.bodyFill = 0;
          out.push(this.finish(body));
        }
        continue;
      }
      if (this.hdrFill === 0 && end - pos > LENGTH_PREFIX_BYTES) {
        // Fast path: the header is whole in this chunk.
        const len = buf.readUInt32BE(pos);
        if (len === 0) {
          out.push(KEEP_ALIVE);
          pos += LENGTH_PREFIX_BYTES;
          continue;
        }
        this.checkHeader(len, buf[pos + LENGTH_PREFIX_BYTES]!);
        const start = pos + LENGTH_PREFIX_BYTES;
        if (end - start >= len) {
          out.push(this.finish(buf.subarray(start, start + len)));
          pos = start + len;
        } else {
          this.body = Buffer.allocUnsafe(len);
          this.bodyFill = buf.copy(this.body, 0, start, end);
          pos = end;
        }
        continue;
      }
      // Slow path: the header arrives in pieces.
      this.hdr[this.hdrFill++] = buf[pos++]!;
      if (this.hdrFill === LENGTH_PREFIX_BYTES) {
        const len = this.hdr.readUInt32BE(0);
        if (len === 0) {
          this.hdrFill = 0;
          out.push(KEEP_ALIVE);
        } else if (len > this.maxBodyBytes()) {
          // Reject before even reading the id (RELIABILITY #20).
          throw new WireError('WIRE_MESSAGE_TOO_LONG', `message length ${len} exceeds every limit (${this.maxBodyBytes()})`, {
            value: len,
            limit: this.maxBodyBytes(),
          });
        }
      } else if (this.hdrFill === LENGTH_PREFIX_BYTES + 1) {
        const len = this.hdr.readUInt32BE(0);
        const id = this.hdr[LENGTH_PREFIX_BYTES]!;
        this.checkHeader(len, id);
        this.hdrFill = 0;
        if (len === 1) {
          // A fresh byte, not a view of `hdr`, which the next header overwrites.
          out.push(this.finish(Buffer.from([id])));
        } else {
          this.body = Buffer.allocUnsafe(len);
          this.body[0] = id;
          this.bodyFill = 1;
        }
      }
    }
    return out;
  }
}
