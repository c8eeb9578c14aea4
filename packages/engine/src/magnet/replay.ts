import { LENGTH_PREFIX_BYTES, type Message } from '@tc/wire';

/**
 * Bytes of state messages (bitfield, haves, chokes, interest, allowed-fast, extended handshakes)
 * one peer may send before we have the metadata, counted as they arrive whether kept or folded
 * away. An honest peer sends one bitfield (at most 256 KiB, for wire's MAX_PIECE_COUNT pieces) and
 * some haves; a peer that sends four maximum bitfields goes over it and is dropped (issue 10, defect 1).
 */
export const MAX_REPLAY_BYTES = 1024 * 1024;
/** Distinct `have` and allowed-fast indices kept per peer: each costs memory, unlike a repeated choke. */
export const MAX_REPLAY_MESSAGES = 4_096;

/** Wire size of a message with a payload of `payload` bytes: length prefix and id. */
function wireBytes(payload: number): number {
  return LENGTH_PREFIX_BYTES + 1 + payload;
}

/**
 * What a peer said while the metadata (and so the piece count) was unknown, folded to its current
 * state, to be replayed to the torrent that takes the connection over (Torrent.takeOver checks it
 * against the piece count). Memory stays bounded whatever the peer sends: the latest bitfield only
 * (BEP 3 allows one; a later one replaces it), `have`s it or `have-all` already cover are dropped,
 * chokes and interest keep their latest value. Pure: messages in, a verdict out.
 */
export class PeerReplay {
  /** The latest bitfield (copied), have-all or have-none. */
  private base: Message | undefined;
  private readonly haves = new Set<number>();
  private readonly allowedFast = new Set<number>();
  private choke: Message | undefined;
  private interest: Message | undefined;
  /** Extended handshakes (copied): BEP 10 lets a later one update an earlier one, so all are replayed. */
  private readonly extended: Message[] = [];
  private received = 0;

  /** Wire bytes taken so far (kept or folded away). */
  get bytes(): number {
    return this.received;
  }

  /**
   * Folds in one message. `m` may be a view of a reused read buffer: what is kept is copied.
   * Returns why the peer must be dropped when it went over a budget, else undefined.
   */
  add(m: Message): string | undefined {
    switch (m.type) {
      case 'bitfield': {
        this.received += wireBytes(m.bytes.length);
        if (this.received > MAX_REPLAY_BYTES) break;
        const bytes = Buffer.from(m.bytes);
        this.base = { type: 'bitfield', bytes };
        for (const i of this.haves) if (bitSet(bytes, i)) this.haves.delete(i);
        return undefined;
      }
      case 'have':
        this.received += wireBytes(4);
        if (!this.covers(m.index)) this.haves.add(m.index);
        break;
      case 'have-all':
        this.received += wireBytes(0);
        this.base = m;
        this.haves.clear();
        break;
      case 'have-none':
        this.received += wireBytes(0);
        this.base = m;
        break;
      case 'allowed-fast':
        this.received += wireBytes(4);
        this.allowedFast.add(m.index);
        break;
      case 'choke':
      case 'unchoke':
        this.received += wireBytes(0);
        this.choke = m;
        break;
      case 'interested':
      case 'not-interested':
        this.received += wireBytes(0);
        this.interest = m;
        break;
      case 'extended':
        this.received += wireBytes(1 + m.payload.length);
        if (this.received > MAX_REPLAY_BYTES) break;
        this.extended.push({ type: 'extended', id: m.id, payload: Buffer.from(m.payload) });
        return undefined;
      default:
        return undefined;
    }
    if (this.received > MAX_REPLAY_BYTES) return `more than ${MAX_REPLAY_BYTES} bytes of bitfields, haves and other state before we had the metadata`;
    if (this.haves.size + this.allowedFast.size > MAX_REPLAY_MESSAGES)
      return `more than ${MAX_REPLAY_MESSAGES} haves and allowed-fast pieces before we had the metadata`;
    return undefined;
  }

  /** True when the latest bitfield or have-all already says the peer has piece `i`. */
  private covers(i: number): boolean {
    const b = this.base;
    if (b?.type === 'have-all') return true;
    return b?.type === 'bitfield' && bitSet(b.bytes, i);
  }

  /** The peer's state as messages, in the order a peer would send them. */
  messages(): Message[] {
    const out: Message[] = [];
    if (this.base !== undefined) out.push(this.base);
    for (const index of this.haves) out.push({ type: 'have', index });
    for (const index of this.allowedFast) out.push({ type: 'allowed-fast', index });
    if (this.choke !== undefined) out.push(this.choke);
    if (this.interest !== undefined) out.push(this.interest);
    out.push(...this.extended);
    return out;
  }
}

/** Bit `i` of a wire bitfield (BEP 3: the high bit of the first byte is piece 0). */
function bitSet(bytes: Uint8Array, i: number): boolean {
  const byte = bytes[i >>> 3];
  return byte !== undefined && (byte & (0x80 >>> (i & 7))) !== 0;
}
