import { CommandError, ExitCode } from '@tc/cli';
import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** Largest feed read: real ones are well under a megabyte; a feed is refused beyond this. */
export const MAX_FEED_BYTES = 5 * 1024 * 1024;
/** Most items looked at in one feed. */
export const MAX_FEED_ITEMS = 1000;
/** Deepest nesting of elements accepted (RSS and Atom need fewer than ten). */
const MAX_FEED_DEPTH = 40;
const MAX_TITLE_CHARS = 500;
const MAX_LINK_CHARS = 8192;

/** One item of a feed that links to a torrent. */
export interface FeedItem {
  /** What identifies it across polls: guid or id, else its link. */
  readonly id: string;
  readonly title: string;
  /** The .torrent URL or magnet link (an enclosure first). */
  readonly link: string;
}

export interface ParsedFeed {
  readonly title: string;
  /** Items with a torrent link, in feed order. */
  readonly items: readonly FeedItem[];
  /** Items without one (a feed of web pages), counted for the summary. */
  readonly skipped: number;
}

const ARRAYS = new Set(['item', 'entry', 'link', 'enclosure']);

function malformed(why: string): CommandError {
  return new CommandError(`not a readable RSS or Atom feed: ${why}`, ExitCode.BAD_INPUT, { hint: 'open the feed URL in a browser to see what it serves' });
}

/**
 * Parses an RSS 2.0 or Atom feed with fast-xml-parser (validated first; DOCTYPE entities off, so
 * no entity expansion; depth bounded) and returns its items that link to a torrent: an enclosure
 * or link that is a magnet, ends in `.torrent`, or is typed application/x-bittorrent, or RSS's
 * torrent:magnetURI. Relative links are resolved against `base` (the URL the feed came from), as
 * feed readers do. A malformed document is a CommandError (exit 3) naming the line.
 */
export function parseFeed(xml: string, base?: string): ParsedFeed {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw malformed(`line ${valid.err.line}: ${valid.err.msg}`);
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    processEntities: false,
    maxNestedTags: MAX_FEED_DEPTH,
    parseTagValue: false,
    isArray: (name) => ARRAYS.has(name),
  });
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(xml) as Record<string, unknown>;
  } catch (e) {
    throw malformed((e as Error).message);
  }
  const rss = obj(doc.rss);
  const atom = obj(doc.feed);
  let raw: unknown[];
  let title: string;
  let toItem: (x: Record<string, unknown>, base: string | undefined) => FeedItem | undefined;
  if (rss) {
    const channel = obj(rss.channel);
    if (!channel) throw malformed('an <rss> without a <channel>');
    title = text(channel.title);
    raw = arr(channel.item);
    toItem = rssItem;
  } else if (atom) {
    title = text(atom.title);
    raw = arr(atom.entry);
    toItem = atomEntry;
  } else {
    throw malformed(`the document is <${Object.keys(doc).find((k) => !k.startsWith('?')) ?? 'nothing'}>, not <rss> or <feed>`);
  }
  const items: FeedItem[] = [];
  let skipped = 0;
  for (const x of raw.slice(0, MAX_FEED_ITEMS)) {
    const o = obj(x);
    const item = o ? toItem(o, base) : undefined;
    if (item) items.push(item);
    else skipped++;
  }
  return { title: title.slice(0, MAX_TITLE_CHARS), items, skipped };
}

function rssItem(x: Record<string, unknown>, base: string | undefined): FeedItem | undefined {
  const candidates: string[] = [];
  for (const e of arr(x.enclosure)) {
    const o = obj(e);
    const url = o ? absolute(str(o['@_url']), base) : undefined;
    if (url && (isTorrentLink(url) || str(o?.['@_type']) === 'application/x-bittorrent')) candidates.push(url);
  }
  const magnet = text(x['torrent:magnetURI']);
  if (magnet) candidates.push(magnet);
  for (const l of arr(x.link)) {
    const url = absolute(text(l), base);
    if (url && isTorrentLink(url)) candidates.push(url);
  }
  const link = pick(candidates);
  if (!link) return undefined;
  const guid = text(x.guid);
  return { id: (guid || link).slice(0, MAX_LINK_CHARS), title: text(x.title).slice(0, MAX_TITLE_CHARS), link };
}

function atomEntry(x: Record<string, unknown>, base: string | undefined): FeedItem | undefined {
  const candidates: string[] = [];
  for (const l of arr(x.link)) {
    const o = obj(l);
    const href = absolute(o ? str(o['@_href']) : text(l), base);
    if (!href) continue;
    if (isTorrentLink(href) || str(o?.['@_type']) === 'application/x-bittorrent' || (str(o?.['@_rel']) === 'enclosure' && isTorrentLink(href)))
      candidates.push(href);
  }
  const link = pick(candidates);
  if (!link) return undefined;
  const id = text(x.id);
  return { id: (id || link).slice(0, MAX_LINK_CHARS), title: text(x.title).slice(0, MAX_TITLE_CHARS), link };
}

/** `url` made absolute against `base` (a magnet, an absolute URL or no base: unchanged). */
function absolute(url: string | undefined, base: string | undefined): string | undefined {
  if (url === undefined || base === undefined || /^[a-z][a-z0-9+.-]*:/i.test(url.trim())) return url;
  try {
    return new URL(url.trim(), base).href;
  } catch {
    return url;
  }
}

/** A magnet link, or an http(s) URL whose path ends in .torrent. */
export function isTorrentLink(url: string): boolean {
  if (/^magnet:\?/i.test(url)) return true;
  try {
    const u = new URL(url);
    return (u.protocol === 'http:' || u.protocol === 'https:') && /\.torrent$/i.test(u.pathname);
  } catch {
    return false;
  }
}

function pick(candidates: readonly string[]): string | undefined {
  return candidates.map((c) => c.trim()).find((c) => c.length > 0 && c.length <= MAX_LINK_CHARS && (/^magnet:/i.test(c) || /^https?:\/\//i.test(c)));
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : v === undefined ? [] : [v];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** An element's text, whether parsed as a string or as `{ '#text': … }` (it had attributes). */
function text(v: unknown): string {
  if (typeof v === 'string') return v.trim();
  const o = obj(v);
  return o && typeof o['#text'] === 'string' ? o['#text'].trim() : '';
}
