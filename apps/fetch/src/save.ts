import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CommandError, ExitCode, writeFileAtomic } from '@tc/cli';
import type { Metainfo } from '@tc/codec';

/** Longest file name written, in UTF-8 bytes, `.torrent` included (most file systems allow 255). */
const MAX_NAME_BYTES = 200;

/**
 * The file name a torrent is saved under: its own name (never a path or name from the server),
 * made safe: no separators, control or reserved characters, no leading dot, not a Windows device
 * name, at most MAX_NAME_BYTES bytes (cut on a character boundary). A name with nothing left is
 * replaced by the info-hash.
 */
export function torrentFileName(name: string, infoHashHex: string): string {
  let base = name
    .normalize('NFC')
    .replace(/[\u0000-\u001f\u007f-\u009f/\\:*?"<>|\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g, '_')
    .replace(/^[.\s]+/, '')
    .replace(/[.\s]+$/, '')
    .replace(/\.torrent$/i, '');
  if (/^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i.test(base)) base = `_${base}`;
  const limit = MAX_NAME_BYTES - '.torrent'.length;
  while (Buffer.byteLength(base) > limit) base = Array.from(base).slice(0, -1).join('');
  if (base === '' || /^_+$/.test(base)) base = infoHashHex;
  return `${base}.torrent`;
}

export type SaveStatus = 'saved' | 'unchanged' | 'replaced';

/**
 * Saves a validated torrent as `DIR/NAME.torrent`, atomically (temp file, fsync, rename). The same
 * bytes already there is `unchanged`; other bytes are kept unless `force` (a usage-level refusal,
 * exit 1 with a hint), then `replaced`.
 */
export async function saveTorrent(dir: string, m: Metainfo, bytes: Uint8Array, force: boolean): Promise<{ path: string; status: SaveStatus }> {
  const path = join(dir, torrentFileName(m.name, m.infoHashHex));
  let existing: Buffer | undefined;
  try {
    existing = await readFile(path);
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'ENOENT') throw e;
  }
  if (existing?.equals(bytes)) return { path, status: 'unchanged' };
  if (existing && !force) {
    throw new CommandError(`${path} already exists with other content`, ExitCode.FAILURE, { hint: 'use --force to replace it' });
  }
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(path, bytes);
  return { path, status: existing ? 'replaced' : 'saved' };
}
