/** The URL lists outside `info`: BEP 12 tracker tiers and BEP 19 web seeds. */
import { typeName } from '../bencode/access.js';
import type { BDict, BValue } from '../bencode/types.js';
import { checkUrl, TRACKER_PROTOCOLS, WEB_SEED_PROTOCOLS } from '../urls.js';
import type { Problems } from './problems.js';

/** Announce URLs kept from one torrent: far more than any real one, and a bound on work. */
export const MAX_TRACKER_URLS = 1000;
/** Web seeds kept from one torrent. */
export const MAX_WEB_SEEDS = 1000;

export function parseTrackers(root: BDict, problems: Problems): { announce: string | undefined; tiers: string[][] } {
  const seen = new Set<string>();
  const take = (raw: BValue | undefined, field: string): string | undefined => {
    if (!Buffer.isBuffer(raw)) {
      problems.warn('WARN_BAD_TRACKER_URL', `${field} should be a byte string but is ${typeName(raw)}; ignored`, field);
      return undefined;
    }
    const checked = checkUrl(raw.toString('utf8').trim(), TRACKER_PROTOCOLS);
    if ('why' in checked) {
      problems.warn('WARN_BAD_TRACKER_URL', `${field} ${checked.why}; ignored`, field);
      return undefined;
    }
    return checked.url;
  };
  const announce = root.has('announce') ? take(root.get('announce'), 'announce') : undefined;
  const tiers: string[][] = [];
  const list = root.get('announce-list');
  if (list !== undefined) {
    if (!Array.isArray(list)) {
      problems.warn('WARN_BAD_OPTIONAL_FIELD', `announce-list should be a list but is ${typeName(list)}; ignored`, 'announce-list');
    } else {
      list.forEach((tier, i) => {
        // Some writers put URLs directly in announce-list: treat each as its own tier.
        const urls = Array.isArray(tier) ? tier : [tier];
        const out: string[] = [];
        urls.forEach((u, j) => {
          const url = take(u, Array.isArray(tier) ? `announce-list[${i}][${j}]` : `announce-list[${i}]`);
          if (url === undefined || seen.has(url)) return;
          if (seen.size >= MAX_TRACKER_URLS) return;
          seen.add(url);
          out.push(url);
        });
        if (out.length > 0) tiers.push(out);
      });
      if (seen.size >= MAX_TRACKER_URLS) problems.warn('WARN_BAD_OPTIONAL_FIELD', `more than ${MAX_TRACKER_URLS} trackers; the rest ignored`, 'announce-list');
    }
  }
  // BEP 12: announce-list, when usable, replaces announce.
  if (tiers.length === 0 && announce !== undefined) tiers.push([announce]);
  return { announce, tiers };
}

export function parseWebSeeds(root: BDict, problems: Problems): string[] {
  const v = root.get('url-list');
  if (v === undefined) return [];
  const items = Buffer.isBuffer(v) ? [v] : Array.isArray(v) ? v : undefined;
  if (items === undefined) {
    problems.warn('WARN_BAD_OPTIONAL_FIELD', `url-list should be a string or a list but is ${typeName(v)}; ignored`, 'url-list');
    return [];
  }
  const out: string[] = [];
  items.forEach((item, i) => {
    const field = Array.isArray(v) ? `url-list[${i}]` : 'url-list';
    if (!Buffer.isBuffer(item)) {
      problems.warn('WARN_BAD_OPTIONAL_FIELD', `${field} should be a byte string; ignored`, field);
      return;
    }
    if (item.length === 0) return; // many writers leave an empty url-list
    const checked = checkUrl(item.toString('utf8'), WEB_SEED_PROTOCOLS);
    if ('why' in checked) {
      problems.warn('WARN_BAD_OPTIONAL_FIELD', `${field} ${checked.why}; ignored`, field);
      return;
    }
    const url = checked.url;
    if (out.length < MAX_WEB_SEEDS && !out.includes(url)) out.push(url);
  });
  return out;
}
