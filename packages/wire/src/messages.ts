import { WireError } from './errors.js';

/** Message ids: BEP 3 (0–9), BEP 6 (0x0D–0x11), BEP 10 (20). */
export const MessageId = {
  choke: 0,
  unchoke: 1,
  interested: 2,
  notInterested: 3,
  have: 4,
  bitfield: 5,
  request: 6,
  piece: 7,
  cancel: 8,
  port: 9,
  suggest: 0x0d,
  haveAll: 0x0e,
  haveNone: 0x0f,
  reject: 0x10,
  allowedFast: 0x11,
  extended: 20,
} as const;

/** Length of the 4-byte big-endian prefix in front of every message (BEP 3). */
export const LENGTH_PREFIX_BYTES = 4;
/** `<len><id=7><index><begin>`: what precedes a block in a piece message (BEP 3). */
export const PIECE_HEADER_BYTES = 13;

export interface KeepAlive {
  readonly type: 'keep-alive';
}
export interface Choke {
  readonly type: 'choke';
}
export interface Unchoke {
  readonly type: 'unchoke';
}
export interface Interested {
  readonly type: 'interested';
}
export interface NotInterested {
  readonly type: 'not-interested';
}
export interface HaveAll {
  readonly type: 'have-all';
}
export interface HaveNone {
  readonly type: 'have-none';
}
export interface Have {
  readonly type: 'have';
  readonly index: number;
}
export interface Suggest {
  readonly type: 'suggest';
  readonly index: number;
}
export interface AllowedFast {
  readonly type: 'allowed-fast';
  readonly index: number;
}
/**
 * A peer's bitfield, raw: validated against the piece count when the decoder knows it, kept
 * as-is before that (magnet links). Turn it into a `Bitfield` with `Bitfield.fromWire`.
 */
export interface BitfieldMessage {
  readonly type: 'bitfield';
  readonly bytes: Buffer;
}
export interface BlockRef {
  readonly index: number;
  readonly begin: number;
  readonly length: number;
}
export interface Request extends BlockRef {
  readonly type: 'request';
}
export interface Cancel extends BlockRef {
  readonly type: 'cancel';
}
export interface Reject extends BlockRef {
  readonly type: 'reject';
}
/** `block` is a view of the received bytes where possible: consume or copy it before reusing them. */
export interface Piece {
  readonly type: 'piece';
  readonly index: number;
  readonly begin: number;
  readonly block: Buffer;
}
export interface Port {
  readonly type: 'port';
  readonly port: number;
}
/** BEP 10: id 0 is the extended handshake; others are the ids we assigned in our handshake's `m`. */
export interface Extended {
  readonly type: 'extended';
  readonly id: number;
  readonly payload: Buffer;
}
/** An id no BEP we speak defines. The engine chooses to skip it or drop the peer. */
export interface Unknown {
  readonly type: 'unknown';
  readonly id: number;
  readonly payload: Buffer;
}

export type Message =
  | KeepAlive
  | Choke
  | Unchoke
  | Interested
  | NotInterested
  | HaveAll
  | HaveNone
  | Have
  | Suggest
  | AllowedFast
  | BitfieldMessage
  | Request
  | Cancel
  | Reject
  | Piece
  | Port
  | Extended
  | Unknown;

export type MessageType = Message['type'];

/** Payload sizes (after the id byte) for messages whose size is fixed. */
const FIXED_PAYLOAD_BYTES: ReadonlyMap<number, number> = new Map([
  [MessageId.choke, 0],
  [MessageId.unchoke, 0],
  [MessageId.interested, 0],
  [MessageId.notInterested, 0],
  [MessageId.have, 4],
  [MessageId.request, 12],
  [MessageId.cancel, 12],
  [MessageId.port, 2],
  [MessageId.suggest, 4],
  [MessageId.haveAll, 0],
  [MessageId.haveNone, 0],
  [MessageId.reject, 12],
  [MessageId.allowedFast, 4],
]);

