import { EngineError } from '../errors.js';

/** Longest web seed URL accepted (a `url-list` entry, a magnet `ws=`, `--web-seed`). */
export const MAX_WEB_SEED_URL_CHARS = 2_048;
/** Most web seeds used per torrent: the rest of a long `url-list` is ignored. */
export const MAX_WEB_SEEDS = 16;

/**
 * Checks a web seed URL (BEP 19): http or https, no credentials, bounded. Returns the parsed URL;
 * throws ENGINE_BAD_OPTION naming what is wrong.
 */
export function checkWebSeedUrl(text: string): URL {
  if (text.length > MAX_WEB_SEED_URL_CHARS) throw new EngineError('ENGINE_BAD_OPTION', `web seed URL longer than ${MAX_WEB_SEED_URL_CHARS} characters`);
  let u: URL;
  try {
    u = new URL(text);
  } catch (e) {
    throw new EngineError('ENGINE_BAD_OPTION', `web seed ${JSON.stringify(text.slice(0, 200))} is not a URL`, { cause: e });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new EngineError('ENGINE_BAD_OPTION', `web seed ${JSON.stringify(u.href.slice(0, 200))}: only http and https are supported, not ${u.protocol}`);
  }
  if (u.username !== '' || u.password !== '') throw new EngineError('ENGINE_BAD_OPTION', 'web seed URL with credentials refused');
  u.hash = '';
  return u;
}

/** One path segment, percent-encoded (RFC 3986 unreserved characters kept, as libtorrent's escape_path does). */
export function encodeSegment(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The URL of one file of a torrent on a web seed (BEP 19). `path` is the file's path as the layout
 * has it: `[name]` for a single-file torrent, `[name, ...dirs, file]` for a multi-file one. For a
 * multi-file torrent the base names a folder (a `/` is added when missing, as libtorrent does) and
 * gets the whole path appended; for a single-file torrent a base ending in `/` gets the name,
 * otherwise it names the file itself. Each appended segment is percent-encoded on its own.
 */
export function webSeedFileUrl(base: URL, path: readonly string[], multiFile: boolean): string {
  const href = base.href;
  if (!multiFile) return href.endsWith('/') ? href + encodeSegment(path[path.length - 1] ?? '') : href;
  const folder = href.endsWith('/') ? href : `${href}/`;
  return folder + path.map(encodeSegment).join('/');
}
