import { CodecError, parseMagnet, parseMetainfo, type Magnet, type Metainfo } from '@tc/codec';
import { EngineError } from './errors.js';
import type { TorrentSource } from './session.js';

/**
 * What `session.add()` accepts, like webtorrent's `client.add`: the bytes of a .torrent file, a
 * parsed metainfo (or the engine's own TorrentSource), a magnet link, or a bare info-hash (40 hex or
 * 32 base32 characters). A file path is not read: read the file and pass its bytes.
 */
export type AddInput = Uint8Array | Metainfo | TorrentSource | string;

/** An input read: the metadata is known, or it must be fetched from peers first (BEP 9). */
export type ResolvedInput =
  | { readonly kind: 'metadata'; readonly source: Metainfo | TorrentSource; readonly infoHash: Buffer; readonly name: string }
  | { readonly kind: 'magnet'; readonly magnet: Magnet; readonly infoHash: Buffer; readonly name: string | undefined };

const HEX_INFO_HASH = /^[0-9a-fA-F]{40}$/;
const BASE32_INFO_HASH = /^[A-Za-z2-7]{32}$/;

function bad(message: string, cause?: unknown): EngineError {
  return new EngineError('ENGINE_BAD_TORRENT', message, cause !== undefined ? { cause } : {});
}

/** What a caller passed, in a few words (never its content: it may be huge or hostile). */
function describe(input: unknown): string {
  if (input === null) return 'null';
  if (typeof input === 'string') return `a string of ${input.length} characters`;
  return typeof input === 'object' ? 'an object that is neither a metainfo nor a torrent source' : `a ${typeof input}`;
}

/**
 * Reads an `add()` input. Throws ENGINE_BAD_TORRENT naming what is wrong: bytes that are not a valid
 * .torrent, a malformed magnet link, or anything else. Lengths are bounded by codec (MAX_TORRENT_BYTES,
 * MAX_MAGNET_CHARS).
 */
export function resolveAddInput(input: AddInput): ResolvedInput {
  if (input instanceof Uint8Array) {
    try {
      const { metainfo } = parseMetainfo(input);
      return { kind: 'metadata', source: metainfo, infoHash: metainfo.infoHash, name: metainfo.name };
    } catch (e) {
      if (e instanceof CodecError) throw bad(`not a valid .torrent: ${e.message}`, e);
      throw e;
    }
  }
  if (typeof input === 'string') {
    const text = input.trim();
    let link: string;
    if (text.toLowerCase().startsWith('magnet:')) link = text;
    else if (HEX_INFO_HASH.test(text) || BASE32_INFO_HASH.test(text)) link = `magnet:?xt=urn:btih:${text}`;
    else throw bad(`expected a magnet link or a 40-hex or 32-base32 info-hash, got ${describe(text)} (to add a .torrent file, pass its bytes)`);
    try {
      const { magnet } = parseMagnet(link);
      return { kind: 'magnet', magnet, infoHash: Buffer.from(magnet.infoHash), name: magnet.name };
    } catch (e) {
      if (e instanceof CodecError) throw bad(`not a valid magnet link or info-hash: ${e.message}`, e);
      throw e;
    }
  }
  if (typeof input === 'object' && input !== null && Buffer.isBuffer(input.infoHash) && input.infoHash.length === 20) {
    if ('layout' in input || 'pieces' in input) return { kind: 'metadata', source: input, infoHash: input.infoHash, name: input.name };
  }
  throw bad(`expected .torrent bytes, a metainfo, a magnet link or an info-hash, got ${describe(input)}`);
}
