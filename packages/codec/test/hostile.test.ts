import { readFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bigCases, magnetCases, smallCases, type HostileCase } from '../../../test-fixtures/make-hostile.mjs';
import { CodecError, inspectMetainfo, parseMagnet, parseMetainfo, type ParseMetainfoOptions } from '../src/index.js';

const HOSTILE_DIR = join(import.meta.dirname, '../../../test-fixtures/torrents/hostile');
const manifest = JSON.parse(readFileSync(join(HOSTILE_DIR, 'manifest.json'), 'utf8')) as Record<string, Omit<HostileCase, 'file' | 'bytes'>>;

function outcome(bytes: Buffer, options: ParseMetainfoOptions) {
  try {
    return { code: null, result: parseMetainfo(bytes, options) };
  } catch (e) {
    if (e instanceof CodecError) return { code: e.code, error: e };
    throw e; // anything but a CodecError is a bug
  }
}

function check(c: HostileCase): void {
  const options = (c.options ?? {}) as ParseMetainfoOptions;
  const got = outcome(c.bytes, options);
  expect(got.code, c.file).toBe(c.code);
  const report = inspectMetainfo(c.bytes, options);
  if (c.code !== null) {
    expect(report.metainfo).toBeUndefined();
    expect(report.errors.map((e) => e.code)).toContain(c.code);
    return;
  }
  const { metainfo, warnings } = got.result!;
  expect(report.errors).toEqual([]);
  for (const w of c.warnings ?? [])
    expect(
      warnings.map((x) => x.code),
      c.file,
    ).toContain(w);
  if (c.safePaths) expect(metainfo.files.map((f) => f.safePath)).toEqual(c.safePaths);
  if (c.infoHash) expect(metainfo.infoHashHex).toBe(c.infoHash);
  if (c.reencodedInfoHash) expect(metainfo.infoHashHex).not.toBe(c.reencodedInfoHash);
  if (c.private !== undefined) expect(metainfo.private).toBe(c.private);
  if (c.paddingFiles !== undefined) expect(metainfo.files.filter((f) => f.padding)).toHaveLength(c.paddingFiles);
  for (const f of metainfo.files) {
    // Whatever the torrent says, its files land inside the target folder.
    const root = resolve('/downloads/target');
    expect(resolve(root, ...f.safePath).startsWith(root + sep)).toBe(true);
    for (const part of f.safePath) expect(Buffer.byteLength(part, 'utf8')).toBeLessThanOrEqual(c.maxNameBytes ?? 255);
  }
}

describe('hostile .torrent corpus (RELIABILITY #1–#16)', () => {
  const cases = smallCases();

  it('the committed corpus is exactly what make-hostile.mjs generates', () => {
    expect(Object.keys(manifest).sort()).toEqual(cases.map((c) => c.file).sort());
    for (const c of cases) expect(readFileSync(join(HOSTILE_DIR, c.file)).equals(c.bytes), c.file).toBe(true);
  });

  it.each(Object.entries(manifest))('%s gives the code in the manifest', (file, expected) => {
    check({ file, bytes: readFileSync(join(HOSTILE_DIR, file)), ...expected });
  });

  it.each(bigCases().map((c) => [c.file, c] as const))('%s (built in memory) gives its code', (_file, c) => {
    check(c);
  });

  it('dictionary keys like __proto__ pollute nothing', () => {
    const { metainfo } = parseMetainfo(readFileSync(join(HOSTILE_DIR, 'proto-keys.torrent')));
    expect(metainfo.raw.has('__proto__')).toBe(true);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getPrototypeOf(metainfo)).toBe(Object.prototype);
  });

  it('every prefix of a valid torrent fails with a CodecError, never anything else', () => {
    const bytes = readFileSync(join(HOSTILE_DIR, 'windows-names.torrent'));
    for (let n = 0; n < bytes.length; n++) {
      const got = outcome(bytes.subarray(0, n), {});
      expect(got.code).not.toBeNull();
    }
  });
});

describe('hostile magnet links (RELIABILITY #17)', () => {
  const committed = JSON.parse(readFileSync(join(HOSTILE_DIR, 'magnets.json'), 'utf8')) as unknown;
  it('the committed list is what make-hostile.mjs generates', () => {
    expect(committed).toEqual(magnetCases());
  });

  it.each(magnetCases().map((c) => [c.uri.slice(0, 80), c] as const))('%s', (_label, c) => {
    let code: string | null = null;
    let parsed;
    try {
      parsed = parseMagnet(c.uri);
    } catch (e) {
      if (!(e instanceof CodecError)) throw e;
      code = e.code;
    }
    expect(code).toBe(c.code);
    if (!parsed) return;
    for (const w of c.warnings ?? []) expect(parsed.warnings.map((x) => x.code)).toContain(w);
    if (c.trackers !== undefined) expect(parsed.magnet.trackers).toHaveLength(c.trackers);
    if (c.peers !== undefined) expect(parsed.magnet.peers).toHaveLength(c.peers);
  });
});
