/**
 * Changing a .torrent's fields (for tc-enhance): everything outside `info` can change freely, and
 * the `info` bytes are copied verbatim so the info-hash stays the same. Changes inside `info`
 * (`private`, `source`) make a new info-hash and must be asked for explicitly.
 */
import { decode } from '../bencode/decode.js';
import { encode } from '../bencode/encode.js';
import { BDict, BRaw, type BEncodable } from '../bencode/types.js';
import { CodecError } from '../errors.js';
import { MAX_TORRENT_BYTES, MAX_TORRENT_TOKENS, parseMetainfo } from './parse.js';
import type { Metainfo } from './types.js';

/** For each field: a value sets it, `null` removes it, absent leaves it as it is. */
export interface MetainfoEdits {
  /** BEP 12 tiers; `announce` becomes the first URL. An empty list removes both keys. */
  readonly announceTiers?: readonly (readonly string[])[] | null;
  /** BEP 19 `url-list`. */
  readonly webSeeds?: readonly string[] | null;
  readonly comment?: string | null;
  readonly createdBy?: string | null;
  readonly creationDate?: Date | null;
  /** Changes `info`, hence the info-hash: only applied with `allowInfoChange`. */
  readonly private?: boolean;
  /** Changes `info`, hence the info-hash: only applied with `allowInfoChange`. */
  readonly source?: string | null;
  /** Must be true for `private` or `source` to be applied. */
  readonly allowInfoChange?: boolean;
}

export interface EditResult {
  readonly bytes: Buffer;
  readonly before: Metainfo;
  readonly after: Metainfo;
  /** True when the info-hash changed. */
  readonly infoChanged: boolean;
}

/** Copies every value of a dictionary as its raw bytes, so untouched values stay exactly as read. */
function rawEntries(d: BDict, input: Buffer): Map<string | Uint8Array, BEncodable | undefined> {
  const out = new Map<string | Uint8Array, BEncodable | undefined>();
  for (const e of d.entries.values()) out.set(Buffer.from(e.key, 'latin1'), new BRaw(input.subarray(e.start, e.end)));
  return out;
}

function setOrDelete(m: Map<string | Uint8Array, BEncodable | undefined>, key: string, value: BEncodable | null | undefined): void {
  if (value === undefined) return;
  for (const k of m.keys()) {
    if (Buffer.from(k as Uint8Array).toString('latin1') === key) m.delete(k);
  }
  if (value !== null) m.set(Buffer.from(key, 'latin1'), value);
}

/** Applies edits and returns the new .torrent bytes, both parsed versions, and whether the info-hash changed. */
export function editMetainfo(input: Uint8Array, edits: MetainfoEdits): EditResult {
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const before = parseMetainfo(buf).metainfo;
  const wantsInfoChange = edits.private !== undefined || edits.source !== undefined;
  if (wantsInfoChange && edits.allowInfoChange !== true) {
    throw new CodecError('CODEC_BAD_METAINFO', 'changing private or source changes the info-hash: pass allowInfoChange', { field: 'info' });
  }
  const root = decode(buf, { mode: 'lenient', maxBytes: MAX_TORRENT_BYTES, maxTokens: MAX_TORRENT_TOKENS }) as BDict;
  const top = rawEntries(root, buf);
  if (wantsInfoChange) {
    const info = rawEntries(before.info, buf);
    if (edits.private !== undefined) setOrDelete(info, 'private', edits.private ? 1 : null);
    if (edits.source !== undefined) setOrDelete(info, 'source', edits.source);
    setOrDelete(top, 'info', new BRaw(encode(info)));
  }
  if (edits.announceTiers !== undefined) {
    const tiers = (edits.announceTiers ?? []).map((t) => [...t]).filter((t) => t.length > 0);
    setOrDelete(top, 'announce', tiers[0]?.[0] ?? null);
    setOrDelete(top, 'announce-list', tiers.length > 0 ? tiers : null);
  }
  if (edits.webSeeds !== undefined) setOrDelete(top, 'url-list', edits.webSeeds && edits.webSeeds.length > 0 ? [...edits.webSeeds] : null);
  if (edits.comment !== undefined) {
    setOrDelete(top, 'comment.utf-8', null); // a stale UTF-8 twin would win over the new comment
    setOrDelete(top, 'comment', edits.comment);
  }
  if (edits.createdBy !== undefined) setOrDelete(top, 'created by', edits.createdBy);
  if (edits.creationDate !== undefined) {
    setOrDelete(top, 'creation date', edits.creationDate === null ? null : Math.floor(edits.creationDate.getTime() / 1000));
  }
  const bytes = encode(top);
  const after = parseMetainfo(bytes).metainfo;
  return { bytes, before, after, infoChanged: !after.infoHash.equals(before.infoHash) };
}
