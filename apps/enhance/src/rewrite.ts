import { BRaw, encode, type BEncodable, type Metainfo } from '@tc/codec';

/**
 * The .torrent with new trackers: every top-level value other than `announce` and `announce-list`
 * is copied byte for byte from the input (the `info` dictionary above all, so the info-hash cannot
 * change, RELIABILITY #12), then the dictionary is written in canonical key order.
 */
export function rewriteTrackers(input: Buffer, metainfo: Metainfo, tiers: readonly (readonly string[])[]): Buffer {
  const top = new Map<Uint8Array, BEncodable>();
  for (const [key, e] of metainfo.raw.entries) {
    if (key === 'announce' || key === 'announce-list') continue;
    // Keys are kept as raw bytes (latin1 round-trips every byte), values as the exact input bytes.
    top.set(Buffer.from(key, 'latin1'), new BRaw(input.subarray(e.start, e.end)));
  }
  // BEP 12: clients that know announce-list ignore announce; the rest use it, so keep the original
  // when it was a usable URL, else point it at the first tier.
  const announce = metainfo.announce ?? tiers[0]?.[0];
  if (announce !== undefined) top.set(Buffer.from('announce'), announce);
  if (tiers.length > 0) top.set(Buffer.from('announce-list'), tiers.map((t) => [...t]));
  return encode(top);
}
