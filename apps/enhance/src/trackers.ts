import { UsageError } from '@tc/cli';
import { checkUrl, TRACKER_PROTOCOLS } from '@tc/codec';

/** Trackers read from one `--list` file: far more than any real list, and a bound on work. */
export const MAX_LIST_TRACKERS = 1000;
/** Longest tracker URL accepted: announce URLs are short; a megabyte-long one is a mistake. */
export const MAX_TRACKER_URL_CHARS = 2048;

/**
 * Checks one tracker URL given by the user by the same rule the torrent parser applies to
 * `announce-list` (codec's checkUrl), so tc-enhance never adds a tracker that tc itself would drop.
 * A bad one is a usage error (exit 2) naming where it came from.
 */
export function checkTrackerUrl(url: string, where: string): string {
  const u = url.trim();
  if (u.length > MAX_TRACKER_URL_CHARS) throw new UsageError(`${where}: tracker URL longer than ${MAX_TRACKER_URL_CHARS} characters`);
  // The URL parser silently drops tabs and newlines; the torrent would keep them as written.

  if (/[\x00-\x20\x7f]/.test(u)) throw new UsageError(`${where}: ${JSON.stringify(u)} contains spaces or control characters`);
  const checked = checkUrl(u, TRACKER_PROTOCOLS);
  if ('why' in checked) {
    throw new UsageError(`${where}: ${JSON.stringify(u)} ${checked.why}`, 'a tracker URL looks like udp://tracker.example.org:1337/announce');
  }
  if (new URL(u).hostname === '') throw new UsageError(`${where}: ${JSON.stringify(u)} has no host`);
  return u;
}

/**
 * Reads a tracker list file: one URL a line, a blank line starts a new tier (the layout of
 * `announce-list` files that transmission-edit and the public lists use), `#` starts a comment.
 */
export function parseTrackerList(text: string, file: string): string[][] {
  const tiers: string[][] = [];
  let tier: string[] = [];
  let count = 0;
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.replace(/#.*$/, '').trim();
    if (t === '') {
      if (tier.length > 0) tiers.push(tier);
      tier = [];
      return;
    }
    if (++count > MAX_LIST_TRACKERS) throw new UsageError(`${file}: more than ${MAX_LIST_TRACKERS} trackers`);
    tier.push(checkTrackerUrl(t, `${file}:${i + 1}`));
  });
  if (tier.length > 0) tiers.push(tier);
  return tiers;
}

/** Two spellings of one tracker compare equal: WHATWG URL lower-cases scheme and host and drops default ports. */
function trackerKey(url: string): string {
  try {
    return new URL(url).href;
  } catch {
    return url;
  }
}

export interface MergeResult {
  /** The original tiers first (unchanged), then each added tier with the duplicates removed. */
  readonly tiers: string[][];
  readonly added: string[];
  /** Added URLs that were already present (in the torrent or earlier in the added ones). */
  readonly duplicates: string[];
}

/** BEP 12 tiers: the torrent's own come first, so clients keep preferring them; new ones after, deduplicated. */
export function mergeTiers(original: readonly (readonly string[])[], extra: readonly (readonly string[])[]): MergeResult {
  const seen = new Set<string>();
  const tiers: string[][] = [];
  for (const tier of original) {
    const kept = tier.filter((u) => {
      const k = trackerKey(u);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    if (kept.length > 0) tiers.push(kept);
  }
  const added: string[] = [];
  const duplicates: string[] = [];
  for (const tier of extra) {
    const kept: string[] = [];
    for (const u of tier) {
      const k = trackerKey(u);
      if (seen.has(k)) {
        duplicates.push(u);
        continue;
      }
      seen.add(k);
      kept.push(u);
      added.push(u);
    }
    if (kept.length > 0) tiers.push(kept);
  }
  return { tiers, added, duplicates };
}