/** The payload size a message id demands, or undefined for variable-length messages. */
export function fixedPayloadBytes(id: number): number | undefined {
  return FIXED_PAYLOAD_BYTES.get(id);
}

const FAST_IDS: ReadonlySet<number> = new Set([MessageId.suggest, MessageId.haveAll, MessageId.haveNone, MessageId.reject, MessageId.allowedFast]);

/** Whether a message id belongs to the fast extension (BEP 6). */
export function isFastMessageId(id: number): boolean {
  return FAST_IDS.has(id);
}

const UINT32_MAX = 0xffff_ffff;

function u32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > UINT32_MAX) {
    throw new WireError('WIRE_BAD_ARGUMENT', `${what} must be an integer in 0..2^32-1, got ${v}`, { value: v });
  }
  return v;
}

function frame(id: number, payloadBytes: number): Buffer {
  const b = Buffer.allocUnsafe(LENGTH_PREFIX_BYTES + 1 + payloadBytes);
  b.writeUInt32BE(1 + payloadBytes, 0);
  b[4] = id;
  return b;
}

function blockRef(id: number, m: BlockRef): Buffer {
  const b = frame(id, 12);
  b.writeUInt32BE(u32(m.index, 'index'), 5);
  b.writeUInt32BE(u32(m.begin, 'begin'), 9);
  b.writeUInt32BE(u32(m.length, 'length'), 13);
  return b;
}

function indexOnly(id: number, index: number): Buffer {
  const b = frame(id, 4);
  b.writeUInt32BE(u32(index, 'index'), 5);
  return b;
}

/**
 * The 13-byte header of a piece message carrying `blockLength` bytes. Write it and the block
 * separately (`socket.cork`/`writev`) so the block is never copied.
 */
export function encodePieceHeader(index: number, begin: number, blockLength: number): Buffer {
  const b = Buffer.allocUnsafe(PIECE_HEADER_BYTES);
  b.writeUInt32BE(u32(9 + u32(blockLength, 'block length'), 'message length'), 0);
  b[4] = MessageId.piece;
  b.writeUInt32BE(u32(index, 'index'), 5);
  b.writeUInt32BE(u32(begin, 'begin'), 9);
  return b;
}

/** The bytes of one message, length prefix included. */
export function encodeMessage(m: Message): Buffer {
  switch (m.type) {
    case 'keep-alive':
      return Buffer.alloc(LENGTH_PREFIX_BYTES);
    case 'choke':
      return frame(MessageId.choke, 0);
    case 'unchoke':
      return frame(MessageId.unchoke, 0);
    case 'interested':
      return frame(MessageId.interested, 0);
    case 'not-interested':
      return frame(MessageId.notInterested, 0);
    case 'have-all':
      return frame(MessageId.haveAll, 0);
    case 'have-none':
      return frame(MessageId.haveNone, 0);
    case 'have':
      return indexOnly(MessageId.have, m.index);
    case 'suggest':
      return indexOnly(MessageId.suggest, m.index);
    case 'allowed-fast':
      return indexOnly(MessageId.allowedFast, m.index);
    case 'request':
      return blockRef(MessageId.request, m);
    case 'cancel':
      return blockRef(MessageId.cancel, m);
    case 'reject':
      return blockRef(MessageId.reject, m);
    case 'port': {
      if (!Number.isInteger(m.port) || m.port < 0 || m.port > 0xffff) {
        throw new WireError('WIRE_BAD_ARGUMENT', `port must be in 0..65535, got ${m.port}`, { value: m.port });
      }
      const b = frame(MessageId.port, 2);
      b.writeUInt16BE(m.port, 5);
      return b;
    }
    case 'bitfield': {
      const b = frame(MessageId.bitfield, m.bytes.length);
      m.bytes.copy(b, 5);
      return b;
    }
    case 'piece':
      return Buffer.concat([encodePieceHeader(m.index, m.begin, m.block.length), m.block]);
    case 'extended': {
      if (!Number.isInteger(m.id) || m.id < 0 || m.id > 255) {
        throw new WireError('WIRE_BAD_ARGUMENT', `extended id must be in 0..255, got ${m.id}`, { value: m.id });
      }
      const b = frame(MessageId.extended, 1 + m.payload.length);
      b[5] = m.id;
      m.payload.copy(b, 6);
      return b;
    }
    case 'unknown': {
      if (!Number.isInteger(m.id) || m.id < 0 || m.id > 255) {
        throw new WireError('WIRE_BAD_ARGUMENT', `message id must be in 0..255, got ${m.id}`, { value: m.id });
      }
      const b = frame(m.id, m.payload.length);
      m.payload.copy(b, 5);
      return b;
    }
  }
}

