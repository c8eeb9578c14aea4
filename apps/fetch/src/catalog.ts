import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CommandError, ExitCode, isMagnet, isWebUrl, readInputFile, sanitize, toJsonLine, UsageError, type Io } from '@tc/cli';

/** The built-in catalogue: a data file beside the package, easy to update without touching code. */
export const BUILTIN_CATALOG = resolve(import.meta.dirname, '../catalog.json');
/** Bounds on a catalogue file: it is a short hand-kept list. */
const MAX_CATALOG_BYTES = 1024 * 1024;
const MAX_CATALOG_ENTRIES = 1000;
const MAX_FIELD_CHARS = 2000;

export interface CatalogEntry {
  /** What the user types after --catalog: lower case, digits, dots and dashes. */
  readonly name: string;
  readonly title: string;
  /** An http(s) URL of a .torrent, or a magnet link. */
  readonly url: string;
  /** Where the entry comes from (the project's page). */
  readonly source: string;
  /** Pinned info-hash (40 hex digits, lower case) where the project publishes one. */
  readonly infoHash: string | undefined;
}

/**
 * Checks a catalogue document: `{ schema: 1, torrents: [{ name, title, url, source, infoHash? }] }`,
 * names unique, URLs http(s) or magnet. A bad file is a CommandError naming the entry (exit 3).
 */
export function parseCatalog(text: string, where: string): CatalogEntry[] {
  const bad = (why: string): CommandError => new CommandError(`${where}: ${why}`, ExitCode.BAD_INPUT);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw bad(`not JSON (${(e as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null || (doc as { schema?: unknown }).schema !== 1) throw bad('not a catalogue (no "schema": 1)');
  const list = (doc as { torrents?: unknown }).torrents;
  if (!Array.isArray(list)) throw bad('"torrents" is not a list');
  if (list.length > MAX_CATALOG_ENTRIES) throw bad(`more than ${MAX_CATALOG_ENTRIES} entries`);
  const seen = new Set<string>();
  return list.map((raw: unknown, i) => {
    const at = `torrents[${i}]`;
    if (typeof raw !== 'object' || raw === null) throw bad(`${at} is not an object`);
    const field = (key: string, required: boolean): string | undefined => {
      const v = (raw as Record<string, unknown>)[key];
      if (v === undefined && !required) return undefined;
      if (typeof v !== 'string' || v === '' || v.length > MAX_FIELD_CHARS)
        throw bad(`${at}.${key} must be a non-empty string of at most ${MAX_FIELD_CHARS} characters`);
      return v;
    };
    const name = field('name', true)!;
    if (!/^[a-z0-9][a-z0-9.-]{0,63}$/.test(name)) throw bad(`${at}.name ${JSON.stringify(name)}: use lower-case letters, digits, dots and dashes`);
    if (seen.has(name)) throw bad(`${at}.name ${JSON.stringify(name)} appears twice`);
    seen.add(name);
    const url = field('url', true)!;
    if (!isWebUrl(url) && !isMagnet(url)) throw bad(`${at}.url is neither an http(s) URL nor a magnet link`);
    const infoHash = field('infoHash', false)?.toLowerCase();
    if (infoHash !== undefined && !/^[0-9a-f]{40}$/.test(infoHash)) throw bad(`${at}.infoHash is not 40 hex digits`);
    return { name, title: field('title', true)!, url, source: field('source', true)!, infoHash };
  });
}

/** Reads the built-in catalogue, or `file`. */
export async function loadCatalog(file: string | undefined): Promise<CatalogEntry[]> {
  const path = file ?? BUILTIN_CATALOG;
  const bytes = file !== undefined ? await readInputFile(path, { maxBytes: MAX_CATALOG_BYTES }) : await readFile(path);
  return parseCatalog(bytes.toString('utf8'), path);
}

/** The entries named, in the order given; an unknown name is a usage error listing what there is. */
export function pickEntries(catalog: readonly CatalogEntry[], names: readonly string[]): CatalogEntry[] {
  return names.map((n) => {
    const e = catalog.find((c) => c.name === n.toLowerCase());
    if (!e) throw new UsageError(`--catalog: no entry named ${JSON.stringify(n)}`, `the entries are: ${catalog.map((c) => c.name).join(', ')}`);
    return e;
  });
}

/** `--catalog` alone: the list, as text (name, title, source) or one JSON document. */
export function printCatalog(io: Io, catalog: readonly CatalogEntry[], json: boolean): void {
  if (json) {
    io.stdout.write(`${toJsonLine({ schema: 1, catalog })}\n`);
    return;
  }
  const width = Math.max(...catalog.map((c) => c.name.length), 4);
  for (const c of catalog) {
    io.stdout.write(
      `${c.name.padEnd(width)}  ${sanitize(c.title)}\n${' '.repeat(width + 2)}from ${sanitize(c.source)}${c.infoHash ? `, info-hash ${c.infoHash}` : ''}\n`,
    );
  }
}
