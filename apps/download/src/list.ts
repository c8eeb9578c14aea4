import { formatBytes, sanitize, writeJson, type Io } from '@tc/cli';
import type { Metainfo } from '@tc/codec';

/** `--list`: the torrent's files with the indices `--select` takes (padding files left out of the text). */
export function printFiles(io: Io, metainfo: Metainfo, json: boolean): void {
  if (json) {
    writeJson(io, {
      type: 'files',
      name: metainfo.name,
      files: metainfo.files.map((f, i) => ({ index: i, path: f.safePath.join('/'), length: f.length, padding: f.padding })),
    });
    return;
  }
  const width = String(metainfo.files.length - 1).length;
  metainfo.files.forEach((f, i) => {
    if (!f.padding) io.stdout.write(`${String(i).padStart(width)}  ${formatBytes(f.length).padStart(10)}  ${sanitize(f.safePath.join('/'))}\n`);
  });
}