const CHOKE: Choke = Object.freeze({ type: 'choke' });
const UNCHOKE: Unchoke = Object.freeze({ type: 'unchoke' });
const INTERESTED: Interested = Object.freeze({ type: 'interested' });
const NOT_INTERESTED: NotInterested = Object.freeze({ type: 'not-interested' });
const HAVE_ALL: HaveAll = Object.freeze({ type: 'have-all' });
const HAVE_NONE: HaveNone = Object.freeze({ type: 'have-none' });
export const KEEP_ALIVE: KeepAlive = Object.freeze({ type: 'keep-alive' });

/**
 * Decodes one message body (the bytes after the length prefix: id, then payload). The caller
 * (MessageDecoder) has already checked the length against its limits and fixed sizes.
 * `body` views are kept in piece/bitfield/extended messages without copying.
 */
export function decodeBody(body: Buffer): Message {
  const id = body[0]!;
  const fixed = FIXED_PAYLOAD_BYTES.get(id);
  if (fixed !== undefined && body.length - 1 !== fixed) {
    throw new WireError('WIRE_BAD_LENGTH', `message ${id} has ${body.length - 1} payload bytes, expected ${fixed}`, {
      messageId: id,
      value: body.length - 1,
      limit: fixed,
    });
  }
  switch (id) {
    case MessageId.choke:
      return CHOKE;
    case MessageId.unchoke:
      return UNCHOKE;
    case MessageId.interested:
      return INTERESTED;
    case MessageId.notInterested:
      return NOT_INTERESTED;
    case MessageId.haveAll:
      return HAVE_ALL;
    case MessageId.haveNone:
      return HAVE_NONE;
    case MessageId.have:
      return { type: 'have', index: body.readUInt32BE(1) };
    case MessageId.suggest:
      return { type: 'suggest', index: body.readUInt32BE(1) };
    case MessageId.allowedFast:
      return { type: 'allowed-fast', index: body.readUInt32BE(1) };
    case MessageId.request:
      return { type: 'request', index: body.readUInt32BE(1), begin: body.readUInt32BE(5), length: body.readUInt32BE(9) };
    case MessageId.cancel:
      return { type: 'cancel', index: body.readUInt32BE(1), begin: body.readUInt32BE(5), length: body.readUInt32BE(9) };
    case MessageId.reject:
      return { type: 'reject', index: body.readUInt32BE(1), begin: body.readUInt32BE(5), length: body.readUInt32BE(9) };
    case MessageId.port:
      return { type: 'port', port: body.readUInt16BE(1) };
    case MessageId.bitfield:
      return { type: 'bitfield', bytes: body.subarray(1) };
    case MessageId.piece:
      if (body.length < 9) {
        throw new WireError('WIRE_BAD_LENGTH', `piece message has ${body.length - 1} payload bytes, at least 8 needed`, {
          messageId: id,
          value: body.length - 1,
          limit: 8,
        });
      }
      return { type: 'piece', index: body.readUInt32BE(1), begin: body.readUInt32BE(5), block: body.subarray(9) };
    case MessageId.extended:
      if (body.length < 2) {
        throw new WireError('WIRE_BAD_LENGTH', 'extended message without an extended id', { messageId: id, value: 0, limit: 1 });
      }
      return { type: 'extended', id: body[1]!, payload: body.subarray(2) };
    default:
      return { type: 'unknown', id, payload: body.subarray(1) };
  }
}
