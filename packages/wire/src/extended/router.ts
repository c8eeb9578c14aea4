import { WireError } from '../errors.js';
import { encodeMessage, type Extended } from '../messages.js';
import { decodeExtendedHandshake, EXTENDED_HANDSHAKE_ID, mergeExtendedHandshake, type ExtendedHandshake } from './handshake.js';
import { decodeMetadataMessage, type MetadataMessage } from './ut-metadata.js';
import { decodePex, type PexMessage } from './ut-pex.js';

export const UT_METADATA = 'ut_metadata';
export const UT_PEX = 'ut_pex';

/** The ids tc assigns in its own `m` (any 1..255 would do; BEP 10 lets each side choose). */
export const DEFAULT_LOCAL_EXTENSIONS: Readonly<Record<string, number>> = { [UT_METADATA]: 1, [UT_PEX]: 2 };

/** An extended message after routing by id. */
export type RoutedExtended =
  /** `handshake` is the peer's state after this message: a re-sent handshake is merged into the earlier ones. */
  | { readonly name: 'handshake'; readonly handshake: ExtendedHandshake }
  | { readonly name: typeof UT_METADATA; readonly message: MetadataMessage }
  | { readonly name: typeof UT_PEX; readonly message: PexMessage }
  /** An id we assigned to an extension this package does not parse: the payload, raw. */
  | { readonly name: 'other'; readonly extension: string; readonly payload: Buffer };

/**
 * BEP 10 id bookkeeping for one connection. Each side picks the ids it wants to *receive*:
 * incoming messages carry our ids (from `local`), outgoing ones must carry the peer's (from its
 * handshake's `m`). A peer may re-send its handshake to add or disable (id 0) extensions.
 */
export class ExtensionRouter {
  private readonly localById = new Map<number, string>();
  private readonly localIds: ReadonlyMap<string, number>;
  private remote: ExtendedHandshake | undefined;

  constructor(local: Readonly<Record<string, number>> = DEFAULT_LOCAL_EXTENSIONS) {
    const ids = new Map<string, number>();
    for (const [name, id] of Object.entries(local)) {
      if (!Number.isInteger(id) || id < 1 || id > 255 || this.localById.has(id)) {
        throw new WireError('WIRE_BAD_ARGUMENT', `local extension ${name} needs a unique id in 1..255, got ${id}`);
      }
      this.localById.set(id, name);
      ids.set(name, id);
    }
    this.localIds = ids;
  }

  /** Our `m`, for encodeExtendedHandshake. */
  get localMap(): ReadonlyMap<string, number> {
    return this.localIds;
  }

  /** The peer's extended handshakes merged (BEP 10: a re-sent `m` is additive), once one is received. */
  get peer(): ExtendedHandshake | undefined {
    return this.remote;
  }

  /** The id to put on an outgoing message for `name`, or undefined when the peer lacks (or disabled) it. */
  remoteId(name: string): number | undefined {
    return this.remote?.m.get(name);
  }

  /** A whole framed extended message for `name`, or undefined when the peer does not support it. */
  encode(name: string, payload: Buffer): Buffer | undefined {
    const id = this.remoteId(name);
    return id === undefined ? undefined : encodeMessage({ type: 'extended', id, payload });
  }

  /**
   * Routes and parses one incoming extended message. A handshake updates the peer's ids: a re-sent
   * one only carries changes, 0 disabling a name (BEP 10; mergeExtendedHandshake). An id we
   * never assigned is WIRE_BAD_EXTENDED (BEP 10 gives it no meaning); payload errors are typed too.
   */
  route(msg: Extended): RoutedExtended {
    if (msg.id === EXTENDED_HANDSHAKE_ID) {
      const got = decodeExtendedHandshake(msg.payload);
      const handshake = this.remote === undefined ? got : mergeExtendedHandshake(this.remote, got);
      this.remote = handshake;
      return { name: 'handshake', handshake };
    }
    const name = this.localById.get(msg.id);
    if (name === undefined) {
      throw new WireError('WIRE_BAD_EXTENDED', `extended message id ${msg.id} was never assigned`, { messageId: msg.id });
    }
    if (name === UT_METADATA) return { name, message: decodeMetadataMessage(msg.payload, this.remote?.metadataSize) };
    if (name === UT_PEX) return { name, message: decodePex(msg.payload) };
    return { name: 'other', extension: name, payload: msg.payload };
  }
}
