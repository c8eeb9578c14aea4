/**
 * Writing a .torrent back out with its trackers set: the one way tc edits trackers (tc-enhance adds
 * some to a .torrent; tc-download saves a magnet's fetched metadata with the magnet's trackers).
 * The `info` bytes are copied verbatim, never re-encoded, so the info-hash cannot change
 * (RELIABILITY #12), even for a non-canonical info dictionary.
 */
import { encode } from '../bencode/encode.js';
import { BRaw, type BEncodable } from '../bencode/types.js';
import type { Metainfo } from './types.js';

/** BEP 12 tiers of announce URLs. */
export type AnnounceTiers = readonly (readonly string[])[];

const key = (k: string): Buffer => Buffer.from(k, 'latin1');

/**
 * The .torrent bytes of `m` with `announce` and `announce-list` set from `tiers` (by default its
 * own). For a parsed .torrent every other top-level key is kept byte for byte; for a metainfo
 * built from a bare info dictionary (a magnet's fetched metadata) the file holds the info bytes,
 * the trackers and the web seeds (BEP 19 `url-list`). Keys are written in canonical order.
 *
 * `announce` keeps the torrent's own URL while it is still among the tiers (clients without BEP 12
 * use it), else the first URL; `announce-list` is written when there is more than one URL, as
 * libtorrent's create_torrent does. Empty tiers are dropped; no tiers removes both keys.
 */
export function toTorrentFile(m: Metainfo, tiers: AnnounceTiers = m.announceTiers): Buffer {
  const kept = tiers.filter((t) => t.length > 0).map((t) => [...t]);
  const urls = kept.flat();
  const top = new Map<Uint8Array, BEncodable>();
  if (m.torrentBytes !== undefined) {
    for (const [k, e] of m.raw.entries) {
      if (k === 'announce' || k === 'announce-list') continue;
      // Keys as raw bytes (latin1 round-trips every byte), values as the exact input bytes.
      top.set(key(k), new BRaw(m.torrentBytes.subarray(e.start, e.end)));
    }
  } else {
    top.set(key('info'), new BRaw(m.infoBytes));
    if (m.webSeeds.length > 0) top.set(key('url-list'), [...m.webSeeds]);
  }
  const announce = m.announce !== undefined && urls.includes(m.announce) ? m.announce : urls[0];
  if (announce !== undefined) top.set(key('announce'), announce);
  if (urls.length > 1) top.set(key('announce-list'), kept);
  return encode(top);
}
