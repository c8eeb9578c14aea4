import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { CodecError } from '@tc/codec';

const run = promisify(execFile);
/** External tools get this long before the test gives up on them. */
const TOOL_TIMEOUT_MS = 60_000;

export const REAL_DIR = join(import.meta.dirname, '../../../test-fixtures/torrents/real');
export const WT_FIXTURES = join(import.meta.dirname, '../node_modules/webtorrent-fixtures/fixtures');

/** A fresh temporary folder and its cleanup . */
export async function tempDir(prefix = 'tc-codec-'): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** Deterministic pseudo-random bytes (xorshift), so failures reproduce. */
export function pseudoRandom(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Writes files given as relative path → size; returns the folder. */
export async function makeTree(root: string, files: Record<string, number>): Promise<void> {
  let seed = 1;
  for (const [rel, size] of Object.entries(files)) {
    const abs = join(root, rel);
    await mkdir(dirname(abs), { recursive: true });
    await writeFile(abs, pseudoRandom(size, seed++));
  }
}

export async function tool(cmd: string, args: readonly string[], cwd?: string): Promise<string> {
  const { stdout } = await run(cmd, args, { timeout: TOOL_TIMEOUT_MS, ...(cwd ? { cwd } : {}), env: { ...process.env, TZ: 'UTC', LC_ALL: 'C.UTF-8' } });
  return stdout;
}

/** What transmission-show says about a .torrent: info-hash and the file list (paths with the name first). */
export async function transmissionShow(file: string): Promise<{ hash: string; files: string[]; private: boolean }> {
  const out = await tool('transmission-show', [file]);
  const hash = /^\s*Hash:\s*([0-9a-f]{40})\s*$/m.exec(out)?.[1];
  if (!hash) throw new Error(`no hash in transmission-show output:\n${out}`);
  const filesSection = out.split(/^FILES\s*$/m)[1] ?? '';
  const files = filesSection
    .split('\n')
    .map((l) => /^\s{2}(.*) \([^()]*\)$/.exec(l)?.[1])
    .filter((l): l is string => l !== undefined);
  return { hash, files, private: /Privacy: Private torrent/.test(out) };
}

/** The CodecError code `fn` throws, or undefined if it returns; any other throw fails the test. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof CodecError) return e.code;
    throw e;
  }
  return undefined;
}

/** codeOf for a promise. */
export async function codeOfAsync(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CodecError) return e.code;
    throw e;
  }
  return undefined;
}
