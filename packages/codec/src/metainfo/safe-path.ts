/**
 * Turning torrent-supplied path components into names that are safe to create on any common file
 * system (RELIABILITY #1–#3, #6). Two layers:
 *  - `checkPathComponent` finds what must be REJECTED (traversal, separators, NUL, drive letters):
 *    a torrent like that is hostile, and guessing a name could still write where it should not.
 *  - `safeFileName` / `toSafePath` RENAME what is merely unportable (control characters, `<>:"|?*`,
 *    trailing dots and spaces, Windows device names, over-long names) and say what changed, so the
 *    storage writes the same names on every platform and can report the rename.
 */

/** Most file systems (ext4, NTFS, APFS) cap one name at 255 bytes (RELIABILITY #6, lt `sanitize_path_truncate_utf`). */
export const MAX_NAME_BYTES = 255;
/** Deeper paths are rejected (RELIABILITY #6, lt `max_directory_depth`). */
export const MAX_PATH_DEPTH = 100;
/** An extension longer than this is treated as part of the stem when truncating. */
const MAX_KEPT_EXTENSION_BYTES = 16;

/** Why a component must be rejected, or undefined when it is acceptable (maybe after renaming). */
export type UnsafeComponentReason = 'empty' | 'dot' | 'dot-dot' | 'separator' | 'nul' | 'drive-letter' | 'windows-reserved';

/** Windows device names, reserved with any extension (transmission `torrent-files.cc`, lt `sanitize_path`). */
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?$/i;
/** Characters Windows forbids in names, plus the C0 controls and DEL, which break terminals and tools. */
// Control characters are matched on purpose.
const UNPORTABLE_CHARS = /[\u0000-\u001f\u007f<>:"|?*\\/]/g;
/** Anything safeFileName would change, apart from reserved names and length (checked separately). */
const NEEDS_WORK = /[\u0000-\u001f\u007f<>:"|?*\\/]|[. ]$|^$|^\.\.?$/;

/**
 * Checks one raw path component. `windowsReserved` also rejects CON, NUL, COM1… instead of leaving
 * them to `safeFileName` to rename.
 */
export function checkPathComponent(raw: Uint8Array, opts: { windowsReserved?: boolean } = {}): UnsafeComponentReason | undefined {
  if (raw.length === 0) return 'empty';
  if (raw.length === 1 && raw[0] === 0x2e) return 'dot';
  if (raw.length === 2 && raw[0] === 0x2e && raw[1] === 0x2e) return 'dot-dot';
  for (const c of raw) {
    if (c === 0x2f || c === 0x5c) return 'separator';
    if (c === 0) return 'nul';
  }
  // `C:` or `C:foo` is absolute or drive-relative on Windows: the root would change (RELIABILITY #2).
  // Rejected at any depth, as libtorrent does, since a name is sometimes used on its own.
  if (raw.length >= 2 && raw[1] === 0x3a && isAsciiLetter(raw[0]!)) return 'drive-letter';
  if (
    opts.windowsReserved &&
    WINDOWS_RESERVED.test(
      Buffer.from(raw)
        .toString('latin1')
        .replace(/[ .]+$/, ''),
    )
  ) {
    return 'windows-reserved';
  }
  return undefined;
}

function isAsciiLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** Cuts a UTF-8 string to at most `maxBytes` bytes without splitting a character (or a surrogate pair). */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  let bytes = 0;
  let out = '';
  for (const ch of text) {
    // for…of walks code points, so a surrogate pair is never split
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > maxBytes) break;
    bytes += n;
    out += ch;
  }
  return out;
}

/**
 * A portable version of one file or folder name: never empty, `.` or `..`; no separators, control
 * characters or `<>:"|?*`; no trailing dot or space; not a Windows device name; at most 255 UTF-8
 * bytes, cut on a character boundary and keeping a short extension. The same on every platform.
 */
export function safeFileName(name: string): string {
  // Fast path: almost every real name is already portable.
  if (!NEEDS_WORK.test(name) && !WINDOWS_RESERVED.test(name) && name.length <= MAX_NAME_BYTES / 4) return name;
  let s = name.replace(UNPORTABLE_CHARS, '_');
  // Windows silently drops trailing dots and spaces, so `a.` and `a` would collide there.
  s = s.replace(/[. ]+$/, (m) => '_'.repeat(m.length));
  if (s === '' || s === '.' || s === '..') s = '_';
  if (WINDOWS_RESERVED.test(s)) s = `_${s}`;
  if (Buffer.byteLength(s, 'utf8') > MAX_NAME_BYTES) {
    const dot = s.lastIndexOf('.');
    const ext = dot > 0 ? s.slice(dot) : '';
    const keepExt = ext !== '' && Buffer.byteLength(ext, 'utf8') <= MAX_KEPT_EXTENSION_BYTES;
    const stem = keepExt ? s.slice(0, dot) : s;
    const tail = keepExt ? ext : '';
    s = truncateUtf8(stem, MAX_NAME_BYTES - Buffer.byteLength(tail, 'utf8')) + tail;
    // The cut may land just after a dot or space; same byte count, so the length still holds.
    s = s.replace(/[. ]+$/, (m) => '_'.repeat(m.length));
  }
  return s;
}

/** One rename done by `toSafePath`, for the storage to report. */
export interface PathRename {
  readonly index: number;
  readonly from: string;
  readonly to: string;
}

/**
 * Maps every component with `safeFileName`. Throws nothing: components that must be rejected
 * (`..`, separators) are made harmless too, but parsers reject those torrents before this point.
 */
export function toSafePath(components: readonly string[]): { path: string[]; renames: PathRename[] } {
  const path: string[] = [];
  const renames: PathRename[] = [];
  components.forEach((from, index) => {
    const to = safeFileName(from);
    path.push(to);
    if (to !== from) renames.push({ index, from, to });
  });
  return { path, renames };
}
